"""Our property tests against schemathesis' own CLI (``st run``): same spec, same emulator on a
loopback port, same schemathesis configuration and example count; prints wall time, requests
sent and time per request of each, and the ratio (target: ours within 1.5x of the CLI).

Run: ``.venv/bin/python benchmarks/properties.py [--examples N] [--repeat R]``. Requests are
counted at the emulator, so both sides are counted the same way; only the stateless phases
(coverage and fuzzing; the configuration turns the examples phase off) run on both sides.
"""

from __future__ import annotations

import argparse
import os
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


class Counter:
    """ASGI middleware counting the requests that reach the emulator."""

    def __init__(self, app: Any) -> None:
        self.app, self.count, self._lock = app, 0, threading.Lock()

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


def _ours(base_url: str, examples: int, work: Path) -> float:
    command = [sys.executable, "-m", "pytest", "-p", "conformance.run.plugin", "--pyargs",
               "conformance.suite", "-m", "properties", "--target-url", base_url,
               "--api-key", KEY, "--profile", "ci", "--report-dir", str(work / "ours"),
               "-p", "no:cacheprovider", "-q"]
    started = time.perf_counter()
    subprocess.run(command, cwd=work, env=_env(), capture_output=True, check=False)
    return time.perf_counter() - started


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


def _measure(side: str, examples: int) -> tuple[float, int]:
    counter = Counter(create_app(api_keys=[KEY], time_scale=0.001))
    server = start_in_thread(counter)  # type: ignore[arg-type]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = _ours if side == "ours" else _cli
            seconds = run(server.base_url, examples, Path(tmp))
    finally:
        server.stop()
    return seconds, counter.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=PROFILES["ci"].examples)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if args.examples != PROFILES["ci"].examples:
        print(f"only the ci profile's example count ({PROFILES['ci'].examples}) is supported "
              "on our side", file=sys.stderr)
        return 2
    rows = {}
    for side in ("cli", "ours"):
        times, counts = zip(*(_measure(side, args.examples) for _ in range(args.repeat)),
                            strict=True)
        seconds, requests = statistics.median(times), int(statistics.median(counts))
        rows[side] = (seconds, requests)
        print(f"{side:>4}: {seconds:6.2f} s wall, {requests:5d} requests, "
              f"{requests / seconds:7.1f} requests/s, {1000 * seconds / requests:6.2f} ms/request")
    ratio = (rows["ours"][0] / rows["ours"][1]) / (rows["cli"][0] / rows["cli"][1])
    verdict = "within" if ratio <= 1.5 else "OUTSIDE"
    print(f"ratio (ours / cli, time per request): {ratio:.2f} ({verdict} the 1.5x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
