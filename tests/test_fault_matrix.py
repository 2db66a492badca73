"""The suite can fail, and only where it should: the real suite against the clean emulator,
every conforming variation, and a seeded sample of faults and generated mutants (the whole
matrix is the benchmark: `python -m tests.fault_matrix --mutants`, benchmarks/mutants.py).

The runs (only the rows selected) start in the background as soon as collection ends, while
the project's other tests run; each row is then its own test, moved to the end of the
session. The table goes to the terminal at the end of the session, and to Markdown when
$CONFORMANCE_FAULT_MATRIX_MARKDOWN names a file.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fault_matrix as fm
import pytest

from conformance.clauses import CLAUSES
from conformance.emulator.faults import FAULTS
from conformance.emulator.mutants import MUTANTS
from conformance.emulator.variations import VARIATIONS

# Rows the suite currently gets wrong (a false alarm, a fault missed, a mutant that survives),
# each reported to the suite's owner; strict, so a fix turns the row red until the entry goes.
KNOWN_WRONG: dict[str, str] = {}
CI_CASES = fm.ci_cases(fm.seed())


def _params(kind: str) -> list[Any]:
    return [pytest.param(case, id=case.name, marks=(
        [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[case.name])]
        if case.name in KNOWN_WRONG else []))
        for case in CI_CASES if case.kind == kind]


class _TablePrinter:
    """Prints the matrix in the terminal summary, where output capture no longer applies."""

    def __init__(self, table: fm.Table) -> None:
        self.table = table

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", "fault matrix")
        for line in self.table.text().splitlines():
            terminalreporter.write_line(line)


class Progress:
    """A line per finished run on the terminal: the matrix takes minutes. Lines come from the
    rows' thread and are written from the main thread between tests, where no capture is
    active (switching capture off from another thread would steal a pytester run's output)."""

    def __init__(self, config: pytest.Config) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._terminal = config.pluginmanager.getplugin("terminalreporter")

    def __call__(self, line: str) -> None:
        self._lines.put(line)

    def pytest_runtest_logfinish(self) -> None:
        self.flush()

    def flush(self) -> None:
        while not self._lines.empty() and self._terminal is not None:
            self._terminal.write_line(self._lines.get())


def is_row(item: pytest.Item) -> bool:
    """A test of one matrix row (parametrized by its case)."""
    return (isinstance(item, pytest.Function) and item.module is not None
            and item.module.__name__ == __name__ and hasattr(item, "callspec")
            and "case" in item.callspec.params)


class Rows:
    """The selected rows, started in the background as soon as collection ends (the rest of
    the project's tests run meanwhile, the rows' own tests are moved to the end and wait)."""

    def __init__(self, config: pytest.Config, cases: list[fm.Case]) -> None:
        workers = int(os.environ.get(fm.WORKERS_ENV) or fm.DEFAULT_WORKERS)
        # Not pytest's tmp_path: concurrent pytest sessions prune each other's numbered dirs,
        # and the reports of a wrong row must outlive the session for whoever reads them.
        self.root = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
        self.started = time.monotonic()
        self._config = config
        self._progress = progress = Progress(config)
        config.pluginmanager.register(progress, "fault-matrix-progress")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fault-matrix")
        self._future = self._pool.submit(fm.run_matrix, cases, self.root, workers, progress)
        self._pool.shutdown(wait=False)

    def outcomes(self) -> dict[str, fm.Outcome]:
        """Wait for the rows, showing each as it ends (the main thread alone runs now, so
        switching capture off to write is safe here)."""
        capture = self._config.pluginmanager.getplugin("capturemanager")
        while not self._future.done():
            time.sleep(1.0)
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    self._progress.flush()
        return self._future.result()


ROWS = pytest.StashKey[Rows]()


def start_rows(session: pytest.Session) -> None:
    """Called by tests/conftest.py once collection is done."""
    chosen = {item.callspec.params["case"] for item in session.items
              if isinstance(item, pytest.Function) and is_row(item)}
    cases = [case for case in CI_CASES if case in chosen]
    if cases:
        session.config.stash[ROWS] = Rows(session.config, cases)


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest) -> Iterator[dict[str, fm.Outcome]]:
    rows = request.config.stash.get(ROWS, None)
    if rows is None:  # collected without the project's conftest (e.g. pytester)
        start_rows(request.session)
        rows = request.config.stash[ROWS]
    outcomes = rows.outcomes()
    table = fm.Table(list(outcomes.values()), time.monotonic() - rows.started)
    request.config.pluginmanager.register(_TablePrinter(table), "fault-matrix-table")
    if target := os.environ.get(fm.MARKDOWN_ENV):
        table.write_markdown(Path(target))
    yield {o.case.name: o for o in outcomes.values()}
    if all(not fm.judge(o) for o in outcomes.values()):
        shutil.rmtree(rows.root, ignore_errors=True)


def test_every_clause_except_the_advisory_one_is_broken_by_some_fault() -> None:
    assert fm.clauses_without_fault() == []


