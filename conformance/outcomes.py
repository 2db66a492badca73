"""Outcome bookkeeping of one run: its shared state, how each test phase is judged, the verdict.

The pytest hooks in ``plugin.py`` feed this module; ``report.py`` renders what it keeps.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import __version__
from conformance.advisories import advisories
from conformance.clauses import CLAUSES, ContractViolation, clause
from conformance.deviations import Deviations
from conformance.report import VERDICTS, CaseRecord, ClauseRow, build_summary, exit_code
from conformance.settings import Settings
from conformance.target import EmbeddedTarget
from conformance.transcript import Redactor

__all__ = ["STATE_KEY", "Handover", "RunState", "Subjects", "TimeBudgetSpent", "judge",
           "register_violation_mapper", "run_code", "run_header", "run_state", "run_summary",
           "skip_reason", "violation_clauses"]


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity hashing
class Handover:
    """Registered by ``conformance run`` (``pytest.main(plugins=[...])``) to pass ready
    Settings in without putting the key into argv; ``target`` is stopped by the CLI."""

    settings: Settings
    preflighted: bool = False
    embedded: bool = False
    """The target is the embedded emulator the CLI started (for the report header)."""


@dataclass
class Subjects:
    """Per clause, what the run judged it on (statuses, operations, tasks, pages) and, when a
    budget or a missing precondition cut that short, why it was judged only in part."""

    judged: dict[str, list[str]] = field(default_factory=dict)
    partial: dict[str, list[str]] = field(default_factory=dict)

    def add(self, clause_id: str, text: str) -> None:
        clause(clause_id)
        shown = self.judged.setdefault(clause_id, [])
        if text not in shown:
            shown.append(text)

    def partly(self, clause_id: str, reason: str) -> None:
        clause(clause_id)
        shown = self.partial.setdefault(clause_id, [])
        if reason not in shown:
            shown.append(reason)


@dataclass
class RunState:
    """Everything the hooks and the suite's fixtures share during one run."""

    settings: Settings
    transcript: Any
    deviations: Deviations = field(default_factory=Deviations)
    cleanup_problems: list[str] = field(default_factory=list)
    provisioner: Any = None
    """Set by the suite's fixtures; its budget and spend figures go into the reports."""
    clients: list[Any] = field(default_factory=list)
    """ApiClients whose ``stats.rate_limited`` are added to the 429 count."""
    rate_limited: int = 0
    requests: int = 0
    """Requests sent outside the clients (the property tests' guard)."""
    records: dict[str, CaseRecord] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)
    embedded: EmbeddedTarget | None = None
    """An emulator this plugin started and stops at unconfigure."""
    target_label: str = ""
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    interrupted: bool = False
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    subjects: Subjects = field(default_factory=Subjects)
    redactor: Redactor = field(default_factory=Redactor)
    """The run's keys, scrubbed from every failure text the reports show."""
    progress_writer: Callable[[str], None] | None = None

    def progress(self, message: str) -> None:
        """A progress line on the console (long waits), outside output capture."""
        if self.progress_writer is not None:
            self.progress_writer(message)

    def total_rate_limited(self) -> int:
        return self.rate_limited + sum(s.rate_limited for s in self._client_stats())

    def total_requests(self) -> int:
        """Every request the run sent (retries and 429s included), the preflight excepted."""
        return self.requests + sum(s.requests for s in self._client_stats())

    def _client_stats(self) -> list[Any]:
        # Siblings (other key, unchecked) share one stats object: count each once.
        found = {id(s): s for c in self.clients if (s := getattr(c, "stats", None)) is not None}
        return list(found.values())


class TimeBudgetSpent(Exception):
    """The whole-run deadline passed: a harness error (exit 3), never a clause failure."""


STATE_KEY = pytest.StashKey[RunState]()
ViolationMapper = Callable[[BaseException], list[str] | None]
_MAPPERS: list[ViolationMapper] = []


def run_state(config: pytest.Config) -> RunState:
    """The run's shared state (settings, transcript, cleanup problems, provisioner slot)."""
    return config.stash[STATE_KEY]


def register_violation_mapper(mapper: ViolationMapper) -> ViolationMapper:
    """Teach the plugin that another exception type (e.g. a schemathesis failure) means a
    broken clause: the mapper returns clause IDs, or None when it does not apply."""
    _MAPPERS.append(mapper)
    return mapper


def violation_clauses(excinfo: pytest.ExceptionInfo[BaseException] | BaseException) -> list[str]:
    """The clauses a test's exception shows broken; empty means a harness error."""
    exc = excinfo.value if isinstance(excinfo, pytest.ExceptionInfo) else excinfo
    if isinstance(exc, ContractViolation):
        return [exc.clause_id]
    for mapper in _MAPPERS:
        found = mapper(exc)
        if found:
            return [c for c in found if c in CLAUSES]
    if isinstance(exc, BaseExceptionGroup):
        found = [c for sub in exc.exceptions for c in violation_clauses(sub)]
        return list(dict.fromkeys(found))
    return []


def _reproduce(exc: BaseException) -> str | None:
    if isinstance(exc, ContractViolation):
        return exc.reproduce
    if isinstance(exc, BaseExceptionGroup):
        return next(filter(None, (_reproduce(e) for e in exc.exceptions)), None)
    return None


