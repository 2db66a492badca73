"""The suite as a release gate: deviations files and `conformance compare`, end to end.

Three real `conformance run`s side by side against emulators on loopback ports (a fault that
breaks DEL-REFUSAL-CODE, with a current and with an expired deviation, and a clean one),
kept small with `--clause`; then `conformance compare` on their summaries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import head_start
import pytest

from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread

KEY = "tlk_release_gate_key_0123456789abcdef"
FAULT, BROKEN, SOUND = "refusal-wrong-code", "DEL-REFUSAL-CODE", "DEL-UNKNOWN"
REASON = "vendor ticket 4711: refusals say parameter_invalid until the spring release"
# Property tests carry every clause; the scenario tests are enough to show the gate.
SELECTION = ("--profile", "quick", "--clause", BROKEN, "--clause", SOUND,
             "-m", "not properties and not stateful")


def _deviations(expires: dt.date) -> str:
    return f'''
[[deviation]]
clause = "{BROKEN}"
target = "http://127.0.0.1:*"
reason = "{REASON}"
expires = {expires.isoformat()}

[[deviation]]
clause = "{SOUND}"
target = "^http://127\\\\.0\\\\.0\\\\.1:"
reason = "unknown IDs once answered 500 here"
'''


@dataclass
class Run:
    cwd: Path
    code: int
    stdout: str

    @property
    def summary_path(self) -> Path:
        return self.cwd / "reports" / "summary.json"

    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self.summary_path.read_text()))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    return {**env, "TWELVELABS_API_KEY": KEY}


@head_start.for_fixture("runs")
def _runs(root: Path) -> Iterator[dict[str, Run]]:
    # 4.5 s from upload to ready: these emulators serve from this busy process (its other
    # tests run meanwhile), and the probe must still see a task unfinished.
    faulty = start_in_thread(create_app(api_keys=[KEY], faults=[FAULT], time_scale=3.0))
    clean = start_in_thread(create_app(api_keys=[KEY], time_scale=3.0))
    today = dt.date.today()
    plans = {"excused": (faulty.base_url, today + dt.timedelta(days=30)),
             "expired": (faulty.base_url, today - dt.timedelta(days=1)),
             "clean": (clean.base_url, None)}
    started = {}
    try:
        for name, (base_url, expires) in plans.items():
            cwd = root / name
            cwd.mkdir()
            extra: list[str] = []
            if expires is not None:
                (cwd / "deviations.toml").write_text(_deviations(expires))
                extra = ["--deviations", "deviations.toml"]
            started[name] = (cwd, subprocess.Popen(
                [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
                 "--report-dir", "reports", *SELECTION, *extra], cwd=cwd, env=_env(),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        finished = {}
        for name, (cwd, process) in started.items():
            out, _ = process.communicate(timeout=180)
            finished[name] = Run(cwd, process.returncode, out)
        yield finished
    finally:
        for _cwd, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        faulty.stop()
        clean.stop()


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Run]]:
    yield from head_start.take(_runs)


def test_a_listed_deviation_turns_the_fault_s_failure_into_an_expected_failure_exit_0(
        runs: dict[str, Run]) -> None:
    run = runs["excused"]
    assert run.code == 0, run.stdout[-3000:]
    summary = run.summary()
    assert summary["clauses"][BROKEN]["outcome"] == "expected-failure"
    assert summary["failed_clauses"] == []
    applied = summary["deviations"]["applied"]
    assert applied and all(a["clause"] == BROKEN and a["reason"] == REASON for a in applied)
    # Both the raw refusal tests and the client's one were excused.
    assert any("test_30_client" in a["test"] for a in applied)
    assert any("test_02_delete_refusals" in a["test"] for a in applied)
    assert f"expected failure: {BROKEN}" in run.stdout and REASON in run.stdout


def test_an_entry_whose_clause_passes_is_reported_as_removable(runs: dict[str, Run]) -> None:
    summary = runs["excused"].summary()
    assert summary["clauses"][SOUND]["outcome"] == "passed"
    assert [e["clause"] for e in summary["deviations"]["removable"]] == [SOUND]
    assert f"deviation can be removed: {SOUND}" in runs["excused"].stdout


def test_an_expired_deviation_no_longer_hides_the_failure_exit_1(runs: dict[str, Run]) -> None:
    run = runs["expired"]
    assert run.code == 1, run.stdout[-3000:]
    summary = run.summary()
    assert summary["failed_clauses"] == [BROKEN]
    assert summary["deviations"]["applied"] == []
    assert [e["clause"] for e in summary["deviations"]["expired"]] == [BROKEN]


def _compare(old: Path, new: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "compare", str(old), str(new)],
                          env=_env(), capture_output=True, text=True, timeout=60, check=False)


def test_compare_reports_the_regression_from_a_clean_run_to_a_faulty_one_with_exit_1(
        runs: dict[str, Run]) -> None:
    clean, faulty = runs["clean"], runs["expired"]
    assert clean.code == 0, clean.stdout[-3000:]
    done = _compare(clean.summary_path, faulty.summary_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split()[:3] == ["newly", "failing", BROKEN] and
               line.endswith("passed -> failed") for line in lines), lines
    assert f"regression: {BROKEN}" in lines
    assert not any(SOUND in line for line in lines)  # unchanged clauses are not listed


def test_compare_from_the_faulty_run_to_the_clean_one_reports_the_fix_with_exit_0(
        runs: dict[str, Run]) -> None:
    done = _compare(runs["expired"].summary_path, runs["clean"].summary_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(line.split()[:2] == ["fixed", BROKEN] for line in done.stdout.splitlines())
    assert "regression" not in done.stdout
