"""The pytest plugin: outcomes, exit codes, deviations, reports, against the real emulator."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import unescape
from pathlib import Path

# pytester's in-process runs drop the modules first imported inside them; httpcore's network
# backend imported that way raises exception classes the httpx of later test modules no
# longer maps (httpcore.ConnectError escaping instead of httpx.ConnectError).
import httpcore._backends.sync  # noqa: F401
import pytest

from conformance.run.target import EmbeddedTarget, start_embedded

MIXED_SUITE = '''
import pytest
from conformance.wire.client import ApiClient
from conformance.clauses import ContractViolation
from conformance.run.state import run_state


@pytest.mark.clause("DEL-204")
@pytest.mark.deletes
def test_delete_answers_204(request):
    state = run_state(request.config)
    client = ApiClient(state.settings.base_url, state.settings.api_key,
                       transcript=state.transcript)
    try:
        assert client.list_tasks(page_limit=1).status_code == 200
    finally:
        client.close()


@pytest.mark.clause("DEL-EMPTY")
@pytest.mark.deletes
def test_204_has_no_body(request):
    run_state(request.config).progress("waiting for task 1 to be ready (3 s of 120 s)")
    raise ContractViolation("DEL-EMPTY", "the 204 carried 2 bytes",
                            reproduce="curl -X DELETE http://target/tasks/x")


@pytest.mark.clause("TASK-SHAPE")
@pytest.mark.task
def test_harness_breaks():
    raise RuntimeError("the provisioner lost its index")


@pytest.mark.clause("TENANT-ISOLATION")
@pytest.mark.isolation
@pytest.mark.requires("second_api_key")
def test_other_account_cannot_read():
    pass
'''


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmbeddedTarget]:
    target = start_embedded()
    yield target
    target.stop()


@pytest.fixture(autouse=True)
def _no_target_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWELVELABS_BASE_URL", "TWELVELABS_API_KEY", "TWELVELABS_SECOND_API_KEY",
                 "CONFORMANCE_DEVIATIONS", "CONFORMANCE_REPORT_DIR", "CONFORMANCE_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def _run(pytester: pytest.Pytester, target: EmbeddedTarget | None, *args: str,
         second: bool = False) -> pytest.RunResult:
    options = ["-p", "conformance.run.plugin", "-p", "no:cacheprovider", "-v"]
    if target is not None:
        options += ["--target-url", target.base_url, "--api-key", target.api_key]
        if second:
            options += ["--second-api-key", target.second_api_key]
    return pytester.runpytest(*options, *args)


def _summary(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "reports" / "summary.json").read_text())


def test_a_violation_fails_its_clause_and_the_run_exits_1(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator)
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*test_delete_answers_204 PASSED*",
        "*waiting for task 1 to be ready (3 s of 120 s)*",
        "*test_204_has_no_body FAILED*",
        "*test_harness_breaks ERROR*",
        "*test_other_account_cannot_read DISABLED*",
        "*failed clauses: DEL-EMPTY*",
        "*reports: reports/report.html, junit.xml, summary.json*",
    ])
    summary = _summary(pytester)
    clauses = {c: e["outcome"] for c, e in summary["clauses"].items()}
    assert clauses["DEL-204"] == "passed"
    assert clauses["DEL-EMPTY"] == "failed"
    assert clauses["TASK-SHAPE"] == "error"
    assert clauses["TENANT-ISOLATION"] == "disabled"
    assert clauses["LIST-PAGING"] == "not-run"
    assert summary["counts"] == {"passed": 1, "failed": 1, "error": 1, "expected-failure": 0,
                                 "disabled": 1, "not-judged": 0, "skipped": 0, "not-run": 0}
    assert summary["verdict"] == "not conformant" and summary["mode"] == "pytest"
    assert summary["failed_clauses"] == ["DEL-EMPTY"]
    assert summary["exit_code"] == 1
    assert summary["settings"]["api_key"] == "(set)"
    assert summary["target"] == emulator.base_url
    assert summary["rate_limited"] == 0
    assert {"tasks_created", "duration_s", "seed", "run_id", "spec_digest"} <= set(summary)


def test_the_second_key_enables_the_isolation_tests(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator, "-k", "other_account", second=True)
    assert result.ret == 0
    assert _summary(pytester)["clauses"]["TENANT-ISOLATION"]["outcome"] == "passed"


def test_harness_errors_without_violations_are_could_not_run_with_pytest_s_exit_1(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator, "-k", "harness or delete_answers")
    assert result.ret == 1  # plain pytest: its own code (conformance run says 3)
    summary = _summary(pytester)
    assert summary["verdict"] == "could not run" and summary["exit_code"] == 1
    # The banner names the clause left unjudged, and why, in words.
    assert summary["headline"] == ("could not run: TASK-SHAPE not judged (test_mixed.py::"
                                   "test_harness_breaks: RuntimeError: the provisioner lost "
                                   "its index)")


def test_a_run_where_nothing_is_collected_judges_nothing_and_exits_5(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator, "-k", "no_such_test")
    assert result.ret == 5
    result.stdout.fnmatch_lines(["*verdict: nothing judged: no test was collected or selected*"])
    assert _summary(pytester)["verdict"] == "nothing judged"


def test_collect_only_judges_nothing_and_exits_5(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator, "--co")
    assert result.ret == 5
    summary = _summary(pytester)
    assert summary["verdict"] == "nothing judged" and summary["clauses_judged"] == 0
    assert summary["counts"]["not-run"] == 4


def test_a_clause_option_deselects_the_other_clauses(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    assert _run(pytester, emulator, "--clause", "DEL-204").ret == 0
    assert _run(pytester, emulator, "-m", "clause_DEL_EMPTY").ret == 1
    assert [t["nodeid"] for t in _summary(pytester)["tests"]] == [
        "test_mixed.py::test_204_has_no_body"]


def test_an_unknown_clause_id_on_a_test_is_a_collection_error(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.clause("DEL-999")
def test_x():
    pass
''')
    result = _run(pytester, emulator)
    assert result.ret == 2  # pytest's own code for collection errors
    result.stdout.fnmatch_lines(["*unknown clause ID 'DEL-999'*"])
    summary = _summary(pytester)
    assert summary["verdict"] == "could not run"
    assert "unknown clause ID 'DEL-999'" in summary["headline"]


# Exits during configure run in a subprocess: pytester's in-process runner needs its own
# configure hook to have run.
def test_a_bad_setting_is_a_usage_error_with_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = pytester.runpytest_subprocess("-p", "conformance.run.plugin", "--profile", "weekly")
    assert result.ret == 4  # pytest's usage error (conformance run says 2)
    assert _summary(pytester)["verdict"] == "usage or configuration error"
    assert [line for line in result.stderr.lines if line.strip()] == [
        "Exit: conformance: unknown profile 'weekly' (choose from ci, nightly, quick)"]


def test_a_client_adapter_without_its_factory_is_a_usage_error_with_one_line(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = pytester.runpytest_subprocess("-p", "conformance.run.plugin", "--client-adapter",
                                           "conformance.clauses:no_factory")
    assert result.ret == 4
    assert [line for line in result.stderr.lines if line.strip()] == [
        "Exit: conformance: client adapter conformance.clauses:no_factory: "
        "conformance.clauses has no callable no_factory"]


def test_a_refused_key_is_a_usage_error_before_any_test(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "conformance.run.plugin", "--target-url", emulator.base_url,
        "--api-key", "tlk_not_a_key_of_this_target")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*the API key (TWELVELABS_API_KEY / --api-key) was refused by*"])
    summary = _summary(pytester)
    assert summary["verdict"] == "usage or configuration error" and summary["exit_code"] == 4
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_an_unreachable_target_could_not_run_within_seconds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    started = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "conformance.run.plugin", "--target-url",
                                           "http://127.0.0.1:9/v1.3", "--api-key", "tlk_x")
    assert result.ret == 1  # pytest has no code of its own for it (conformance run says 3)
    assert _summary(pytester)["verdict"] == "could not run"
    assert time.monotonic() - started < 15
    result.stderr.fnmatch_lines(["*target unreachable: http://127.0.0.1:9/v1.3*"])


def test_a_listed_deviation_turns_the_failure_into_an_expected_failure(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    pytester.makefile(".toml", deviations='''
[[deviation]]
clause = "DEL-EMPTY"
target = "http://127.0.0.1:*"
reason = "the gateway adds {} to every 204"

[[deviation]]
clause = "DEL-204"
target = "^http://127\\\\.0\\\\.0\\\\.1:"
reason = "answered 200 last quarter"
''')
    result = _run(pytester, emulator, "--deviations", "deviations.toml",
                  "-k", "not harness", second=True)
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*test_204_has_no_body XFAIL (known deviation DEL-EMPTY*",
        "*expected failure: DEL-EMPTY in test_mixed.py::test_204_has_no_body"
        " (the gateway adds {} to every 204)*",
        "*deviation can be removed: DEL-204 (answered 200 last quarter)*",
    ])
    summary = _summary(pytester)
    assert summary["clauses"]["DEL-EMPTY"]["outcome"] == "expected-failure"
    assert summary["deviations"]["applied"] == [
        {"test": "test_mixed.py::test_204_has_no_body", "clause": "DEL-EMPTY",
         "reason": "the gateway adds {} to every 204"}]
    assert [d["clause"] for d in summary["deviations"]["removable"]] == ["DEL-204"]


def test_an_expired_deviation_no_longer_hides_the_failure(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    pytester.makefile(".toml", deviations='''
[[deviation]]
clause = "DEL-EMPTY"
target = "*"
reason = "was fixed by the end of 2020"
expires = 2020-12-31
''')
    result = _run(pytester, emulator, "--deviations", "deviations.toml", "-k", "no_body")
    assert result.ret == 1
    summary = _summary(pytester)
    assert summary["clauses"]["DEL-EMPTY"]["outcome"] == "failed"
    assert [d["clause"] for d in summary["deviations"]["expired"]] == ["DEL-EMPTY"]


def test_a_spent_time_budget_stops_the_run_as_an_error(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, emulator, "--time-budget", "0.000001")
    assert result.ret == 2  # pytest's own: the session was stopped
    summary = _summary(pytester)
    assert summary["verdict"] == "could not run"
    assert summary["counts"]["error"] == 1
    assert summary["counts"]["not-run"] == 3
    assert "time budget" in result.stdout.str()


def test_junit_carries_clause_ids_categories_and_the_violated_clause(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    _run(pytester, emulator)
    tree = ET.parse(pytester.path / "reports" / "junit.xml")
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    props = [(p.get("name"), p.get("value"))
             for p in cases["test_204_has_no_body"].iter("property")]
    assert ("clause", "DEL-EMPTY") in props
    assert ("category", "deletes") in props
    assert ("violated_clause", "DEL-EMPTY") in props
    suite_props = {p.get("name"): p.get("value")
                   for p in tree.iterfind("./testsuite/properties/property")}
    assert suite_props["target"] == emulator.base_url


def test_html_report_has_the_matrix_and_transcript_but_never_the_key(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    _run(pytester, emulator, second=True)
    html = (pytester.path / "reports" / "report.html").read_text()
    assert "clause-matrix" in html and "DEL-TERMINAL-ONLY" in html
    assert "not conformant</span>" in html and "exit code 1" in html  # the banner
    assert "/tasks?page_limit=1" in html
    assert "curl -X DELETE http://target/tasks/x" in html
    # pytest-html's rows: a harness error in a test's call is an error, not a failure
    blob = re.search(r'data-jsonblob="([^"]*)"', html)
    assert blob is not None
    rows = json.loads(unescape(blob.group(1)))["tests"]
    results = {nodeid.rsplit("::", 1)[1]: runs[0]["result"] for nodeid, runs in rows.items()}
    assert results["test_harness_breaks"] == "Error" and results["test_204_has_no_body"] == \
        "Failed"
    for produced in (pytester.path / "reports").iterdir():
        text = produced.read_text()
        assert emulator.api_key not in text, produced.name
        assert emulator.second_api_key not in text, produced.name


def test_without_a_target_the_plugin_starts_the_embedded_emulator(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mixed=MIXED_SUITE)
    result = _run(pytester, None, "-k", "delete_answers or other_account")
    assert result.ret == 0
    summary = _summary(pytester)
    assert summary["target"].startswith("embedded emulator at http://127.0.0.1:")
    assert summary["clauses"]["TENANT-ISOLATION"]["outcome"] == "passed"


JUDGING_SUITE = '''
import pytest
from conformance.clauses import ContractViolation
from conformance.run.state import run_state


@pytest.mark.clause("LIST-FILTER-SORT")
def test_filters(request):
    subjects = run_state(request.config).subjects
    subjects.add("LIST-FILTER-SORT", "index_id filter: 2 pages")
    subjects.not_judged("LIST-FILTER-SORT", "status filter", "every task had the same status")


@pytest.mark.clause("LIST-PAGING")
def test_pages(request):
    run_state(request.config).subjects.not_judged("LIST-PAGING", "page walk", "one page only")


@pytest.mark.clause("DEL-TERMINAL-ONLY")
def test_unfinished():
    pytest.skip("not judged: the target indexed every task before it could be read")


@pytest.mark.clause("DEL-FAILED", "DEL-204")
def test_failed_task_delete():
    raise ContractViolation("DEL-204", "answered 200 instead of 204")


@pytest.mark.clause("DEL-VIDEO-FIRST", "DEL-EMPTY")
def test_ready_task_delete(request):
    run_state(request.config).subjects.add("DEL-VIDEO-FIRST", "own video: refused")
    raise ContractViolation("DEL-EMPTY", "the 204 carried 2 bytes")
'''


def test_a_clause_is_judged_only_on_subjects_that_could_show_it_failing(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_judging=JUDGING_SUITE)
    result = _run(pytester, emulator)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_unfinished NOT JUDGED*"])
    summary = _summary(pytester)
    clauses = summary["clauses"]
    # judged on some subjects and not on others: passed, and both are listed
    assert clauses["LIST-FILTER-SORT"]["outcome"] == "passed"
    assert clauses["LIST-FILTER-SORT"]["subjects_judged"] == ["index_id filter: 2 pages"]
    assert clauses["LIST-FILTER-SORT"]["not_judged"] == [
        "status filter: every task had the same status"]
    # a passing test that judged no subject did not judge its clause
    assert clauses["LIST-PAGING"]["outcome"] == "not-judged"
    assert clauses["LIST-PAGING"]["not_judged"] == ["page walk: one page only"]
    # a test that says so judged nothing: a test outcome of its own
    assert clauses["DEL-TERMINAL-ONLY"]["outcome"] == "not-judged"
    assert clauses["DEL-TERMINAL-ONLY"]["not_judged"] == [
        "test_judging.py::test_unfinished: the target indexed every task before it could be read"]
    assert summary["counts"]["not-judged"] == 1 and summary["counts"]["error"] == 0
    # a test that stopped at another clause's failure judged its other clauses only where it
    # recorded a subject: never an error while the counts say none
    assert clauses["DEL-FAILED"]["outcome"] == "not-judged"
    assert clauses["DEL-FAILED"]["not_judged"] == [
        "test_judging.py::test_failed_task_delete stopped at DEL-204's failure before judging it"]
    assert clauses["DEL-VIDEO-FIRST"]["outcome"] == "passed"
    assert summary["failed_clauses"] == ["DEL-204", "DEL-EMPTY"]
    assert summary["clauses_judged"] == 4
    assert summary["headline"] == ("not conformant: DEL-204, DEL-EMPTY failed; 4 of 22 "
                                   "clauses judged")
    unjudged = {u["clause"]: u["outcome"] for u in summary["unjudged"]}
    assert unjudged == {"DEL-TERMINAL-ONLY": "not-judged", "DEL-FAILED": "not-judged",
                        "LIST-PAGING": "not-judged"}


def test_a_selection_whose_tests_judge_no_clause_judges_nothing(
        pytester: pytest.Pytester, emulator: EmbeddedTarget) -> None:
    pytester.makepyfile(test_judging=JUDGING_SUITE)
    result = _run(pytester, emulator, "-k", "pages or unfinished")
    assert result.ret == 5
    summary = _summary(pytester)
    assert summary["verdict"] == "nothing judged" and summary["clauses_judged"] == 0
    assert summary["headline"].startswith("nothing judged: no selected test could judge a clause")


def test_the_report_page_can_be_rendered_again_from_summary_json(
        pytester: pytest.Pytester, emulator: EmbeddedTarget, tmp_path: Path) -> None:
    pytester.makepyfile(test_judging=JUDGING_SUITE)
    _run(pytester, emulator)
    from conformance.run.cli import main

    assert main(["report", str(pytester.path / "reports" / "summary.json"),
                 "--output", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    original = (pytester.path / "reports" / "report.html").read_text()
    # banner, target line, leftovers and clause matrix: the same page (pytest-html's), which
    # says where it came from
    note = re.compile(r'\s*<p class="cf-note">Rendered from summary.json: [^<]*</p>')
    assert note.search(page) and not note.search(original)
    page = note.sub("", page)
    first_screen = re.compile(r'<div id="cf-banner".*?</table>', re.S)
    shown = first_screen.search(page)
    assert shown is not None and shown.group() == first_screen.search(original).group()
    assert "status filter: every task had the same status" in page


def test_the_plugin_stays_inert_when_no_run_is_asked_for(pytester: pytest.Pytester) -> None:
    # The entry point loads it into every session of the environment: nothing may happen.
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0
    assert "conformance summary" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()
    assert pytester.runpytest_subprocess("--help").stdout.str().count("--target-url") == 1


def test_the_suite_collected_without_a_run_says_how_to_ask_for_one(
        pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--pyargs", "conformance.suite", "-p",
                                           "no:cacheprovider", "-k", "test_01_auth")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*the conformance suite needs a run: pass --target-url URL*"])