def judge(state: RunState, item: pytest.Item, call: pytest.CallInfo[None],
          report: pytest.TestReport, record: CaseRecord) -> str | None:
    """Classify one phase's report into the run's outcomes; returns a reproduce line."""
    if report.passed:
        if report.when == "call" and record.outcome == "not-run":
            record.outcome = "passed"
        return None
    if report.skipped:
        if record.outcome == "not-run":
            if hasattr(report, "wasxfail"):
                record.outcome = "expected-failure"
            else:
                reason = skip_reason(report)
                record.outcome = "disabled" if reason.startswith("disabled:") else "skipped"
                record.message = reason
        return None
    exc = call.excinfo.value if call.excinfo is not None else None
    clauses = violation_clauses(exc) if exc is not None else []
    if not clauses:
        report.conformance_error = True  # type: ignore[attr-defined]
        if record.outcome != "failed":
            record.outcome = "error"
            record.message = _first_line(exc) if exc is not None else str(report.longrepr)
        return None
    report.conformance_violation = True  # type: ignore[attr-defined]
    base_url = state.settings.base_url or ""
    for cid in clauses:
        if cid not in record.violated:
            record.violated.append(cid)
            item.user_properties.append(("violated_clause", cid))
        entry = state.deviations.match(cid, base_url, dt.date.today())
        if entry is not None:
            record.excused[cid] = entry.reason
    record.message = _first_line(exc)
    if all(cid in record.excused for cid in clauses):
        report.outcome = "skipped"
        report.wasxfail = "; ".join(
            f"known deviation {cid}: {record.excused[cid]}" for cid in clauses)
        if record.outcome in ("not-run", "passed"):
            record.outcome = "expected-failure"
    else:
        record.outcome = "failed"
    return _reproduce(exc) if exc is not None else None


def skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines() if exc is not None else []
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run_code(state: RunState, matrix: list[ClauseRow], status: int) -> int:
    """The run's exit code from its clause matrix and pytest's own status; notes say why."""
    records = list(state.records.values())
    code = exit_code(matrix, records)
    if state.interrupted:
        code = 130
        state.notes.append("interrupted: cleanup ran, the verdict is incomplete")
    elif status == pytest.ExitCode.NO_TESTS_COLLECTED:
        code = 3
        state.notes.append("nothing ran: no tests were collected or selected")
    elif status == pytest.ExitCode.USAGE_ERROR:
        code = 2
    elif status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR) and code == 0:
        code = 3
        state.notes.append("the suite could not run: errors during collection")
    return code


def run_header(state: RunState) -> dict[str, Any]:
    """What identifies a run: target, versions, profile, seed, budget."""
    settings = state.settings
    return {
        "target": state.target_label,
        "suite_version": __version__,
        "spec_digest": _spec_digest(),
        "profile": settings.profile.name,
        "seed": settings.effective_seed,
        "run_id": settings.run_id,
        "budget": {"tasks": settings.task_budget, "upload_bytes": settings.upload_budget},
    }


def _spec_digest() -> str:
    try:
        from conformance.spec import spec_digest
    except ImportError:
        return "unavailable"
    try:
        return str(spec_digest())
    except Exception as exc:  # a broken spec file must not stop the report
        return f"unavailable ({type(exc).__name__})"


def run_summary(state: RunState, matrix: list[ClauseRow], code: int) -> dict[str, Any]:
    """summary.json of the run: header, counts, clauses, tests, spend, deviations, notes."""
    records = list(state.records.values())
    settings, base_url = state.settings, state.settings.base_url or ""
    today = dt.date.today()
    outcomes = {row.clause_id: row.outcome for row in matrix}
    aimed = state.deviations.for_target(base_url)
    entry = lambda d: {"clause": d.clause, "reason": d.reason,  # noqa: E731
                       "expires": d.expires.isoformat() if d.expires else None}
    deviations = {
        "applied": [{"test": r.nodeid, "clause": c, "reason": why}
                    for r in records for c, why in r.excused.items()],
        "removable": [entry(d) for d in aimed
                      if not d.expired(today) and outcomes.get(d.clause) == "passed"],
        "expired": [entry(d) for d in aimed if d.expired(today)],
    }
    header = {**run_header(state), "started_at": state.started_at, "exit_code": code,
              "verdict": VERDICTS.get(code, "unknown")}
    extra = {
        "duration_s": round(time.monotonic() - state.started, 3),
        "spend": _spend(state.provisioner),
        "rate_limited": state.total_rate_limited(),
        "requests": state.total_requests(),
        "advisories": advisories(state.transcript.since(0)),
        "deviations": deviations,
        "cleanup_problems": [state.redactor.scrub(p) for p in state.cleanup_problems],
        "notes": [state.redactor.scrub(n) for n in state.notes],
        "settings": settings.redacted(),
    }
    summary = build_summary(records=records, matrix=matrix, header=header, extra=extra,
                            subjects=state.subjects.judged, partial=state.subjects.partial)
    summary["tasks_created"] = summary["spend"].get("tasks")
    return summary


def _spend(provisioner: Any) -> dict[str, Any]:
    """What the run created, as the suite's provisioner counted it."""
    if provisioner is None:
        return {"tasks": 0, "upload_bytes": 0}
    return {"tasks": getattr(provisioner, "tasks_created", None),
            "upload_bytes": getattr(provisioner, "bytes_uploaded", None)}
