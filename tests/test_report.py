"""The report leads with the verdict: banner, target, clause matrix, then the rest collapsed;
a finding shows its clause, expected, got and a curl line, not a traceback."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


def _test_block(page: str, name_part: str) -> str:
    """The report's block of the first test whose ID holds ``name_part``."""
    found = re.search(r'<tbody class="cf-test" id="[^"]*' + re.escape(name_part)
                      + r'[^"]*">(.*?)</tbody>', page, re.S)
    assert found is not None, f"no test block for {name_part}"
    return found.group(1)


@pytest.mark.slow
def test_the_report_leads_with_verdict_target_and_clause_matrix(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    banner = page.index('id="cf-banner"')
    assert banner < page.index('id="cf-target"') < page.index('id="clause-matrix"') < \
        page.index('id="results-table"') < page.index('id="environment"')
    assert "not conformant</span>" in page and "exit code 1" in page
    assert re.search(r"<title[^>]*>not conformant: ", page)
    assert "DEL-FAILED failed" in page[banner:page.index('id="cf-target"')]
    matrix = page[page.index('id="clause-matrix"'):]
    assert re.search(r"DEL-FAILED</b></td><td>[^<]*</td><td class=\"m-failed\">failed", matrix)
    more = page[page.rindex("<details", 0, page.index('id="environment"')):]
    assert more.startswith('<details class="cf-more">')  # the environment, collapsed
    assert "<script" not in page


@pytest.mark.slow
def test_a_finding_shows_clause_expected_got_and_curl_and_disabled_tests_are_named(
        report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    failed = _test_block(page, "failed_task_deletes")
    assert 'class="m-failed">Failed<' in failed
    finding = html.unescape(re.search(r"<pre>(.*?)</pre>", failed, re.S).group(1))
    assert finding.startswith("[DEL-FAILED] expected the failed task"), finding[:300]
    assert "curl " in failed and "Traceback" not in failed
    assert 'class="m-disabled">Disabled<' in page, "tests disabled (no second key) say so"
    # Failures come first, then the rest.
    assert page.index('class="m-failed">Failed<') < page.index('class="m-passed">Passed<')


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_a_browser_shows_banner_target_and_matrix_first_and_the_environment_collapsed(
        report: Path) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        from report_screenshot import rendered_landmarks
    finally:
        sys.path.remove(str(SCRIPTS))
    screen = rendered_landmarks(report)
    assert screen.order[:3] == ["cf-banner", "cf-target", "clause-matrix"], screen.order
    assert screen.environment_collapsed
