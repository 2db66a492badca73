"""The run's one verdict as a value: what every report renders, and what summary.json holds.

``verdict.summarize`` computes a :class:`Summary` once, when the session ends (or, for a
run that could not start, ``verdict.not_started``); the console lines, summary.json, the
JUnit properties and report.html are renderers of it (``report.py``, ``html.py``) and derive
nothing themselves. ``Summary.from_json`` reads a summary.json back, so ``conformance report``
renders the same page again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["CLAUSE_OUTCOMES", "EXIT_CONFORMANT", "EXIT_COULD_NOT_RUN", "EXIT_ENDPOINTS_GONE",
           "EXIT_INTERRUPTED", "EXIT_NOTHING_JUDGED", "EXIT_USAGE", "EXIT_VIOLATION",
           "JUDGED", "SUMMARY_VERSION", "TEST_OUTCOMES", "VERDICTS", "CaseRecord",
           "ClauseResult", "Leftovers", "Summary", "TestResult"]

SUMMARY_VERSION = 2
EXIT_CONFORMANT, EXIT_VIOLATION, EXIT_USAGE, EXIT_COULD_NOT_RUN = 0, 1, 2, 3
EXIT_ENDPOINTS_GONE = 4
"""The tasks endpoints are gone from the target: nothing to judge (see target.preflight)."""
EXIT_NOTHING_JUDGED = 5
"""No clause was judged (an empty selection, --collect-only, every test disabled): pytest's
own "no tests collected", which it resembles."""
EXIT_INTERRUPTED = 130
VERDICTS = {EXIT_CONFORMANT: "conformant", EXIT_VIOLATION: "not conformant",
            EXIT_USAGE: "usage or configuration error", EXIT_COULD_NOT_RUN: "could not run",
            EXIT_ENDPOINTS_GONE: "endpoints gone", EXIT_NOTHING_JUDGED: "nothing judged",
            EXIT_INTERRUPTED: "interrupted"}
TEST_OUTCOMES = ("passed", "failed", "error", "expected-failure", "disabled", "not-judged",
                 "skipped", "not-run")
CLAUSE_OUTCOMES = ("failed", "error", "expected-failure", "passed", "not-judged", "disabled",
                   "not-run")
"""``not-run``: no test of the clause was selected; ``not-judged``: tests ran, but none could
tell a right answer from a wrong one (the reasons say why)."""
JUDGED = frozenset({"failed", "expected-failure", "passed"})
"""Clause outcomes that are a judgement of the target."""


@dataclass
class CaseRecord:
    """What one test showed while the run goes on (mutable; frozen into a TestResult)."""

    nodeid: str
    clauses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    outcome: str = "not-run"
    violated: list[str] = field(default_factory=list)
    excused: dict[str, str] = field(default_factory=dict)
    """Violated clause -> the deviation reason that turned it into an expected failure."""
    message: str = ""
    """A finding's text, a skip's reason, or a harness error in words."""
    why: str = ""
    """One line: why the test's clauses were not judged by it (its error, its skip)."""
    stopped_by: str | None = None
    """The clause whose failure destroyed this test's subject (SubjectDestroyed)."""
    reproduce: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """The exchanges a finding rests on (``report.exchange_view``), redacted."""
    duration: float = 0.0
    exchanges: tuple[int, int] = (0, 0)
    """The test's slice of the run's transcript (setup and call), for the report."""


@dataclass(frozen=True)
class TestResult:
    nodeid: str
    outcome: str
    clauses: tuple[str, ...]
    categories: tuple[str, ...]
    violated: tuple[str, ...]
    duration_s: float
    message: str = ""
    reproduce: str | None = None
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ClauseResult:
    clause_id: str
    sentence: str
    source: str
    strictness: str
    outcome: str
    tests: tuple[str, ...]
    subjects_judged: tuple[str, ...] = ()
    partially_judged: tuple[str, ...] = ()
    not_judged: tuple[str, ...] = ()
    """Why (in words) the clause, or some of its subjects, were not judged."""


