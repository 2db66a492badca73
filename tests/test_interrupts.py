"""Ctrl-C and SIGTERM at every phase of a real run: cleanup completes, or exactly what is left
is listed (console, summary.json, report.html) with the one command that removes it.

Each row starts the emulator as a process on a loopback port, runs `conformance run` against it
in a subprocess, sends real signals once the console shows the phase, and then counts, as the
owner through the public API, what the run left on the emulator: the tasks and indexes by ID,
the videos by each index's ``video_count``. The table is printed at the end (and written to
``$CONFORMANCE_INTERRUPT_TABLE`` when set).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import head_start
import httpx
import pytest

KEYS = ("tlk_interrupts_first_0123456789abcd", "tlk_interrupts_second_0123456789abc")
SELECTION = ("--profile", "quick", "-m", "properties or deletes or gone")
"""The pool (an index, four tasks), its deletes, and generated creates (tasks and indexes)."""
ONLY_GENERATED = ("--profile", "quick", "-m", "properties")
"""Generated creates only: cleanup comes while their tasks still index."""


@dataclass(frozen=True)
class Row:
    phase: str
    """provisioning, tests, cleanup, or cleanup-wait (the run's tasks live in a configured
    index, which cleanup never deletes: it must wait for them to become final; only generated
    tests run, so cleanup comes while their tasks still index)."""
    signals: int
    signal: signal.Signals = signal.SIGINT

    @property
    def marker(self) -> str:
        return {"provisioning": "waiting for", "tests": "test_20_properties.py",
                "cleanup": "cleanup: removing", "cleanup-wait": "cleanup: waiting"}[self.phase]

    def __str__(self) -> str:
        return f"{self.phase} x{self.signals} {self.signal.name}"

    @property
    def emulator(self) -> tuple[str, ...]:
        """Indexing ~4.5 s: the pool is waited for long enough to be interrupted; 30 ms per
        answer makes cleanup's requests visible. Cleanup waiting: the emulator's clock stands
        still (``freeze``), so the generated tasks still index when the tests are done, however
        loaded the machine."""
        if self.phase == "cleanup-wait":
            return ()
        return ("--time-scale", "3", "--latency", "0.03")


ROWS = [Row(phase, n) for phase in ("provisioning", "tests", "cleanup", "cleanup-wait")
        for n in (1, 2)]
ROWS += [Row("provisioning", 1, signal.SIGTERM), Row("cleanup-wait", 2, signal.SIGTERM)]
TABLE: list[str] = []


class Emulator:
    """An emulator process; what its first account holds, read as the owner."""

    def __init__(self, workdir: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}
        self.log = workdir / "emulator.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "conformance", "emulator", "--port", "0",
                 "--list-indexes", *args],
                env={**env, "CONFORMANCE_EMULATOR_API_KEYS": ",".join(KEYS)},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "emulator ready at " in text:
                self.base_url = text.split("emulator ready at ")[1].split()[0]
                self.owner = httpx.Client(base_url=self.base_url, trust_env=False,
                                          headers={"x-api-key": KEYS[0]})
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the emulator did not start: {text[-500:]}")

    def stop(self) -> None:
        if hasattr(self, "owner"):
            self.owner.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self.owner.get(path, params={"page": page, "page_limit": 50}).json()
            yield from body["data"]
            if page >= body["page_info"]["total_page"]:
                return
            page += 1

    def holdings(self) -> tuple[set[str], dict[str, int]]:
        """The account's task IDs, and its indexes by ID with their number of videos."""
        return ({t["_id"] for t in self._pages("/tasks")},
                {i["_id"]: i["video_count"] for i in self._pages("/indexes")})

    def clock(self, **move: float) -> None:
        """Move the emulator's clock through its control plane (the harness's, never the
        suite's): ``scale=0`` stops it, ``advance=seconds`` jumps ahead."""
        self.owner.post(self.base_url.rsplit("/v1.3", 1)[0] + "/_emulator/clock",
                        json=move).raise_for_status()

    def own_index(self) -> str:
        answer = self.owner.post("/indexes", json={
            "index_name": "the-owner-s-own", "models": [{"model_name": "marengo3.0",
                                                         "model_options": ["visual"]}]})
        return str(answer.json()["_id"])


@dataclass
class Interrupted:
    code: int
    console: str
    summary: dict[str, Any]
    reports: Path
    cleanup_code: int | None = None
    left: dict[str, Any] = field(default_factory=dict)


