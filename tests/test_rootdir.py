"""The checkout is a pytest rootdir for the suite (conftest.py): `pytest conformance/suite`
starts a conformance run, the project's own tests never do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.run.state import STATE_KEY

REPO = Path(__file__).resolve().parents[1]
KEY = "tlk_rootdir_tests_0123456789abcdef"
UNREACHABLE = "http://127.0.0.1:9/v1.3"
"""A target nothing listens on: a plugin that preflighted it would end the run with exit 3."""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTHONPATH"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_the_project_s_own_tests_never_start_a_conformance_run(
        request: pytest.FixtureRequest) -> None:
    # This very session: pytest from the checkout, the root conftest loaded, the plugin
    # loaded through its entry point, and inert: no run state, no run hooks.
    assert request.config.pluginmanager.get_plugin("conformance.run.plugin") is not None
    assert request.config.pluginmanager.get_plugin("conformance-run") is None
    assert STATE_KEY not in request.config.stash
    # And a fresh one, with a target configured that a preflight could not reach.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_compare.py", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, env=_clean_env(TWELVELABS_BASE_URL=UNREACHABLE), capture_output=True,
        text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conformance summary" not in done.stdout


@pytest.fixture
def emulator() -> Iterator[RunningServer]:
    server = start_in_thread(create_app(api_keys=[KEY]))
    yield server
    server.stop()


def test_the_checkout_runs_the_suite_with_plain_pytest(
        emulator: RunningServer, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance/suite", "--target-url", emulator.base_url,
         "-k", "test_01_auth and list", "--report-dir", str(reports), "-p", "no:cacheprovider"],
        cwd=REPO, env=_clean_env(TWELVELABS_API_KEY=KEY), capture_output=True, text=True,
        timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rootdir: " + str(REPO) in done.stdout
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["target"] == emulator.base_url
    assert summary["clauses"]["AUTH-REQUIRED"]["outcome"] == "passed"
    assert KEY not in done.stdout + (reports / "report.html").read_text()
