"""Safe on a live account, shown on the emulator: budget kept, nothing left, no key anywhere.

Each run is the real `conformance run` in its own process against an emulator served on a
loopback port; what the run left is checked afterwards with plain httpx, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import head_start
import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread

KEY = "tlk_RECOGNISABLE_live_safety_key_7f3a9c"
SECOND_KEY = "tlk_RECOGNISABLE_second_account_key_51d0"
BUDGET = 8


class CreationCounter:
    """Counts creates the emulator accepted, seen on the wire rather than told by the run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tasks = 0
        self.indexes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"]).rstrip("/")

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 201):
                if path.endswith("/tasks"):
                    self.tasks += 1
                elif path.endswith("/indexes"):
                    self.indexes += 1
            await send(message)

        await self.app(scope, receive, counting)


@dataclass
class Target:
    server: RunningServer
    counter: CreationCounter
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.server.base_url.rstrip("/")


def _serve(faults: tuple[str, ...] = (), time_scale: float = 1.0,
           variations: tuple[str, ...] = (), latency: float = 0.0) -> Target:
    counter = CreationCounter(create_app(api_keys=[KEY, SECOND_KEY], faults=faults,
                                         variations=variations, time_scale=time_scale,
                                         latency=latency))
    # start_in_thread serves any ASGI app; it is annotated with the emulator's type.
    return Target(start_in_thread(cast(Starlette, counter)), counter)


LIVE_TASKS, LIVE_INDEXES, LIVE_REQUESTS = 5, 2, 750
"""The pool's five tasks (one in a second temporary index, so a filter has something to leave
out) and its two indexes are all a live run makes; generated creates make none."""
LIVE_RATE = "10"
"""Requests per second of the self-test (the live default is 2: the note and
`python -m tests.live_shaped` give the figures at that pace); pacing is exercised either way."""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    return {**env, "TWELVELABS_API_KEY": KEY, "TWELVELABS_SECOND_API_KEY": SECOND_KEY,
            "PYTHONUNBUFFERED": "1"}