def test_every_fault_declares_known_clauses() -> None:
    for fault in FAULTS.values():
        assert fault.clauses and set(fault.clauses) <= set(CLAUSES), fault


def test_rate_limit_is_advisory_and_covered_by_variations_instead() -> None:
    assert {"RATE-LIMIT"} == fm.ADVISORY
    assert set(fm.RATE_LIMIT_VARIATIONS) <= set(VARIATIONS)
    assert not any("RATE-LIMIT" in f.clauses for f in FAULTS.values())


def test_matrix_has_a_row_per_fault_and_puts_every_variation_in_exactly_one_row() -> None:
    rows = fm.cases()
    assert [c.name for c in fm.cases(mutants=True) if c.kind == "mutant"] == list(MUTANTS)
    assert [c.name for c in rows if c.kind == "fault"] == list(FAULTS)
    placed = [name for c in rows if c.kind == "variation" for name in c.names]
    assert sorted(placed) == sorted(VARIATIONS)
    assert [c.name for c in rows if c.kind == "clean"] == ["clean"]
    assert set(fm.UNPROVISIONABLE) | set(fm.GONE) <= set(VARIATIONS)
    for name in (*fm.UNPROVISIONABLE, *fm.GONE, "lenient-queries", *fm.RATE_LIMIT_VARIATIONS):
        assert any(c.names == (name,) for c in rows), f"{name} must have a row of its own"


def test_every_clause_but_the_advisory_one_is_broken_by_at_least_two_faults() -> None:
    """Issue 9: two faults of different shapes per clause (partial ones among them)."""
    for cid in CLAUSES:
        if cid in fm.ADVISORY:
            continue
        assert sum(cid in f.clauses for f in FAULTS.values()) >= 2, cid


@pytest.mark.slow
@pytest.mark.parametrize("case", _params("clean"))
def test_the_clean_emulator_passes_every_clause(matrix: dict[str, fm.Outcome],
                                                case: fm.Case) -> None:
    assert fm.judge(matrix[case.name]) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", _params("fault"))
def test_each_fault_fails_exactly_the_clauses_it_declares(matrix: dict[str, fm.Outcome],
                                                         case: fm.Case) -> None:
    assert fm.judge(matrix[case.name]) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", _params("variation"))
def test_each_conforming_variation_passes_every_clause(matrix: dict[str, fm.Outcome],
                                                       case: fm.Case) -> None:
    assert fm.judge(matrix[case.name]) == []


@pytest.mark.slow
@pytest.mark.parametrize("case", _params("mutant"))
def test_each_sampled_mutant_is_killed_with_a_clause_it_declares(matrix: dict[str, fm.Outcome],
                                                                 case: fm.Case) -> None:
    assert fm.judge(matrix[case.name]) == []


def test_ci_runs_every_conforming_row_and_a_seeded_sample_of_faults_and_mutants() -> None:
    every, ci = fm.cases(), fm.ci_cases(7)
    assert [c for c in every if c.kind != "fault"] == [c for c in ci if c.kind in
                                                       ("clean", "variation")]
    assert sum(c.kind == "fault" for c in ci) == fm.CI_FAULTS
    assert sum(c.kind == "mutant" for c in ci) == fm.CI_MUTANTS
    assert fm.ci_cases(7) == ci and fm.ci_cases(8) != ci
    assert {c.name for c in ci if c.kind == "mutant"} <= set(MUTANTS)


def test_a_mutant_row_holds_when_a_declared_clause_fails_whatever_else_does() -> None:
    name, mutant = next(iter(MUTANTS.items()))
    case = fm.Case(name, "mutant", frozenset(mutant.clauses))
    declared = sorted(mutant.clauses)[0]
    assert fm.judge(_outcome(case, 1, {declared, "NO-5XX"})) == []
    assert any("survived" in p for p in fm.judge(_outcome(case, 1, {"NO-5XX"})))
    assert any("survived" in p for p in fm.judge(_outcome(case, 0)))
    assert any("exit code 3" in p for p in fm.judge(_outcome(case, 3, {declared})))


def _outcome(case: fm.Case, exit_code: int, failed: Collection[str] = (),
             rate_limited: int = 0, error_test: bool = False,
             error_cause: str = "see DEL-GONE") -> fm.Outcome:
    advisory = "passed" if rate_limited else "disabled"
    clauses = {cid: {"outcome": "failed" if cid in failed else
                     advisory if cid in fm.ADVISORY else "passed"} for cid in CLAUSES}
    tests = [{"nodeid": f"suite::test_{cid}", "outcome": "failed", "violated": [cid]}
             for cid in sorted(failed)]
    if error_test:
        tests.append({"nodeid": "suite::test_provisioned", "outcome": "error", "violated": []})
    summary = {"clauses": clauses, "tests": tests, "rate_limited": rate_limited}
    return fm.Outcome(case, exit_code, 1.0, Path("reports"), summary, messages={
        "test_provisioned": f"ProvisioningError: nothing to judge ({error_cause})"})


FAULT = fm.Case("second-delete-204", "fault", frozenset({"DEL-GONE"}))


