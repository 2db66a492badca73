"""A run's findings: each broken clause a test showed, with the exchanges its verdict rests on
(set-up included), the check that judged and its arguments, and the story that leads there.

Built when a test's failure is reported (``record``), kept in ``config.stash``, written at the
end of the run into ``findings.json`` (``evidence.write_run_files``) for people, other tools
and ``conformance replay``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.clauses import ContractViolation, JudgedBy
from conformance.run.state import run_state, violation_clauses
from conformance.run.story import Step, Story, build_story, template_value
from conformance.wire.transcript import Exchange, Transcript

__all__ = ["FINDINGS_KEY", "Finding", "Findings", "record"]

# schemathesis' own checks, by the contract check that judges the same thing (a replay uses
# it); the others are re-sent but cannot be judged again outside schemathesis.
_SCHEMATHESIS_EQUIVALENT = {
    "not_a_server_error": "conformance.checks.answers:answer_is_not_a_server_error",
    "ignored_auth": "conformance.checks.answers:answer_is_unauthorized",
    "missing_required_header": "conformance.checks.answers:answer_is_unauthorized",
}
_PROBES = 3
"""Requests a schemathesis check may send of its own after a case (ignored_auth sends two)."""


@dataclass
class Finding:
    id: str
    test: str
    clause: str
    message: str
    story: Story
    check: str | None = None
    """``module:function`` of the check that judged (``schemathesis:NAME`` for schemathesis'
    own checks without an equivalent); None when the test judged by itself."""
    check_clause: str | None = None
    """The clause the check raised (a test may report it under another)."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """The check's arguments: {"answer": step}, {"body_of": step}, {"value": v} ..."""
    script: str = ""
    """The reproduction (``reproduce.reproduction_script``), once rendered."""

    @property
    def evidence(self) -> list[Step]:
        return [s for s in self.story.steps if s.role == "evidence"]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "test": self.test, "clause": self.clause,
                "message": self.message,
                "check": {"name": self.check, "clause": self.check_clause,
                          "arguments": self.arguments},
                "base_url": self.story.base_url, "variables": self.story.variables,
                "steps": [s.as_dict() for s in self.story.steps]}


class Findings:
    """Every finding of the run, in the order the tests reported them."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self._bodies: dict[int, Any] = {}

    def body(self, position: int, exchange: Exchange) -> Any:
        """The answer's JSON body (parsed once per run), or None."""
        if position not in self._bodies:
            text = exchange.response_body
            try:
                self._bodies[position] = json.loads(text) if text[:1] in "{[" and text and \
                    not exchange.response_truncated else None
            except ValueError:
                self._bodies[position] = None
        return self._bodies[position]


FINDINGS_KEY = pytest.StashKey[Findings]()


def record(config: pytest.Config, test: str, exc: BaseException) -> list[Finding]:
    """The findings a failed test's exception holds, kept for the end of the run."""
    state = run_state(config)
    found = config.stash.setdefault(FINDINGS_KEY, Findings())
    transcript: Transcript = state.transcript
    items = transcript.since(0)
    base_url = state.settings.base_url or ""
    made = []
    seen: set[tuple[str, tuple[int, ...]]] = set()
    # One finding per clause and answer: a contract check and schemathesis' own often judge
    # the same answer; the contract check's goes first (a replay can judge it again).
    candidates = sorted(_violations(exc), key=lambda v: not _ours(v[2]))
    for clause_id, message, judged, evidence, extra in candidates:
        positions = _positions(transcript, items, evidence, judged, extra, found)
        if not positions or (clause_id, tuple(positions)) in seen:
            continue
        seen.add((clause_id, tuple(positions)))
        encoded = _arguments(judged, transcript, items, positions, found)
        story = build_story(items, positions, base_url, also=_literal_ids(judged))
        finding = Finding(f"F{len(found.items) + 1}", test, clause_id,
                          state.redactor.scrub(message), story)
        if judged is not None:
            finding.check = judged.check
            finding.check_clause = extra.get("check_clause", clause_id)
            steps = {s.position: n for n, s in enumerate(story.steps)
                     if s.position is not None}
            finding.arguments = {name: _to_steps(value, steps, story.variables)
                                 for name, value in encoded.items()}
        found.items.append(finding)
        made.append(finding)
    return made


def _ours(judged: JudgedBy | None) -> bool:
    return judged is not None and judged.check.startswith("conformance.checks.")


def _violations(exc: BaseException) -> Iterator[tuple[str, str, JudgedBy | None,
                                                      tuple[Any, ...], dict[str, Any]]]:
    """(clause, message, check, evidence, extra) per violation a test's exception holds."""
    if isinstance(exc, ContractViolation):
        evidence, judged, inner = exc.evidence, exc.judged_by, exc
        # A test that words a check's violation its own way re-raises "from None": the
        # check's evidence is still its context.
        context = exc.__cause__ or exc.__context__
        if not evidence and isinstance(context, ContractViolation):
            evidence, judged, inner = context.evidence, context.judged_by, context
        yield (exc.clause_id, exc.message, judged, evidence,
               {"reproduce": exc.reproduce, "check_clause": inner.clause_id})
        return
    inner_violation = getattr(exc, "exception", None)
    if isinstance(inner_violation, ContractViolation):  # schemathesis' CustomFailure
        for clause_id, message, judged, evidence, extra in _violations(inner_violation):
            yield (getattr(exc, "conformance_clause", None) or clause_id, message, judged,
                   evidence, extra)
        return
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            yield from _violations(sub)
        return
    clauses = violation_clauses(exc)
    case_id = getattr(exc, "conformance_case_id", None) or getattr(exc, "case_id", None)
    if clauses and case_id is not None:
        names = tuple(getattr(exc, "checks", ()))
        name = names[0] if names else "unknown"
        check = _SCHEMATHESIS_EQUIVALENT.get(name, f"schemathesis:{name}")
        title = getattr(exc, "title", type(exc).__name__)
        yield (clauses[0], f"{title}: {getattr(exc, 'message', '')}".strip(),
               JudgedBy(check, {}), (), {"case_id": case_id, "schemathesis": name})


