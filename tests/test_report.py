"""report.html is pytest-html's page leading with the verdict: banner, target, clause matrix,
then the run's facts collapsed; a finding's row shows its clause, expected, got and a curl
line, not a traceback; disabled tests are named so, and the counters are the summary's."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread

KEY = "tlk_report_layout_key_5e1f0a2b"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A failing run (a failed task's delete refused), the refusal and delete tests only."""
    server = start_in_thread(create_app(api_keys=[KEY], faults=["delete-failed-refused"]))
    where = tmp_path_factory.mktemp("report")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--base-url", server.base_url,
             "--profile", "quick", "--report-dir", str(where), "-m",
             "deletes or refusals or isolation"], env={**env, "TWELVELABS_API_KEY": KEY},
            cwd=where, capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        yield where / "report.html"
    finally:
        server.stop()


def _results(page: str) -> dict[str, Any]:
    """pytest-html's data: the environment and every result row, as its script renders them."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None, "not pytest-html's page"
    return dict(json.loads(html.unescape(blob.group(1))))


def _row(page: str, name_part: str) -> dict[str, Any]:
    """The result row of the first test whose ID holds ``name_part``."""
    found = [run for nodeid, runs in _results(page)["tests"].items() for run in runs
             if name_part in nodeid]
    assert found, f"no result row for {name_part}"
    return dict(found[0])


@pytest.mark.slow
def test_the_report_leads_with_verdict_target_and_clause_matrix(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "pytest-html" in page
    banner = page.index('id="cf-banner"')
    assert banner < page.index('id="cf-target"') < page.index('id="clause-matrix"') < \
        page.index('id="results-table"')
    assert "not conformant</span>" in page and "exit code 1" in page
    assert re.search(r"<title[^>]*>not conformant: ", page)
    assert "DEL-FAILED failed" in page[banner:page.index('id="cf-target"')]
    matrix = page[page.index('id="clause-matrix"'):]
    assert re.search(r"DEL-FAILED</b></td><td>[^<]*</td><td class=\"m-failed\">failed", matrix)
    # The run's facts, the settings and (moved there by the page) pytest-html's environment
    # table: collapsed, after the matrix.
    more = page[page.index('<details class="cf-more">'):]
    assert more.index('id="cf-env-slot"') < more.index('id="cf-settings"') < \
        more.index("</details>")
    environment = _results(page)["environment"]
    assert environment["Run"] and "pytest-html" in environment and "Plugins" not in environment
    assert KEY not in page


@pytest.mark.slow
def test_a_finding_shows_clause_expected_got_and_curl_and_disabled_tests_are_named(
        report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    failed = _row(page, "failed_task_deletes")
    cells = failed["resultsTableRow"]
    assert failed["result"] == "Failed" and "DEL-FAILED" in cells[2]  # the Clauses column
    finding = html.unescape(failed["log"])
    assert finding.startswith("[DEL-FAILED] expected the failed task"), finding[:300]
    assert "curl " in finding and "Traceback" not in finding
    disabled = [run for runs in _results(page)["tests"].values() for run in runs
                if 'data-label="Disabled"' in run["resultsTableRow"][0]]
    assert disabled, "tests disabled (no second key) say so"
    assert all(html.unescape(run["log"]).startswith("disabled: ") for run in disabled)
    # pytest-html's counters are the summary's
    summary = json.loads((report.parent / "summary.json").read_text())
    counts = summary["counts"]
    assert f'{counts["failed"]} Failed' in page and f'{counts["passed"]} Passed' in page
    assert f'({counts["disabled"]} disabled)' in page


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_a_browser_shows_banner_target_and_matrix_first_and_the_environment_collapsed(
        report: Path) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        from report_screenshot import chromium, rendered_landmarks, wide_blocks
    finally:
        sys.path.remove(str(SCRIPTS))
    screen = rendered_landmarks(report)
    assert screen.order[:3] == ["cf-banner", "cf-target", "clause-matrix"], screen.order
    assert screen.environment_collapsed
    # Failures come first in the results table, and nothing runs off the page's edge.
    rows = re.findall(r'<tbody class="results-table-row (\w+)"',
                      chromium("--dump-dom", report.resolve().as_uri()).stdout)
    assert rows and rows[0] == "failed" and rows.index("failed") < rows.index("passed"), rows
    assert wide_blocks(report) == []


def _recorded_summary() -> Any:
    from conformance.run.summary import Summary, TestResult

    evidence = {"finding": "F1 [DEL-EMPTY]", "method": "DELETE", "url": "http://t/tasks/1",
                "status": 204, "request_headers": {"x-api-key": "$TWELVELABS_API_KEY"},
                "response_headers": {"content-length": "2"}}
    tests = (
        TestResult("suite/test_a.py::test_passes", "passed", ("DEL-204",), (), (), 0.5),
        TestResult("suite/test_a.py::test_fails", "failed", ("DEL-EMPTY",), (), ("DEL-EMPTY",),
                   1.25, "[DEL-EMPTY] expected no body, got Content-Length: 2",
                   "set -e\ncurl -X DELETE http://t/tasks/1", (evidence,)),
        TestResult("suite/test_a.py::test_breaks", "error", ("TASK-SHAPE",), (), (), 0.1,
                   "ProvisioningError: the index could not be created"),
        TestResult("suite/test_a.py::test_needs_a_key", "disabled", ("TENANT-ISOLATION",), (),
                   (), 0.0, "disabled: no second API key configured"),
        TestResult("suite/test_a.py::test_one_page", "not-judged", ("LIST-PAGING",), (), (),
                   0.2, "not judged: one page only"),
        TestResult("suite/test_a.py::test_excused", "expected-failure", ("DEL-204",), (),
                   ("DEL-204",), 0.3, "[DEL-204] answered 200"),
        TestResult("suite/test_a.py::test_never_ran", "not-run", ("LIST-SHAPE",), (), (), 0.0),
    )
    counts = {"passed": 1, "failed": 1, "error": 1, "expected-failure": 1, "disabled": 1,
              "not-judged": 1, "skipped": 0, "not-run": 1}
    return Summary(exit_code=1, verdict="not conformant", target="http://t",
                   headline="not conformant: DEL-EMPTY failed; 2 of 22 clauses judged",
                   counts=counts, tests=tests, run_id="r1", environment={"python": "3.x"},
                   deviations={"applied": [{"test": "suite/test_a.py::test_excused",
                                            "clause": "DEL-204", "reason": "ticket 7"}]})


def test_a_page_from_a_summary_replays_each_recorded_test_through_pytest_html(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.run.page import write_page

    # A user's pytest options and plugins are not the page's.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x --no-such-option")
    monkeypatch.setenv("PYTEST_PLUGINS", "conformance.run.plugin")
    write_page(_recorded_summary(), tmp_path / "report.html", note="from a summary")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    rows = {nodeid.rsplit("::", 1)[1]: runs[0] for nodeid, runs in _results(page)["tests"].items()}
    assert "test_never_ran" not in rows  # a live page has no row for a test that never ran
    shown = {name: (row["result"], re.search(r'data-label="([^"]*)"', row["resultsTableRow"][0]))
             for name, row in rows.items()}
    assert {n: (r, m.group(1) if m else None) for n, (r, m) in shown.items()} == {
        "test_passes": ("Passed", None), "test_fails": ("Failed", None),
        "test_breaks": ("Error", None), "test_needs_a_key": ("Skipped", "Disabled"),
        "test_one_page": ("Skipped", "Not judged"),
        "test_excused": ("XFailed", "Expected failure")}
    failed = rows["test_fails"]
    assert html.unescape(failed["log"]).startswith("[DEL-EMPTY] expected no body")
    assert "DEL-EMPTY" in failed["resultsTableRow"][2] and failed["duration"] == "00:00:01"
    evidence = html.unescape(failed["extras"][0]["content"])
    assert "F1 [DEL-EMPTY]" in evidence and "HTTP 204\ncontent-length: 2" in evidence
    assert "<details><summary>Reproduce" in evidence  # the script, collapsed
    assert html.unescape(rows["test_needs_a_key"]["log"]) == \
        "disabled: no second API key configured"
    assert "known deviation DEL-204: ticket 7" in html.unescape(
        rows["test_excused"]["extras"][0]["content"])
    assert html.unescape(rows["test_breaks"]["log"]).startswith("ProvisioningError")
    # the banner, the note and the summary's counters
    assert page.index('id="cf-banner"') < page.index("from a summary") < \
        page.index('id="clause-matrix"')
    assert "1 Failed," in page and "2 Skipped (1 disabled, 1 not judged)," in page
    assert _results(page)["environment"]["python"] == "3.x"
