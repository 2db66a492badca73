"""Outcome bookkeeping of one run: each test phase judged into its record, and at the end the
one Summary (``verdict.summarize``) written into every report.

The pytest hooks in ``plugin.py`` feed this module with the run's ``state``.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.clauses import ContractViolation
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.interrupts import INTERRUPTS
from conformance.resources.ledger import Ledger
from conformance.run.advisories import advisories
from conformance.run.findings import FINDINGS_KEY
from conformance.run.report import exchange_view, write_reports
from conformance.run.state import STATE_KEY, RunState, TimeBudgetSpent, violation_clauses
from conformance.run.summary import CaseRecord, Leftovers, Summary
from conformance.run.verdict import RunFacts, summarize

__all__ = ["finalize", "finding_text", "judge", "leftovers", "run_header", "skip_reason",
           "transcript_views", "words"]

_LIBRARIES = ("pytest", "schemathesis", "hypothesis", "httpx", "pytest-html", "twelvelabs")


def judge(state: RunState, item: pytest.Item, call: pytest.CallInfo[None],
          report: pytest.TestReport, record: CaseRecord) -> None:
    """Classify one phase's report into the test's record (outcome, words, evidence)."""
    if report.passed:
        if report.when == "call" and record.outcome == "not-run":
            record.outcome = "passed"
        return
    if report.skipped:
        if record.outcome == "not-run":
            if hasattr(report, "wasxfail"):
                record.outcome = "expected-failure"
            else:
                reason = skip_reason(report)
                kind, _, why = reason.partition(": ")
                record.outcome = kind if kind in ("disabled", "not judged") else "skipped"
                record.outcome = record.outcome.replace(" ", "-")
                record.message = reason
                record.why = why if record.outcome != "skipped" else reason
        return
    exc = call.excinfo.value if call.excinfo is not None else None
    clauses = violation_clauses(exc) if exc is not None else []
    if not clauses:
        report.conformance_error = True  # type: ignore[attr-defined]
        if record.outcome != "failed":
            record.outcome = "error"
            record.why = words(exc) if exc is not None else _first(str(report.longrepr))
            record.message = record.why
            if isinstance(exc, SubjectDestroyed):
                record.stopped_by = exc.clause_id
        return
    report.conformance_violation = True  # type: ignore[attr-defined]
    base_url = state.settings.base_url or ""
    for cid in clauses:
        if cid not in record.violated:
            record.violated.append(cid)
            item.user_properties.append(("violated_clause", cid))
        entry = state.deviations.match(cid, base_url, dt.date.today())
        if entry is not None:
            record.excused[cid] = entry.reason
    assert exc is not None
    record.message = state.redactor.scrub(finding_text(exc))
    record.reproduce = _reproduce(exc)
    record.evidence = [exchange_view(e) for e in _evidence(exc)]
    if all(cid in record.excused for cid in clauses):
        report.outcome = "skipped"
        report.wasxfail = "; ".join(
            f"known deviation {cid}: {record.excused[cid]}" for cid in clauses)
        if record.outcome in ("not-run", "passed"):
            record.outcome = "expected-failure"
    else:
        record.outcome = "failed"


def words(exc: BaseException) -> str:
    """A harness error as a sentence: the suite's own errors by their message, anything else
    (a defect or a library's error) with its type, so it can be looked up."""
    text = _first(str(exc))
    if isinstance(exc, (ProvisioningError, TimeBudgetSpent)) and text:
        return text
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _first(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _reproduce(exc: BaseException) -> str | None:
    if isinstance(exc, ContractViolation):
        return exc.reproduce
    if isinstance(exc, BaseExceptionGroup):
        return next(filter(None, (_reproduce(e) for e in exc.exceptions)), None)
    return None


def _evidence(exc: BaseException) -> list[Any]:
    found = list(getattr(exc, "evidence", None) or ())
    if isinstance(exc, BaseExceptionGroup):
        found += [e for sub in exc.exceptions for e in _evidence(sub)]
    return found


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


def run_header(state: RunState) -> dict[str, Any]:
    """What identifies a run: target, versions, profile, seed, budget, environment."""
    settings = state.settings
    return {
        "target": state.target_label,
        "suite_version": __version__,
        "spec_digest": _spec_digest(),
        "profile": settings.profile.name,
        "seed": settings.effective_seed,
        "run_id": settings.run_id,
        "started_at": state.started_at,
        "budget": {"tasks": settings.task_budget, "upload_bytes": settings.upload_budget},
        "environment": environment(),
    }


def environment() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _spec_digest() -> str:
    try:
        from conformance.spec import spec_digest

        return str(spec_digest())
    except Exception as exc:  # a broken spec file must not stop the report
        return f"unavailable ({type(exc).__name__})"


def leftovers(settings_dir: Path, run_id: str, base_url: str | None,
              embedded: bool) -> Leftovers:
    """What the run's ledger still lists, and the one command that removes it."""
    path = settings_dir / "ledger.json"
    if not path.is_file():
        return Leftovers()
    try:
        ledger = Ledger.load(path)
    except ProvisioningError as exc:
        return Leftovers(ledger=str(path), note=f"the ledger cannot be read: {exc}")
    if ledger.run_id != run_id:
        return Leftovers()
    left = ledger.remaining()
    if not left:
        return Leftovers(ledger=str(path))
    if embedded:
        return Leftovers(ledger=str(path), note=f"{len(left)} resource(s) the run made were "
                         "left on the embedded emulator, which stopped with the run: nothing "
                         "is left anywhere")
    items = tuple({"kind": e.kind, "id": e.id, "parents": dict(e.parents), "state": e.state,
                   **({"status": e.status} if e.status else {})} for e in left)
    return Leftovers(items, str(path), f"conformance cleanup --ledger {path} --base-url "
                     f"{base_url} (the key from $TWELVELABS_API_KEY)")


def finalize(session: pytest.Session, *, page: bool = True) -> Summary | None:
    """Judge the run once: the Summary, every report written from it, the exit code.
    ``page=False``: the session's pytest-html is about to write report.html (``html.py``
    calls this from its hook); otherwise the page is rendered from the summary."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    if state.summary is not None:
        return state.summary
    INTERRUPTS.enter_reports()
    _attach_findings(session.config, state)
    settings = state.settings
    status = int(session.exitstatus)
    left = leftovers(settings.report_dir, settings.run_id, settings.base_url, state.on_embedded)
    problems = list(state.collection_errors)
    if status == pytest.ExitCode.INTERNAL_ERROR:
        problems.append("pytest met an internal error (see the console)")
    elif status == pytest.ExitCode.INTERRUPTED and not problems and not _interrupted(state):
        problems.append("the session was stopped before its tests ran")
    scrub = state.redactor.scrub
    facts = RunFacts(
        header=run_header(state), records=list(state.records.values()),
        judged=state.subjects.judged, partial=state.subjects.partial,
        unjudged=state.subjects.unjudged, problems=[scrub(p) for p in problems],
        usage_error=status == pytest.ExitCode.USAGE_ERROR,
        interrupted=_interruption(state, left), leftovers=left, mode=state.mode,
        pytest_status=status,
        extra={"duration_s": round(time.monotonic() - state.started, 3),
               "spend": _spend(state.provisioner),
               "tasks_created": _spend(state.provisioner).get("tasks"),
               "rate_limited": state.total_rate_limited(),
               "requests": state.total_requests(),
               "advisories": advisories(state.transcript.since(0)),
               "cleanup_problems": tuple(scrub(p) for p in state.cleanup_problems),
               "notes": tuple(scrub(n) for n in state.notes),
               "settings": settings.redacted()})
    summary = summarize(facts)
    summary = replace(summary, deviations=_deviations(state, summary))
    state.summary = summary
    xml = getattr(session.config.option, "xmlpath", None)
    write_reports(summary, settings.report_dir, junit=Path(xml) if xml else None, page=page,
                  transcripts=_transcripts(state) if page else None)
    session.exitstatus = summary.exit_code
    return summary


def _attach_findings(config: pytest.Config, state: RunState) -> None:
    """Each finding's evidence (the exchanges its verdict rests on) and reproduction, on the
    record of the test that found it: the report shows them under its failure."""
    found = config.stash.get(FINDINGS_KEY, None)
    if found is None:
        return
    items = state.transcript.since(0)
    replaced: set[str] = set()
    for finding in found.items:
        record = state.records.get(finding.test)
        if record is None:
            continue
        if finding.test not in replaced:  # the findings hold what the exception held, and more
            replaced.add(finding.test)
            record.evidence = []
        record.evidence += [{**exchange_view(items[step.position]),
                             "finding": f"{finding.id} [{finding.clause}]"}
                            for step in finding.evidence
                            if step.position is not None and step.position < len(items)]
        if finding.script:
            scripts = [] if record.reproduce is None else [record.reproduce]
            record.reproduce = "\n\n".join([*scripts, finding.script])


def _interrupted(state: RunState) -> bool:
    return state.interrupted or bool(INTERRUPTS.received)


def _interruption(state: RunState, left: Leftovers) -> dict[str, Any] | None:
    if not _interrupted(state):
        return None
    first = INTERRUPTS.first
    if left.items:
        how = ("stopped by a second signal" if INTERRUPTS.stop else
               "did not wait for unfinished tasks (a signal asked it to hurry)"
               if INTERRUPTS.hurry else "incomplete")
        cleanup = f"cleanup {how}: left {left.line()}"
    else:
        cleanup = "cleanup completed, nothing left"
    return {"signal": first.signal if first else "SIGINT",
            "phase": first.phase if first else "tests",
            "where": first.where if first else "",
            "signals": max(1, len(INTERRUPTS.received)), "cleanup": cleanup}


def _transcripts(state: RunState) -> dict[str, list[dict[str, Any]]]:
    return {nodeid: transcript_views(state, nodeid) for nodeid, record in state.records.items()
            if record.exchanges[1] > record.exchanges[0]}


def transcript_views(state: RunState, nodeid: str) -> list[dict[str, Any]]:
    """A test's exchanges (setup and call) as the report shows them."""
    record = state.records.get(nodeid)
    if record is None:
        return []
    start, end = record.exchanges
    return [exchange_view(e) for e in state.transcript.since(start)[:end - start]]


def _deviations(state: RunState, summary: Summary) -> dict[str, Any]:
    records = list(state.records.values())
    base_url = state.settings.base_url or ""
    today = dt.date.today()
    passed = {c.clause_id for c in summary.clauses if c.outcome == "passed"}
    aimed = state.deviations.for_target(base_url)

    def entry(d: Any) -> dict[str, Any]:
        return {"clause": d.clause, "reason": d.reason,
                "expires": d.expires.isoformat() if d.expires else None}

    return {
        "applied": [{"test": r.nodeid, "clause": c, "reason": why}
                    for r in records for c, why in r.excused.items()],
        "removable": [entry(d) for d in aimed if not d.expired(today) and d.clause in passed],
        "expired": [entry(d) for d in aimed if d.expired(today)],
    }


def _spend(provisioner: Any) -> dict[str, Any]:
    """What the run created, as the suite's provisioner counted it."""
    if provisioner is None:
        return {"tasks": 0, "upload_bytes": 0}
    return {"tasks": getattr(provisioner, "tasks_created", None),
            "upload_bytes": getattr(provisioner, "bytes_uploaded", None)}