def test_a_fault_row_holds_when_exactly_its_clauses_fail_with_exit_1() -> None:
    assert fm.judge(_outcome(FAULT, 1, {"DEL-GONE"})) == []


@pytest.mark.parametrize(("exit_code", "failed", "error_test", "complaint"), [
    (0, set(), False, "not detected: DEL-GONE"),
    (1, {"DEL-GONE", "LIST-PAGING"}, False, "does not break: LIST-PAGING"),
    (3, {"DEL-GONE"}, False, "exit code 3, expected 1"),
])
def test_a_fault_row_fails_on_a_miss_collateral_noise_or_a_harness_error(
        exit_code: int, failed: set[str], error_test: bool, complaint: str) -> None:
    problems = fm.judge(_outcome(FAULT, exit_code, failed, error_test=error_test))
    assert any(complaint in p for p in problems), problems
    assert problems[-1] == "reports: reports"


def test_a_fault_row_tolerates_harness_errors_that_name_its_clause() -> None:
    assert fm.judge(_outcome(FAULT, 1, {"DEL-GONE"}, error_test=True)) == []
    problems = fm.judge(_outcome(FAULT, 1, {"DEL-GONE"}, error_test=True,
                                 error_cause="AttributeError: no attribute 'exercise'"))
    assert any("names no clause this case breaks: suite::test_provisioned" in p
               for p in problems), problems


def test_a_variation_row_fails_on_any_failed_or_unjudged_clause_or_harness_error() -> None:
    case = fm.Case("extra-fields", "variation")
    assert fm.judge(_outcome(case, 0)) == []
    assert any("names no clause this case breaks: suite::test_provisioned" in p
               for p in fm.judge(_outcome(case, 0, error_test=True)))
    assert any("does not break: TASK-SHAPE" in p
               for p in fm.judge(_outcome(case, 1, {"TASK-SHAPE"})))
    outcome = _outcome(case, 0)
    assert outcome.summary is not None
    outcome.summary["clauses"]["TENANT-ISOLATION"]["outcome"] = "disabled"
    assert any("TENANT-ISOLATION disabled" in p for p in fm.judge(outcome))


def test_a_variation_that_leaves_a_precondition_unprovisionable_must_say_so_and_exit_3() -> None:
    case = next(c for c in fm.cases() if c.name == "instant-indexing")
    outcome = _outcome(case, 3, error_test=True, error_cause="already ready at its first read")
    assert outcome.summary is not None
    outcome.summary["clauses"]["DEL-TERMINAL-ONLY"]["outcome"] = "error"
    assert fm.judge(outcome) == []
    outcome.messages = {"test_provisioned": "ProvisioningError: timed out"}
    assert any("names no clause" in p for p in fm.judge(outcome))
    assert any("exit code 0, expected 3" in p for p in fm.judge(_outcome(case, 0)))


def test_a_gone_row_needs_the_endpoints_gone_verdict_and_exit_code() -> None:
    case = next(c for c in fm.cases() if c.name == "tasks-gone-410")
    good = fm.Outcome(case, 4, 1.0, Path("r"), {"verdict": "endpoints gone"})
    assert fm.judge(good) == []
    assert fm.judge(fm.Outcome(case, 1, 1.0, Path("r"), {"verdict": "not conformant"}))


def test_a_row_whose_files_show_a_key_is_wrong() -> None:
    outcome = _outcome(FAULT, 1, {"DEL-GONE"})
    outcome.leaks = ["reports/junit.xml"]
    assert any("API key" in p for p in fm.judge(outcome))


def test_a_rate_limit_variation_row_needs_a_429_to_have_been_seen() -> None:
    case = fm.Case("rate-limit", "variation")
    assert any("no 429" in p for p in fm.judge(_outcome(case, 0, rate_limited=0)))
    assert fm.judge(_outcome(case, 0, rate_limited=12)) == []


def test_a_rate_limit_variation_row_needs_the_suite_to_have_judged_its_429s() -> None:
    outcome = _outcome(fm.Case("rate-limit", "variation"), 0, rate_limited=12)
    outcome.summary["clauses"]["RATE-LIMIT"]["outcome"] = "disabled"  # type: ignore[index]
    assert any("RATE-LIMIT disabled" in p for p in fm.judge(outcome))


def test_a_run_without_summary_is_a_wrong_row() -> None:
    outcome = fm.Outcome(fm.Case("clean", "clean"), 2, 1.0, Path("r"), tail="bad flag")
    assert fm.judge(outcome) == ["no summary.json (exit 2): bad flag"]


def test_the_table_has_a_row_and_a_verdict_per_case_in_text_and_markdown() -> None:
    table = fm.Table([_outcome(FAULT, 1, {"DEL-GONE"}),
                      _outcome(fm.Case("clean", "clean"), 1, {"NO-5XX"})], wall=3.0)
    text = table.text()
    assert "fault second-delete-204  DEL-GONE" in text and "1/2 rows hold, 3 s wall" in text
    markdown = table.markdown().splitlines()
    assert markdown[2].startswith("| case |")
    assert "| `clean` | - | NO-5XX | 0 | WRONG | 1.0 |" in markdown
