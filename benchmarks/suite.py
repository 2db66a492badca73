"""Suite benchmark: wall time of `conformance run --profile ci` against the embedded emulator.

Runs the command as a user would (no target: the embedded emulator), N times, and prints the
wall time min/median against the 7 s goal (issue 16; a ratio below 1 meets it), the CPU time
the run used (on a busy machine wall time grows with the load, CPU time much less), the split
between the process around the session and the session itself, and the slowest tests from
junit.xml. `--against DIR` runs another checkout's venv (DIR/.venv/bin/conformance) in turn
with this one, so that both see the same load.
Run: .venv/bin/python benchmarks/suite.py [--runs 3] [--top 10] [--against ../main]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

TARGET_S = 7.0


def _command(venv_bin: Path) -> list[str]:
    script = venv_bin / "conformance"
    entry = [str(script)] if script.exists() else [str(venv_bin / "python"), "-m", "conformance"]
    return [*entry, "run", "--profile", "ci"]


def _environment() -> dict[str, str]:
    # A base URL or settings from the caller's shell would benchmark something else.
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}


@dataclass
class Timing:
    wall: float
    cpu: float
    code: int
    durations: dict[str, float]
    inside: float | None
    """Seconds of the pytest session (summary.json duration_s)."""


def one_run(workdir: Path, venv_bin: Path) -> Timing:
    """One run: wall and CPU seconds, exit code, per-test seconds from junit.xml."""
    reports = workdir / "reports"
    started = time.perf_counter()
    process = subprocess.Popen([*_command(venv_bin), "--report-dir", str(reports)], cwd=workdir,
                               env=_environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"  run exited {code} (reports: {reports})")
    durations: dict[str, float] = {}
    try:
        for case in ET.parse(reports / "junit.xml").iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            durations[name] = float(case.get("time") or 0.0)
    except (OSError, ET.ParseError):
        pass
    try:
        inside = float(json.loads((reports / "summary.json").read_text())["duration_s"])
    except (OSError, ValueError, KeyError):
        inside = None
    return Timing(wall, usage.ru_utime + usage.ru_stime, code, durations, inside)


def report(label: str, runs: list[Timing], top: int) -> None:
    walls = [r.wall for r in runs]
    best, median = min(walls), statistics.median(walls)
    cpu = statistics.median(r.cpu for r in runs)
    print(f"{label}: conformance run --profile ci (embedded emulator), {len(runs)} runs on "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"  wall min {best:.1f} s, median {median:.1f} s; goal {TARGET_S:.0f} s; ratio "
          f"{median / TARGET_S:.2f} (median/goal, at most 1 meets it); CPU {cpu:.1f} s")
    insides = [r.inside for r in runs if r.inside is not None]
    if insides:
        inner = statistics.median(insides)
        tests = statistics.median(sum(r.durations.values()) for r in runs)
        print(f"  split (median): process around the session (start-up, preflight, exit) "
              f"{median - inner:.1f} s, pytest session {inner:.1f} s, of which in tests "
              f"{tests:.1f} s (collection and reports: the rest)")
    per_test: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for name, seconds in run.durations.items():
            per_test[name].append(seconds)
    slowest = sorted(per_test.items(), key=lambda kv: -statistics.median(kv[1]))[:top]
    if slowest:
        print(f"  slowest {len(slowest)} tests (median s over runs, setup+call+teardown):")
        for name, times in slowest:
            print(f"    {statistics.median(times):6.2f}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout whose .venv runs in turn with this one")
    args = parser.parse_args()
    subjects = {"this checkout": Path(sys.executable).parent}
    if args.against is not None:
        subjects[str(args.against)] = args.against / ".venv" / "bin"
    timings: dict[str, list[Timing]] = {label: [] for label in subjects}
    for n in range(1, args.runs + 1):
        for label, venv_bin in subjects.items():
            with tempfile.TemporaryDirectory(prefix="suite-bench-") as scratch:
                run = one_run(Path(scratch), venv_bin)
            timings[label].append(run)
            print(f"run {n} ({label}): {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, exit "
                  f"{run.code}", flush=True)
    for label, runs in timings.items():
        report(label, runs, args.top)
    mine = timings["this checkout"]
    return 0 if all(r.code == 0 for r in mine) and \
        statistics.median(r.wall for r in mine) <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
