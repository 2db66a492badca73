"""The report leads with the verdict: banner, target, clause matrix, then the rest collapsed;
a finding shows its clause, expected, got and a curl line, not a traceback."""

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


def _rows(page: str) -> dict[str, list[dict[str, Any]]]:
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    return dict(json.loads(html.unescape(blob.group(1)))["tests"])


@pytest.mark.slow
def test_the_report_leads_with_verdict_target_and_clause_matrix(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    banner = page.index('id="cf-banner"')
    assert banner < page.index('id="cf-target"') < page.index('id="clause-matrix"')
    assert "not conformant</span>" in page and "exit code 1" in page
    assert re.search(r"<title[^>]*>not conformant: ", page)
    matrix = page[page.index('id="clause-matrix"'):]
    assert re.search(r"DEL-FAILED</b></td><td>[^<]*</td><td class=\"m-failed\">failed", matrix)
    assert 'id="cf-env-slot"' in page and "<details" in page  # the environment, collapsed


@pytest.mark.slow
def test_a_finding_shows_clause_expected_got_and_curl_and_disabled_tests_are_named(
        report: Path) -> None:
    rows = _rows(report.read_text(encoding="utf-8"))
    failed = next(r for name, runs in rows.items() for r in runs
                  if "failed_task_deletes" in name and r["result"] == "Failed")
    log = html.unescape(failed["log"])
    assert log.startswith("[DEL-FAILED] expected the failed task"), log[:300]
    assert "curl " in log and "Traceback" not in log
    disabled = [r for runs in rows.values() for r in runs if "Disabled" in r["resultsTableRow"][0]]
    assert disabled, "tests skipped as disabled (no second key) are labelled Disabled"


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
