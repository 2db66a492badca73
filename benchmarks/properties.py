"""Our property tests against schemathesis' own CLI (``st run``): same spec, same emulator on a
loopback port, same schemathesis configuration and example count; prints wall time, requests
sent and time per request of each, and their ratio measured in this one run beside its goal
(ours within 1.2x of the CLI per request).

Run: ``.venv/bin/python benchmarks/properties.py [--repeat R] [--via conformance|pytest]``.
Ours runs as users run it, ``conformance run -m properties`` (start-up, preflight and cleanup
included); ``--via pytest`` runs the same tests through plain ``pytest -p
conformance.run.plugin``, whose assertion rewriting re-parses every module of the pytest11
plugins (schemathesis, hypothesis) on each run when bytecode is not written
(PYTHONDONTWRITEBYTECODE). Requests are counted at the emulator, so both sides are counted the
same way; only the stateless phases (coverage and fuzzing; the configuration turns the
examples phase off) run on both sides. The sides alternate, and each figure is the median of
R runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread
from conformance.properties.generation import schemathesis_config
from conformance.settings import PROFILES, build_settings
from conformance.spec import spec_path

KEY = "tlk_benchmark_0123456789abcdef"
BIN = Path(sys.executable).parent
GOAL = 1.2
"""Ours per request at most this many times the CLI's (issue 16)."""


class Counter:
    """ASGI middleware counting the requests that reach the emulator."""

    def __init__(self, app: Any) -> None:
        self.app, self.count, self._lock = app, 0, threading.Lock()
        self.state = app.state  # the server reads the emulator's switches from it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.count += 1
        await self.app(scope, receive, send)


def _toml(value: Any) -> str:
    """Just enough TOML for the config dict (tables, arrays of tables, scalars, lists)."""
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v)

    def table(prefix: str, data: dict[str, Any], header: str | None) -> None:
        if header:
            lines.append(header)
        nested: list[tuple[str, Any]] = []
        for key, v in data.items():
            if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
                nested.append((key, v))
            else:
                lines.append(f'"{key}" = {scalar(v)}')
        for key, v in nested:
            name = f'{prefix}"{key}"'
            if isinstance(v, dict):
                table(name + ".", v, f"[{name}]")
            else:
                for item in v:
                    table(name + ".", item, f"[[{name}]]")

    table("", value, None)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we write must parse
    return text


def _ours(base_url: str, examples: int, work: Path, via: str) -> float:
    if via == "pytest":
        command = [sys.executable, "-m", "pytest", "-p", "conformance.run.plugin", "--pyargs",
                   "conformance.suite", "-m", "properties", "--target-url", base_url,
                   "--profile", "ci", "--report-dir", str(work / "ours"),
                   "-p", "no:cacheprovider", "-q"]
    else:
        command = [str(BIN / "conformance"), "run", "--base-url", base_url, "-m", "properties",
                   "--profile", "ci", "--report-dir", str(work / "ours")]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env={**_env(), "TWELVELABS_API_KEY": KEY},
                          capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"our run failed (exit {done.returncode}): "
                         f"{done.stdout.decode(errors='replace')[-2000:]}")
    return seconds


def _cli(base_url: str, examples: int, work: Path) -> float:
    settings = replace(build_settings({"base_url": base_url, "api_key": KEY,
                                       "report_dir": str(work / "cli")}, environ={}),
                       profile=replace(PROFILES["ci"], examples=examples))
    config = schemathesis_config(settings)
    # The key goes in through the environment, never into a file (trap 13: the variable is set).
    config["auth"]["openapi"]["x-api-key"]["api_key"] = "${BENCH_API_KEY}"
    path = work / "schemathesis.toml"
    path.write_text(_toml(config), encoding="utf-8")
    command = [str(BIN / "st"), "--config-file", str(path), "run", str(spec_path()),
               "--url", base_url, "--phases", "coverage,fuzzing", "--workers", "1",
               "--max-examples", str(examples)]
    started = time.perf_counter()
    subprocess.run(command, cwd=work, env={**_env(), "BENCH_API_KEY": KEY},
                   capture_output=True, check=False)
    return time.perf_counter() - started


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _measure(side: str, examples: int, via: str) -> tuple[float, int, float]:
    """Wall seconds, requests at the emulator, and the CPU seconds of the side's process (a
    figure the machine's other load moves less than wall time)."""
    counter = Counter(create_app(api_keys=[KEY], time_scale=0.001))
    server = start_in_thread(counter)  # type: ignore[arg-type]
    cpu = _cpu()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if side == "ours":
                seconds = _ours(server.base_url, examples, Path(tmp), via)
            else:
                seconds = _cli(server.base_url, examples, Path(tmp))
    finally:
        server.stop()
    return seconds, counter.count, _cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=PROFILES["ci"].examples)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--via", choices=("conformance", "pytest"), default="conformance",
                        help="how ours is run (see the module docstring)")
    args = parser.parse_args(argv)
    if args.examples != PROFILES["ci"].examples:
        print(f"only the ci profile's example count ({PROFILES['ci'].examples}) is supported "
              "on our side", file=sys.stderr)
        return 2
    measured: dict[str, list[tuple[float, int, float]]] = {"cli": [], "ours": []}
    for _ in range(args.repeat):  # alternating, so a change in the machine's load hits both
        for side in measured:
            measured[side].append(_measure(side, args.examples, args.via))
    rows = {}
    for side, runs in measured.items():
        times, counts, cpus = zip(*runs, strict=True)
        seconds, requests = statistics.median(times), int(statistics.median(counts))
        cpu = statistics.median(cpus)
        rows[side] = (seconds, requests, cpu)
        label = "cli" if side == "cli" else f"ours ({args.via})"
        print(f"{label:>18}: {seconds:6.2f} s wall, {requests:5d} requests, "
              f"{requests / seconds:7.1f} requests/s, {1000 * seconds / requests:6.2f} ms/request"
              f" ({1000 * cpu / requests:5.2f} ms CPU/request)")
    ratio = (rows["ours"][0] / rows["ours"][1]) / (rows["cli"][0] / rows["cli"][1])
    cpu_ratio = (rows["ours"][2] / rows["ours"][1]) / (rows["cli"][2] / rows["cli"][1])
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"CPU of the test process per request, ours / st run: {cpu_ratio:.2f}x")
    print(f"property tests per request, ours / st run: {ratio:.2f}x (goal <= {GOAL}x: "
          f"{verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
