"""The clause catalogue: every rule of the contract the suite enforces, by ID.

Tests carry clause IDs (``@pytest.mark.clause(...)``), checks raise
:class:`ContractViolation` with one, and reports are organised by them. The
sentences paraphrase ``contract.md``; the IDs are the contract's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Strictness(StrEnum):
    STRICT = "strict"
    LENIENT = "lenient"
    """The contract allows several answers; every reasonable one is accepted."""
    ADVISORY = "advisory"
    """Never a failure by itself (rate limiting)."""


@dataclass(frozen=True)
class Clause:
    id: str
    sentence: str
    source: str
    strictness: Strictness


def _c(id: str, sentence: str, source: str, strictness: Strictness) -> Clause:
    return Clause(id, sentence, source, strictness)


S, L = Strictness.STRICT, Strictness.LENIENT

CLAUSES: dict[str, Clause] = {
    c.id: c
    for c in (
        _c("DEL-204", "A successful delete answers exactly 204 No Content.", "DELETE-PAGE", S),
        _c("DEL-EMPTY", "A 204 carries no body: no Content-Length or 0, and zero bytes.",
           "DELETE-PAGE, HTTP", S),
        _c("DEL-TERMINAL-ONLY", "A task that is neither ready nor failed cannot be deleted: "
           "400 with an error body, and the task is unchanged.", "DELETE-PAGE", S),
        _c("DEL-VIDEO-FIRST", "A ready task whose video still exists cannot be deleted; once "
           "the video is deleted, the task delete answers 204.", "DELETE-PAGE", S),
        _c("DEL-FAILED", "A failed task can be deleted directly: 204.", "DELETE-PAGE", S),
        _c("DEL-REFUSAL-CODE", "A refused delete carries code task_cannot_be_deleted.",
           "DOCS", S),
        _c("DEL-GONE", "After a 204 the task is gone for good: retrieve answers 404 or 400 "
           "resource_not_exist, no list page shows it, a second delete is never 2xx.",
           "DELETE-PAGE, DOCS", S),
        _c("DEL-UNKNOWN", "Deleting an ID that never existed answers 404 or 400 with an error "
           "body, never 2xx or 5xx.", "DOCS, INFERRED", L),
        _c("DEL-MALFORMED", "A malformed task ID answers a 4xx error body, never 2xx or 5xx.",
           "DOCS, INFERRED", L),
        _c("AUTH-REQUIRED", "Without x-api-key or with an invalid one, every operation "
           "answers 401 with an error body and changes nothing.", "DOCS", S),
        _c("TENANT-ISOLATION", "Another account's key cannot retrieve, list or delete a task "
           "(4xx), and the task stays intact.", "INFERRED", S),
        _c("ERR-ENVELOPE", "Every 4xx (except a bodiless 429) is application/json with string "
           "code and message.", "DOCS", S),
        _c("NO-5XX", "No request the suite sends is answered with a 5xx.", "HTTP", S),
        _c("TASK-SHAPE", "Retrieve answers 200 with a task object whose documented fields "
           "have their documented types and enums; extra fields are tolerated.", "DOCS", S),
        _c("TASK-LIFECYCLE", "Observed statuses only move forward, final states stay final, "
           "updated_at is not before created_at.", "DOCS", S),
        _c("CREATE-OK", "Create with index_id and one video source answers 200 {_id, "
           "video_id}, and the task is then retrievable.", "DOCS", S),
        _c("CREATE-REJECTS", "Create without index_id, without a video source or with an "
           "unknown index answers a 4xx error body and creates nothing.", "DOCS, INFERRED", L),
        _c("LIST-SHAPE", "List answers {data, page_info}; items are task objects without hls; "
           "limit_per_page is at most 50.", "DOCS", S),
        _c("LIST-PAGING", "Pages partition the result set, total_results is consistent, and a "
           "page past the end answers 200 with empty data.", "DOCS, INFERRED", S),
        _c("LIST-FILTER-SORT", "index_id and status filters return only matching tasks, sort "
           "order holds, page_limit above 50 is refused (400) or clamped.", "DOCS", S),
        _c("RATE-LIMIT", "A 429 is never a failure by itself: the suite waits and retries.",
           "DOCS", Strictness.ADVISORY),
        _c("DEL-ONLY-THAT", "A delete of a task or a video changes only what it names: every "
           "other task keeps its presence, status and fields, every other video stays.",
           "HTTP, INFERRED", S),
    )
}


def clause(clause_id: str) -> Clause:
    """The clause with this ID; an unknown ID is a programming error, raised loudly."""
    try:
        return CLAUSES[clause_id]
    except KeyError:
        raise KeyError(f"unknown clause ID {clause_id!r}") from None


@dataclass(frozen=True)
class JudgedBy:
    """The check that found a violation and what it was given, so a replay can judge the
    same answer again: ``check`` is ``module:function`` of ``conformance.checks``; argument
    values are kept as the check received them (answers, bodies, literals)."""

    check: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


class ContractViolation(AssertionError):
    """A target broke a clause. The only exception the suite reports as a failed clause.

    ``reproduce`` is a shell command (a curl line with the key replaced by
    ``$TWELVELABS_API_KEY``) that shows the offending exchange again. ``evidence`` holds the
    recorded exchanges (``wire.transcript.Exchange``, redacted) the verdict rests on, and
    ``judged_by`` the check that reached it; ``checks.answers.fail`` fills both in.
    """

    def __init__(self, clause_id: str, message: str, *, reproduce: str | None = None,
                 evidence: Sequence[Any] = (), judged_by: JudgedBy | None = None) -> None:
        clause(clause_id)
        self.clause_id = clause_id
        self.message = message
        self.reproduce = reproduce
        self.evidence = tuple(evidence)
        self.judged_by = judged_by
        text = f"[{clause_id}] {message}"
        if reproduce:
            text += f"\n  reproduce: {reproduce}"
        super().__init__(text)
