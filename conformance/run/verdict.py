"""The verdict, computed once: a run's records in, one :class:`Summary` out.

A clause is judged when a test that carries it passed, or when the run recorded a subject it
was judged on; subjects, where recorded, decide (a clause whose subjects were all "not
judged" is not judged, whatever its tests say). A violation fails the clause (an excused one
makes it an expected failure); a clause none of whose tests could judge it is an error (a
harness error kept it), disabled (a capability is missing) or not judged (with the reasons in
words); a clause no selected test carries is not run. The exit code follows from the clause
outcomes and the test outcomes together, so the two can never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.clauses import CLAUSES, Strictness
from conformance.run.summary import (
    EXIT_CONFORMANT,
    EXIT_COULD_NOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_NOTHING_JUDGED,
    EXIT_USAGE,
    EXIT_VIOLATION,
    JUDGED,
    TEST_OUTCOMES,
    VERDICTS,
    CaseRecord,
    ClauseResult,
    Leftovers,
    Summary,
    TestResult,
)

__all__ = ["PYTEST_CODES", "RunFacts", "not_started", "summarize"]

PYTEST_CODES = {EXIT_CONFORMANT: 0, EXIT_VIOLATION: 1, EXIT_USAGE: 4, EXIT_COULD_NOT_RUN: 1,
                4: 1, EXIT_NOTHING_JUDGED: 5, EXIT_INTERRUPTED: 2}
"""Under plain pytest the run exits with pytest's own codes (the verdict is the same):
1 tests failed or errored (a clause failed, the run could not run, the endpoints are gone),
2 interrupted (or collection errors), 4 usage error (a refused key included), 5 nothing
judged."""


@dataclass
class RunFacts:
    """Everything a verdict is made of, gathered by ``outcomes.finalize``."""

    header: dict[str, Any]
    records: Sequence[CaseRecord]
    judged: Mapping[str, Sequence[str]] = field(default_factory=dict)
    partial: Mapping[str, Sequence[str]] = field(default_factory=dict)
    unjudged: Mapping[str, Sequence[str]] = field(default_factory=dict)
    problems: Sequence[str] = ()
    """Run-level trouble (collection errors, a pytest usage error), in words."""
    usage_error: bool = False
    interrupted: dict[str, Any] | None = None
    leftovers: Leftovers = field(default_factory=Leftovers)
    mode: str = "conformance run"
    pytest_status: int = 0
    """pytest's own exit status of the session (under plain pytest, collection errors keep
    its 2)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """duration_s, spend, requests, advisories, deviations, notes, settings..."""


def summarize(facts: RunFacts) -> Summary:
    """The one verdict of a run that started (see the module docstring)."""
    records = list(facts.records)
    clauses = tuple(_clause(cid, records, facts) for cid in CLAUSES)
    selected = [c for c in clauses if c.outcome != "not-run"]
    judged = [c for c in clauses if c.outcome in JUDGED]
    counts = Counter(r.outcome for r in records)
    problems = [*facts.problems, *(f"{_short(r.nodeid)}: {r.why or 'harness error'}"
                                   for r in records if r.outcome == "error")]
    failed = tuple(c.clause_id for c in clauses if c.outcome == "failed")
    if facts.interrupted is not None:
        code = EXIT_INTERRUPTED
    elif facts.usage_error:
        code = EXIT_USAGE
    elif failed:
        code = EXIT_VIOLATION
    elif problems:
        code = EXIT_COULD_NOT_RUN
    elif not judged:
        code = EXIT_NOTHING_JUDGED
    else:
        code = EXIT_CONFORMANT
    unjudged = tuple({"clause": c.clause_id, "outcome": c.outcome,
                      "why": "; ".join(c.not_judged) or c.outcome}
                     for c in selected if c.outcome not in JUDGED)
    summary_fields = dict(facts.extra)
    summary_fields.update(facts.header)
    out = code
    if facts.mode == "pytest":
        collection_stopped = code == EXIT_COULD_NOT_RUN and facts.pytest_status == 2
        out = 2 if collection_stopped else PYTEST_CODES[code]
    return Summary(
        exit_code=out,
        verdict=VERDICTS[code],
        headline=_headline(code, clauses, records, problems, facts),
        mode=facts.mode, counts={o: counts.get(o, 0) for o in TEST_OUTCOMES},
        clauses_judged=len(judged), clauses_total=len(CLAUSES), clauses=clauses,
        tests=tuple(_result(r) for r in records), unjudged=unjudged, failed_clauses=failed,
        problems=tuple(problems), leftovers=facts.leftovers, interrupted=facts.interrupted,
        **summary_fields)


def not_started(header: dict[str, Any], code: int, message: str, *,
                extra: dict[str, Any] | None = None,
                interrupted: dict[str, Any] | None = None,
                mode: str = "conformance run") -> Summary:
    """The verdict of a run that ended before any test (unreachable target, refused key,
    endpoints gone, a bad setting, Ctrl-C during start-up): no clause judged, and why."""
    clauses = tuple(ClauseResult(cid, c.sentence, c.source, str(c.strictness), "not-run", ())
                    for cid, c in CLAUSES.items())
    fields_ = {**(extra or {}), **header}
    return Summary(exit_code=PYTEST_CODES.get(code, 1) if mode == "pytest" else code,
                   mode=mode, verdict=VERDICTS.get(code, "could not run"),
                   headline=f"{VERDICTS.get(code, 'could not run')}: {message}",
                   counts={o: 0 for o in TEST_OUTCOMES}, clauses_total=len(CLAUSES),
                   clauses=clauses, problems=(message,), interrupted=interrupted, **fields_)