def _positions(transcript: Transcript, items: Sequence[Exchange], evidence: tuple[Any, ...],
               judged: JudgedBy | None, extra: dict[str, Any], found: Findings) -> list[int]:
    """Transcript positions of the exchanges the verdict rests on."""
    positions = {p for e in evidence if (p := transcript.index_of(e)) is not None}
    if not positions and extra.get("case_id"):
        positions = set(_case_positions(items, str(extra["case_id"])))
    if not positions and extra.get("reproduce"):
        line = extra["reproduce"]
        positions = {p for p in range(len(items) - 1, -1, -1)
                     if items[p].curl() == line}
        positions = {max(positions)} if positions else set()
    if judged is not None:
        # A check given bodies (a task's read before, list pages) rests on their answers.
        end = max(positions) if positions else len(items) - 1
        for value in _mappings(judged.arguments.values()):
            at = _body_position(value, items, end, found)
            if at is not None:
                positions.add(at)
    return sorted(positions)


def _case_positions(items: Sequence[Exchange], case_id: str) -> list[int]:
    """The generated case's exchange and the requests its checks sent of their own."""
    mine = [p for p, e in enumerate(items) if e.case_id == case_id]
    if not mine:
        return []
    first = items[mine[-1]]
    path = first.url.split("?", 1)[0]
    probes = [p for p in range(mine[-1] + 1, min(len(items), mine[-1] + 1 + _PROBES))
              if items[p].case_id is None and items[p].url.split("?", 1)[0] == path
              and items[p].key_label != first.key_label]
    return [mine[-1], *probes]


def _mappings(values: Any) -> Iterator[Mapping[str, Any]]:
    for value in values:
        if isinstance(value, Mapping):
            yield value
        elif isinstance(value, list | tuple):
            yield from _mappings(value)


def _body_position(value: Mapping[str, Any], items: Sequence[Exchange], end: int,
                   found: Findings) -> int | None:
    """The latest answer up to ``end`` whose JSON body is ``value`` (a check's ``before``)."""
    for position in range(end, -1, -1):
        exchange = items[position]
        if exchange.status == 200 and found.body(position, exchange) == value:
            return position
    return None


def _arguments(judged: JudgedBy | None, transcript: Transcript, items: Sequence[Exchange],
               positions: list[int], found: Findings) -> dict[str, Any]:
    """The check's arguments with every answer (and every body read from one) replaced by
    ``{"answer": position}`` (``{"body_of": position}``); for schemathesis' own checks, the
    answer they judged."""
    if judged is None:
        return {}
    if not judged.arguments:
        # The keyless probe's answer for the auth checks, else the case's own answer.
        probes = [p for p in positions if items[p].key_label in ("none", "invalid")]
        chosen = probes[-1] if judged.check.endswith("answer_is_unauthorized") and probes \
            else positions[0]
        return {"response": {"answer": chosen}}
    end = max(positions)

    def encode(value: Any) -> Any:
        if isinstance(value, httpx.Response):
            return {"answer": transcript.index_of(value.extensions.get("conformance.exchange"))}
        if isinstance(value, Mapping):
            at = _body_position(value, items, end, found)
            return {"body_of": at} if at is not None else {"value": dict(value)}
        if isinstance(value, list | tuple) and value and all(
                isinstance(v, httpx.Response | Mapping) for v in value):
            return {"list": [encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            return {"set": sorted(value, key=str)}
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return {"unknown": repr(value)[:200]}
        return {"value": value}

    return {name: encode(value) for name, value in judged.arguments.items()}


def _to_steps(encoded: Any, steps: dict[int, int], variables: dict[str, str]) -> Any:
    """Transcript positions in an encoded argument turned into story step numbers, and the
    IDs in its literals into the story's variables."""
    if isinstance(encoded, dict) and len(encoded) == 1:
        (kind, value), = encoded.items()
        if kind in ("answer", "body_of"):
            return {kind: steps.get(value) if isinstance(value, int) else None}
        if kind == "list":
            return {"list": [_to_steps(v, steps, variables) for v in value]}
        if kind in ("value", "set"):
            return {kind: template_value(value, variables)}
    return encoded


def _literal_ids(judged: JudgedBy | None) -> list[str]:
    """Strings among the check's arguments (a task ID it was told to expect, the IDs a list
    must show): the resources they name belong to the story too."""
    if judged is None:
        return []
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    for value in judged.arguments.values():
        walk(value)
    return found
