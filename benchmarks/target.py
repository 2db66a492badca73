"""An emulator process made to look like a given target, and one `conformance run` against it.

Shared by the benchmarks that time whole runs against a live-shaped or slow-indexing
emulator: the emulator runs as its own process, as a user's target would, and the suite as
the `conformance` command with nothing of the caller's environment but what is set here.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _environment(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    return {**base, **extra}


@contextmanager
def emulator(workdir: Path, keys: Sequence[str], *args: str) -> Iterator[str]:
    """An emulator process on a free loopback port; yields its base URL."""
    log = workdir / "emulator.log"
    env = _environment({"CONFORMANCE_EMULATOR_API_KEYS": ",".join(keys)})
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "conformance.emulator", "--port", "0",
                                    *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=workdir, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("emulator ready at "):
                    yield line.removeprefix("emulator ready at ").strip()
                    return
            if process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"emulator did not start: {log.read_text(errors='replace')[-300:]}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Run:
    code: int
    wall: float
    summary: dict[str, Any]

    @property
    def requests(self) -> int:
        return int(self.summary.get("requests") or 0)


def run_suite(workdir: Path, emulator_args: Sequence[str], suite_args: Sequence[str]) -> Run:
    """Start the emulator with ``emulator_args``, run the suite with ``suite_args``."""
    keys = [f"bench-{secrets.token_hex(12)}", f"bench-{secrets.token_hex(12)}"]
    reports = workdir / "reports"
    script = Path(sys.executable).with_name("conformance")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "conformance"]
    with emulator(workdir, keys, *emulator_args) as base_url:
        started = time.perf_counter()
        done = subprocess.run(
            [*entry, "run", "--base-url", base_url, "--report-dir", str(reports), *suite_args],
            cwd=workdir, env=_environment({"TWELVELABS_API_KEY": keys[0],
                                           "TWELVELABS_SECOND_API_KEY": keys[1]}),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        wall = time.perf_counter() - started
    try:
        summary = json.loads((reports / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {"notes": [done.stderr.strip()[-300:]]}
    return Run(done.returncode, wall, summary)