def _start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "conformance", *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _unthrottled(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The answer past the 429s the live-shaped emulator sends every so often (it throttles
    this check's requests like the run's)."""
    for _ in range(10):
        answer = http.request(method, url, **kwargs)
        if answer.status_code != 429:
            return answer
        time.sleep(float(answer.headers.get("retry-after", "1")))
    raise AssertionError(f"{method} {url}: still 429 after ten tries")


def everything_in_the_account(base_url: str) -> list[dict[str, Any]]:
    """Every task the account holds, every page, with a plain client."""
    found: list[dict[str, Any]] = []
    with httpx.Client(headers={"x-api-key": KEY}, timeout=10) as http:
        for page in range(1, 100):
            body = _unthrottled(http, "GET", f"{base_url}/tasks",
                                params={"page": page, "page_limit": 50}).json()
            found += body["data"]
            if not body["data"] or page >= body["page_info"]["total_page"]:
                return found
    raise AssertionError("the account's task list did not end")


def indexes_still_there(base_url: str, ledger: Path) -> list[str]:
    """The run's indexes that still exist (the API lists none, so each is asked for)."""
    entries = json.loads(ledger.read_text())["entries"]
    alive = []
    with httpx.Client(headers={"x-api-key": KEY}, timeout=10) as http:
        for entry in entries:
            if entry["kind"] == "index":
                answer = _unthrottled(http, "DELETE", f"{base_url}/indexes/{entry['id']}")
                if answer.status_code != 404:
                    alive.append(f"{entry['id']}: {answer.status_code}")
    return alive


@dataclass
class FinishedRun:
    target: Target
    cwd: Path
    code: int
    stdout: str
    stderr: str

    @property
    def reports(self) -> Path:
        return self.cwd / "reports"

    def summary(self) -> dict[str, Any]:
        return dict(json.loads((self.reports / "summary.json").read_text()))


@head_start.for_fixture("finished_runs")
def _finished_runs(root: Path) -> Iterator[dict[str, FinishedRun]]:
    """The two whole-suite runs, side by side to keep the wall time down: a nightly run with
    a budget of 8 tasks on a clean emulator, and a ci run (scenario and property tests)
    with failures, so that tracebacks and reproduce lines are produced too."""
    plans = {
        # The live-shaped self-test: the nightly profile under live rules whatever the host,
        # against an emulator that looks like the live API: 80 ms round trips, a 429 with
        # Retry-After now and then, and about 15 s from upload to ready.
        "nightly": (_serve(latency=0.08, time_scale=10.0, variations=("rate-limit",)),
                    ["--profile", "nightly", "--live-rules", "--rate", LIVE_RATE]),
        # Local variables in tracebacks too: the harshest place a key could surface.
        "ci": (_serve(faults=("refusal-wrong-code", "task-bad-status-enum")),
               ["--profile", "ci", "--", "--showlocals", "--tb=long"]),
    }
    started = {}
    for name, (target, options) in plans.items():
        cwd = root / name
        cwd.mkdir()
        command = ["run", "--base-url", target.base_url, "--report-dir", "reports", *options]
        started[name] = (target, cwd, _start(cwd, *command))
    runs = {}
    try:
        for name, (target, cwd, process) in started.items():
            out, err = process.communicate(timeout=420)
            runs[name] = FinishedRun(target, cwd, process.returncode, out, err)
        yield runs
    finally:
        for target, _cwd, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            target.server.stop()


@pytest.fixture(scope="module")
def finished_runs() -> Iterator[dict[str, FinishedRun]]:
    yield from head_start.take(_finished_runs)


@pytest.mark.slow
def test_a_live_shaped_nightly_run_passes_within_its_budgets(
        finished_runs: dict[str, FinishedRun], request: pytest.FixtureRequest) -> None:
    run = finished_runs["nightly"]
    summary = run.summary()
    assert run.code == 0, f"{summary.get('failed_clauses')}: {run.stdout[-3000:]}"
    assert summary["budget"]["tasks"] == BUDGET
    assert summary["settings"]["profile"] == "nightly"
    assert summary["settings"]["live_rules"] is True and summary["settings"]["rate"] == 10
    assert summary["rate_limited"] > 0  # the 429s were met, and waited out (RATE-LIMIT)
    assert summary["clauses"]["RATE-LIMIT"]["outcome"] == "passed"
    # Counted by the target itself: every create it accepted, from any part of the suite.
    assert 0 < run.target.counter.tasks <= LIVE_TASKS <= BUDGET, (
        f"the target accepted {run.target.counter.tasks} task creates (the run's own count: "
        f"{summary['spend']['tasks']}; notes: {summary['notes']})")
    assert run.target.counter.indexes == LIVE_INDEXES  # the temporary ones; none generated
    assert summary["requests"] <= LIVE_REQUESTS, summary["requests"]
    figures = (f"live-shaped nightly run: {summary['requests']} requests, "
               f"{summary['rate_limited']} 429s waited out, {run.target.counter.tasks} tasks "
               f"and {run.target.counter.indexes} indexes created, {summary['duration_s']:.0f} s "
               f"at {LIVE_RATE} req/s")
    request.node.user_properties.append(("figures", figures))
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            terminal.write_line(figures)


@pytest.mark.slow
def test_a_nightly_run_leaves_nothing_behind(finished_runs: dict[str, FinishedRun]) -> None:
    run = finished_runs["nightly"]
    assert run.target.counter.indexes > 0
    assert everything_in_the_account(run.target.base_url) == []
    assert indexes_still_there(run.target.base_url, run.reports / "ledger.json") == []
    assert run.summary()["cleanup_problems"] == []


@pytest.mark.slow
def test_a_whole_run_never_shows_the_key_in_any_file_or_on_the_console(
        finished_runs: dict[str, FinishedRun]) -> None:
    run = finished_runs["ci"]
    summary = run.summary()
    assert run.code == 1, run.stdout[-2000:]  # failures: tracebacks and curl lines were written
    categories = {c for t in summary["tests"] for c in t["categories"]}
    assert {"properties", "stateful", "client", "isolation"} <= categories
    # Every capability was configured; only the RATE-LIMIT self-check waits for a 429 the
    # clean emulator never sends.
    assert not any(t["outcome"] == "disabled" and t["clauses"] != ["RATE-LIMIT"]
                   for t in summary["tests"])
    produced = [p for p in run.cwd.rglob("*") if p.is_file()]
    names = {p.name for p in produced}
    assert {"report.html", "junit.xml", "summary.json", "ledger.json"} <= names
    for path in produced:
        data = path.read_bytes()
        for key in (KEY, SECOND_KEY):
            assert key.encode() not in data, f"a key appears in {path.relative_to(run.cwd)}"
    for stream in (run.stdout, run.stderr):
        for key in (KEY, SECOND_KEY):
            assert key not in stream
    assert "$TWELVELABS_API_KEY" in (run.reports / "report.html").read_text()


def test_a_killed_run_is_cleaned_completely_by_cleanup_with_its_ledger(
        tmp_path: Path) -> None:
    # Slow lifecycle: the pool's tasks are still indexing when the run is killed.
    target = _serve(time_scale=4.0)
    try:
        process = _start(tmp_path, "run", "--base-url", target.base_url, "--report-dir",
                         "reports", "--profile", "quick", "-m", "deletes or gone")
        ledger = tmp_path / "reports" / "ledger.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _tasks_in(ledger) < 3:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert _tasks_in(ledger) >= 3
        # SIGKILL: the run's own cleanup never runs (after a SIGINT it may finish within
        # any delay on loopback, and leave nothing to show).
        process.kill()
        process.communicate(timeout=30)
        left = everything_in_the_account(target.base_url)
        assert left, "nothing was left behind: the kill came too late to show anything"
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "cleanup", "--ledger", str(ledger),
             "--base-url", target.base_url], cwd=tmp_path, env=_env(), capture_output=True,
            text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "cleanup complete: nothing left" in done.stdout
        assert everything_in_the_account(target.base_url) == []
        assert indexes_still_there(target.base_url, ledger) == []
        assert KEY not in done.stdout + done.stderr
    finally:
        target.server.stop()


def _tasks_in(ledger: Path) -> int:
    try:
        entries = json.loads(ledger.read_text())["entries"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(1 for e in entries if e["kind"] == "task")
