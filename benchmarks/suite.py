"""Suite benchmark: wall time of `conformance run --profile ci` against the embedded emulator.

Runs the command as a user would (no target: the embedded emulator), N times, and prints the
wall time min/median against the 60 s target (ratio below 1 is within it), the split between
start-up and the tests, and the slowest tests from junit.xml.
Run: .venv/bin/python benchmarks/suite.py [--runs 3] [--top 10]
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
from pathlib import Path

TARGET_S = 60.0


def _command() -> list[str]:
    script = Path(sys.executable).with_name("conformance")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "conformance"]
    return [*entry, "run", "--profile", "ci"]


def _environment() -> dict[str, str]:
    # A base URL or settings from the caller's shell would benchmark something else.
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}


def one_run(workdir: Path) -> tuple[float, int, dict[str, float], float | None]:
    """Wall seconds, exit code, per-test seconds from junit.xml, in-pytest seconds."""
    reports = workdir / "reports"
    started = time.perf_counter()
    done = subprocess.run([*_command(), "--report-dir", str(reports)], cwd=workdir,
                          env=_environment(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        print(f"  run exited {done.returncode}: {tail[0]} (reports: {reports})")
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
    return wall, done.returncode, durations, inside


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    walls: list[float] = []
    insides: list[float] = []
    per_test: dict[str, list[float]] = defaultdict(list)
    codes: list[int] = []
    test_sums: list[float] = []
    for n in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="suite-bench-") as scratch:
            wall, code, durations, inside = one_run(Path(scratch))
        walls.append(wall)
        codes.append(code)
        if inside is not None:
            insides.append(inside)
        test_sums.append(sum(durations.values()))
        for name, seconds in durations.items():
            per_test[name].append(seconds)
        print(f"run {n}: {wall:.1f} s wall, exit {code}", flush=True)
    best, median = min(walls), statistics.median(walls)
    print(f"conformance run --profile ci (embedded emulator), {args.runs} runs on "
          f"{os.cpu_count()} cores")
    print(f"  wall min {best:.1f} s, median {median:.1f} s; target {TARGET_S:.0f} s; "
          f"ratio {median / TARGET_S:.2f} (median/target, below 1 meets it)")
    if insides:
        inner = statistics.median(insides)
        print(f"  split (median): process start-up, preflight and exit {median - inner:.1f} s, "
              f"pytest session {inner:.1f} s, of which in tests "
              f"{statistics.median(test_sums):.1f} s (collection, provisioning in session "
              "fixtures and reports: the rest)")
    slowest = sorted(per_test.items(), key=lambda kv: -statistics.median(kv[1]))[:args.top]
    if slowest:
        print(f"  slowest {len(slowest)} tests (median s over runs, setup+call+teardown):")
        for name, times in slowest:
            print(f"    {statistics.median(times):6.2f}  {name}")
    return 0 if all(code == 0 for code in codes) and median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