@dataclass(frozen=True)
class Leftovers:
    """What the run created and did not remove, and the one command that removes it."""

    items: tuple[dict[str, Any], ...] = ()
    """Ledger entries still present: ``{"kind", "id", "parents"}``."""
    ledger: str | None = None
    command: str | None = None
    note: str = ""

    def counts(self) -> dict[str, int]:
        """Per kind, what is certainly left; ``unconfirmed``: what went with a deleted index
        without being read back."""
        found: dict[str, int] = {}
        for item in self.items:
            kind = "unconfirmed" if item.get("state") == "unconfirmed" else item["kind"]
            found[kind] = found.get(kind, 0) + 1
        return found

    def line(self) -> str:
        """``1 index, 4 tasks, 4 videos`` (empty when nothing is left); tasks that were not
        final are said so, and their videos counted apart: a video joins its index only once
        its task is ready."""
        sure = [i for i in self.items if i.get("state") != "unconfirmed"]
        unfinished = {i["id"] for i in sure if i["kind"] == "task" and i.get("status")}
        to_come = sum(1 for i in sure if i["kind"] == "video"
                      and i.get("parents", {}).get("task_id") in unfinished)
        counts = {k: sum(1 for i in sure if i["kind"] == k) for k in ("index", "task", "video")}
        counts["video"] -= to_come
        parts = [_count(n, kind) for kind, n in counts.items() if n]
        if unfinished:
            parts[parts.index(_count(counts["task"], "task"))] += f" ({len(unfinished)} not final)"
        if to_come:
            parts.append(f"{_count(to_come, 'video')} to come (of the unfinished tasks, once "
                         "they are ready)")
        unsure = {k: sum(1 for i in self.items if i["kind"] == k and i.get("state") ==
                         "unconfirmed") for k in ("task", "video")}
        if any(unsure.values()):
            parts.append(" and ".join(_count(n, k) for k, n in unsure.items() if n)
                         + " probably gone with their index (not read back)")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """What is left, where it is listed, and the one command that removes it."""
        if not self.items:
            return [self.note] if self.note else []
        lines = [f"left on the target: {self.line()} (listed in {self.ledger})"]
        if self.note:
            lines.append(self.note)
        if self.command:
            lines.append(f"remove them with: {self.command}")
        return lines


@dataclass(frozen=True)
class Summary:
    """See the module docstring. Every field is JSON-ready except the nested results."""

    exit_code: int
    verdict: str
    headline: str
    """The banner: the verdict with what qualifies it (clauses judged, disabled, why not)."""
    target: str
    mode: str = "conformance run"
    """``conformance run`` (the documented exit codes) or ``pytest`` (pytest's own)."""
    suite_version: str = ""
    spec_digest: str = ""
    profile: str = ""
    seed: int | None = None
    run_id: str = ""
    started_at: str = ""
    budget: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    clauses_judged: int = 0
    clauses_total: int = 0
    clauses: tuple[ClauseResult, ...] = ()
    tests: tuple[TestResult, ...] = ()
    unjudged: tuple[dict[str, str], ...] = ()
    """``{"clause", "outcome", "why"}`` for every selected clause that was not judged."""
    failed_clauses: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """What stopped the run or its tests (a start-up error, harness errors), in words."""
    leftovers: Leftovers = field(default_factory=Leftovers)
    interrupted: dict[str, Any] | None = None
    """``{"signal", "phase", "cleanup"}`` when a signal ended the run."""
    duration_s: float = 0.0
    spend: dict[str, Any] = field(default_factory=dict)
    tasks_created: int | None = None
    rate_limited: int = 0
    requests: int = 0
    advisories: dict[str, Any] = field(default_factory=dict)
    deviations: dict[str, Any] = field(default_factory=dict)
    cleanup_problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    """Python, platform and the versions of the libraries the run used."""

    def clause(self, clause_id: str) -> ClauseResult | None:
        return next((c for c in self.clauses if c.clause_id == clause_id), None)

    def to_json(self) -> dict[str, Any]:
        """summary.json: the clauses keyed by ID, as ``compare`` and CI read them."""
        out: dict[str, Any] = {"summary_version": SUMMARY_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "clauses":
                value = {c.clause_id: {k: _plain(v) for k, v in vars(c).items()
                                       if k != "clause_id"} for c in value}
            elif f.name == "tests":
                value = [{k: _plain(v) for k, v in vars(t).items()} for t in value]
            elif f.name == "leftovers":
                value = {**{k: _plain(v) for k, v in vars(value).items()},
                         "counts": value.counts()}
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """A summary.json read back (missing fields take their defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["clauses"] = tuple(
            ClauseResult(clause_id=cid, **{k: _tuple(v) for k, v in entry.items()
                                           if k in _CLAUSE_FIELDS})
            for cid, entry in (data.get("clauses") or {}).items() if isinstance(entry, dict))
        values["tests"] = tuple(
            TestResult(**{k: _tuple(v) for k, v in entry.items() if k in _TEST_FIELDS})
            for entry in data.get("tests") or [] if isinstance(entry, dict))
        left = data.get("leftovers") or {}
        values["leftovers"] = Leftovers(**{k: _tuple(v) for k, v in left.items()
                                           if k in _LEFTOVER_FIELDS})
        for name in ("unjudged", "failed_clauses", "problems", "cleanup_problems", "notes"):
            values[name] = tuple(values.get(name) or ())
        values.setdefault("verdict", VERDICTS.get(int(values.get("exit_code", 3)), "unknown"))
        values.setdefault("headline", values["verdict"])
        values.setdefault("exit_code", EXIT_COULD_NOT_RUN)
        values.setdefault("target", "")
        return cls(**values)


def _count(n: int, kind: str) -> str:
    return f"{n} {kind}" + ("" if n == 1 else "es" if kind == "index" else "s")


_CLAUSE_FIELDS = {f.name for f in fields(ClauseResult)} - {"clause_id"}
_TEST_FIELDS = {f.name for f in fields(TestResult)}
_LEFTOVER_FIELDS = {f.name for f in fields(Leftovers)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