def _clause(cid: str, records: Sequence[CaseRecord], facts: RunFacts) -> ClauseResult:
    clause = CLAUSES[cid]
    tests = [r for r in records if cid in r.clauses or cid in r.violated]
    subjects = tuple(facts.judged.get(cid, ()))
    partial = tuple(facts.partial.get(cid, ()))
    unjudged_subjects = tuple(facts.unjudged.get(cid, ()))

    def result(outcome: str, why: Iterable[str] = ()) -> ClauseResult:
        return ClauseResult(cid, clause.sentence, clause.source, str(clause.strictness),
                            outcome, tuple(r.nodeid for r in tests), subjects, partial,
                            tuple(dict.fromkeys(why)))

    violations = [r for r in tests if cid in r.violated]
    if violations:
        excused = all(cid in r.excused for r in violations)
        return result("expected-failure" if excused else "failed", unjudged_subjects)
    reasons = [why for r in tests if (why := _why_not(r, cid, bool(subjects)))]
    # Recorded subjects decide; without any, a passing test judged the clause.
    recorded = bool(subjects or unjudged_subjects)
    judged = bool(subjects) if recorded else any(r.outcome == "passed" for r in tests)
    if judged:
        return result("passed", [*unjudged_subjects, *reasons])
    if not tests:
        return result("not-run")
    because = [*unjudged_subjects, *reasons]
    ran = [r for r in tests if r.outcome != "not-run"]
    if any(r.outcome == "error" for r in tests):
        return result("error", because)
    if ran and all(r.outcome == "disabled" for r in ran):
        return result("disabled", because)
    if ran:
        return result("not-judged", because or ["its tests judged no subject"])
    return result("not-run", because)


def _why_not(record: CaseRecord, cid: str, has_subjects: bool) -> str:
    """Why this test did not judge clause ``cid``, in words; empty when it did (or might have)."""
    name = _short(record.nodeid)
    match record.outcome:
        case "passed":
            return ""
        case "failed" | "expected-failure":
            if has_subjects:
                return ""
            broken = ", ".join(record.violated) or "another clause"
            return f"{name} stopped at {broken}'s failure before judging it"
        case "error":
            cause = f" ({record.stopped_by}'s failure destroyed its subject)" \
                if record.stopped_by else ""
            return f"{name}: {record.why or 'harness error'}{cause}"
        case "not-run":
            return f"{name} did not run"
        case _:  # disabled, not-judged, skipped
            return f"{name}: {record.why or record.outcome}"


def _result(record: CaseRecord) -> TestResult:
    return TestResult(record.nodeid, record.outcome, tuple(record.clauses),
                      tuple(record.categories), tuple(record.violated),
                      round(record.duration, 3), record.message, record.reproduce,
                      tuple(record.evidence))


def _headline(code: int, clauses: Sequence[ClauseResult], records: Sequence[CaseRecord],
              problems: Sequence[str], facts: RunFacts) -> str:
    """The banner's sentence: the verdict, then what it rests on and what it leaves out."""
    verdict = VERDICTS[code]
    judged = sum(c.outcome in JUDGED for c in clauses)
    selected = [c for c in clauses if c.outcome != "not-run"]
    coverage = (f"all {len(clauses)} clauses judged" if judged == len(clauses)
                else f"{judged} of {len(clauses)} clauses judged")
    left_out = [f"{c.clause_id} {c.outcome}" for c in selected
                if c.outcome not in JUDGED and not _advisory_without_429(c)]
    if code == EXIT_INTERRUPTED:
        info = facts.interrupted or {}
        return f"{verdict} ({info.get('signal', 'signal')} during {info.get('phase', 'the run')})" \
               f": {info.get('cleanup', '')}".rstrip(": ")
    if code == EXIT_VIOLATION:
        failed = [c.clause_id for c in clauses if c.outcome == "failed"]
        return f"{verdict}: {', '.join(failed)} failed; {coverage}"
    if code == EXIT_USAGE:
        return f"{verdict}: {'; '.join(problems) or 'pytest refused the arguments'}"
    if code == EXIT_COULD_NOT_RUN:
        unjudged = [f"{c.clause_id} not judged ({c.not_judged[0] if c.not_judged else c.outcome})"
                    for c in selected if c.outcome == "error"]
        return f"{verdict}: {'; '.join(unjudged or problems[:3])}"
    if code == EXIT_NOTHING_JUDGED:
        if not records:
            return f"{verdict}: no test was collected or selected"
        if all(r.outcome == "not-run" for r in records):
            return f"{verdict}: {len(records)} tests collected, none ran (--collect-only?)"
        return f"{verdict}: no selected test could judge a clause ({', '.join(left_out)})"
    extra = [f"{c.clause_id} {c.outcome}" for c in selected if c.outcome not in JUDGED]
    excused = [c.clause_id for c in clauses if c.outcome == "expected-failure"]
    if excused:
        extra.append(f"{', '.join(excused)} a known deviation")
    return f"{verdict}: {coverage}" + (f" ({'; '.join(extra)})" if extra else "")


def _advisory_without_429(clause: ClauseResult) -> bool:
    return clause.strictness == Strictness.ADVISORY and clause.outcome == "disabled"


def _short(nodeid: str) -> str:
    return nodeid.rsplit("/", 1)[-1]
