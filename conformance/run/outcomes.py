"""Outcome bookkeeping of one run: how each test phase is judged, the exit code, summary.json.

The pytest hooks in ``plugin.py`` feed this module with the run's ``state``; ``report.py``
renders what it keeps.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from conformance import __version__
from conformance.clauses import ContractViolation
from conformance.run.advisories import advisories
from conformance.run.report import (
    VERDICTS,
    CaseRecord,
    ClauseRow,
    build_summary,
    clause_matrix,
    exit_code,
    write_summary,
)
from conformance.run.state import STATE_KEY, RunState, violation_clauses

__all__ = ["finalize", "finding_text", "judge", "run_code", "run_header", "run_summary",
           "skip_reason"]


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


def finding_text(exc: BaseException) -> str:
    """What a test found broken, as a reader wants it instead of a traceback: per finding its
    clause, what was expected and what came back, and the line that reproduces it."""
    if isinstance(exc, ContractViolation):
        return str(exc)
    if isinstance(exc, BaseExceptionGroup):
        parts = [finding_text(sub) for sub in exc.exceptions]
        notes = [str(n) for n in getattr(exc, "__notes__", ())]
        # schemathesis ends a group's message with the request that reproduces it.
        message = str(getattr(exc, "message", ""))
        cut = message.find("Reproduce with")
        reproduce = [message[cut:].strip()] if cut >= 0 else []
        return "\n\n".join([*parts, *reproduce, *notes])
    clauses = ", ".join(violation_clauses(exc)) or "?"
    title = getattr(exc, "title", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return f"[{clauses}] {title}: {message}"


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


def finalize(session: pytest.Session) -> dict[str, Any] | None:
    """Judge the run once: clause matrix, summary.json, exit code into session.exitstatus."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    if state.summary is not None:
        return state.summary
    matrix = clause_matrix(list(state.records.values()))
    code = run_code(state, matrix, int(session.exitstatus))
    state.summary = run_summary(state, matrix, code)
    write_summary(state.settings.report_dir / "summary.json", state.summary)
    session.exitstatus = code
    return state.summary