def _interrupt(emulator: Emulator, workdir: Path, row: Row, own_index: str | None) -> Interrupted:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}
    env.update(TWELVELABS_API_KEY=KEYS[0], TWELVELABS_SECOND_API_KEY=KEYS[1],
               PYTHONUNBUFFERED="1")
    extra = ["--index-id", own_index, *ONLY_GENERATED] if own_index else [*SELECTION]
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--base-url", emulator.base_url,
         "--report-dir", "reports", *extra], cwd=workdir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen: list[str] = []

    def read() -> None:  # the console's lines need not end before the phase begins
        assert process.stdout is not None
        while chunk := os.read(process.stdout.fileno(), 4096):
            seen.append(chunk.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 180
    while row.marker not in "".join(seen) and process.poll() is None:
        assert time.monotonic() < deadline, f"{row}: the phase never came: {''.join(seen)[-2000:]}"
        time.sleep(0.02)
    assert process.poll() is None, f"{row}: the run ended first: {''.join(seen)[-2000:]}"
    for n in range(row.signals):
        if n:
            time.sleep(0.05)
        process.send_signal(row.signal)
    code = process.wait(180)
    reader.join(10)
    assert process.stdout is not None
    process.stdout.close()
    reports = workdir / "reports"
    summary = json.loads((reports / "summary.json").read_text())
    return Interrupted(code, "".join(seen), summary, reports)


@dataclass
class Started:
    """One row's emulator and what its interrupted run did (or why it could not be done)."""

    emulator: Emulator
    workdir: Path
    own_index: str | None
    run: Interrupted | None = None
    problem: BaseException | None = None


def _start_row(row: Row, workdir: Path) -> Started:
    workdir.mkdir()
    emulator = Emulator(workdir, *row.emulator)
    started = Started(emulator, workdir, None)
    try:
        started.own_index = emulator.own_index() if row.phase == "cleanup-wait" else None
        if started.own_index:
            emulator.clock(scale=0)  # no task of the run becomes final until the end
        started.run = _interrupt(emulator, workdir, row, started.own_index)
    except BaseException as problem:  # the row's test shows it
        started.problem = problem
    return started


@head_start.for_fixture("interrupted")
def _interrupted(root: Path) -> Iterator[dict[str, Started]]:
    """Every row's run, three at a time: each is a process that mostly waits for its phase."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {str(row): pool.submit(_start_row, row, root / f"row-{n}")
                   for n, row in enumerate(ROWS)}
        rows = {name: future.result() for name, future in futures.items()}
    try:
        yield rows
    finally:
        for started in rows.values():
            started.emulator.stop()


@pytest.fixture(scope="module")
def interrupted() -> Iterator[dict[str, Started]]:
    yield from head_start.take(_interrupted)


@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_an_interrupt_leaves_nothing_or_exactly_what_the_reports_list(
        row: Row, interrupted: dict[str, Started]) -> None:
    started = interrupted[str(row)]
    if started.problem is not None:
        raise started.problem
    emulator, own_index, run, workdir = (started.emulator, started.own_index, started.run,
                                          started.workdir)
    assert run is not None
    assert run.code == 130, f"{row}: exit {run.code}\n{run.console[-3000:]}"
    summary = run.summary
    assert summary["verdict"] == "interrupted" and summary["exit_code"] == 130
    assert summary["interrupted"]["signal"] == row.signal.name
    assert {"report.html", "junit.xml", "summary.json"} <= {
        p.name for p in run.reports.iterdir()}
    tasks, indexes = emulator.holdings()
    indexes.pop(own_index or "", None)
    videos = sum(indexes.values())
    listed = summary["leftovers"]["items"]
    sure = [i for i in listed if i["state"] != "unconfirmed"]
    unsure = {i["id"] for i in listed if i["state"] == "unconfirmed"}
    # What the target still holds is listed, by ID; what is listed as left is there.
    assert tasks == {i["id"] for i in sure if i["kind"] == "task"}, row
    assert set(indexes) == {i["id"] for i in sure if i["kind"] == "index"}, row
    assert not (unsure & (tasks | set(indexes))), row
    unfinished = {i["id"] for i in sure if i["kind"] == "task" and i.get("status")}
    existing = [i for i in sure if i["kind"] == "video"
                and i["parents"].get("task_id") not in unfinished]
    assert videos <= len(existing) + len(unfinished), row
    page = (run.reports / "report.html").read_text()
    assert 'data-jsonblob="' in page and '<title id="head-title">interrupted: ' in page
    if listed:
        command = summary["leftovers"]["command"]
        assert command and command in run.console and "left on the target" in page
    else:
        assert summary["interrupted"]["cleanup"] == "cleanup completed, nothing left"
    left = f"{len(tasks)} tasks, {len(indexes)} indexes, {videos} videos"
    # The one command removes it all.
    if listed:
        if own_index:
            emulator.clock(scale=1, advance=3600)  # every task final: deletable now
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "cleanup", "--ledger",
             str(run.reports / "ledger.json"), "--base-url", emulator.base_url],
            cwd=workdir, capture_output=True, text=True, timeout=180, check=False,
            env={**os.environ, "TWELVELABS_API_KEY": KEYS[0]})
        assert done.returncode == 0, done.stdout + done.stderr
        tasks, indexes = emulator.holdings()
        indexes.pop(own_index or "", None)
        assert (tasks, indexes) == (set(), {}), row
    TABLE.append(f"| {row.phase} | {row.signals} x {row.signal.name} | "
                 f"{summary['interrupted']['phase']} | {left} | "
                 f"{summary['interrupted']['cleanup']} | "
                 f"{'0 after it' if listed else '-'} |")


def teardown_module() -> None:
    if not TABLE:
        return
    lines = ["| phase | signals | the run says it was in | left on the emulator (as the "
             "owner reads it) | what summary.json, the console and report.html say | "
             "conformance cleanup --ledger |", "|---|---|---|---|---|---|",
             *TABLE]
    print("\n" + "\n".join(lines))
    target = os.environ.get("CONFORMANCE_INTERRUPT_TABLE")
    if target:
        Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
