"""Suite runs, several at a time, from one warm process: the row runner of the fault matrix and
of benchmarks/mutants.py.

A forkserver process imports pytest, schemathesis, hypothesis, httpx, the official SDK, the
emulator and the suite's own modules once. Each row is a child forked from it (the forkserver
is single-threaded, so forking it is safe, unlike forking a pytest session whose other
threads hold locks): the child serves its emulator in a thread on a loopback port and calls
`conformance run`'s main in-process, in its own directory, with its own environment and its
output in ``run.log``. A row thus costs its run, not two interpreter start-ups and imports.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from pathlib import Path

PRELOAD = ["httpx", "pytest", "hypothesis", "schemathesis", "starlette", "uvicorn",
           "twelvelabs", "conformance.emulator", "conformance.emulator.server",
           "conformance.run.cli", "conformance.run.plugin", "conformance.properties.plugin",
           "conformance.checks", "conformance.resources.pool", "conformance.clientlib.adapter"]
"""What every row needs, imported once by the forkserver (a module that fails to import is
skipped there and imported by the row itself)."""
DROPPED_ENV = ("TWELVELABS_", "CONFORMANCE_", "PYTEST_")
CPU_FILE = "row-cpu.txt"
"""Where a row writes the CPU seconds it used (user + system)."""


@dataclass(frozen=True)
class Row:
    """One suite run against one emulator configuration."""

    workdir: Path
    keys: tuple[str, str]
    profile: str
    faults: tuple[str, ...] = ()
    variations: tuple[str, ...] = ()
    mutant: str | None = None
    time_scale: float = 1.0
    suite_args: tuple[str, ...] = ()
    environ: dict[str, str] = field(default_factory=dict)
    """Extra environment of the run (the caller's, minus the run's settings, is the rest)."""


def clean_environment(base: dict[str, str]) -> dict[str, str]:
    """The caller's environment without settings that would steer the emulator or the run."""
    return {k: v for k, v in base.items() if not k.startswith(DROPPED_ENV)}


_lock = threading.Lock()
_context: ForkServerContext | None = None


def _forkserver() -> ForkServerContext:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def run(row: Row, timeout: float) -> int | None:
    """Run the row in a child of the forkserver; its exit code, None when it overran."""
    context = _forkserver()
    env = {**clean_environment(dict(os.environ)), **row.environ,
           "TWELVELABS_API_KEY": row.keys[0], "TWELVELABS_SECOND_API_KEY": row.keys[1]}
    child = context.Process(target=_row, args=(row, env), daemon=True)
    with _lock:  # one start at a time: each start talks to the forkserver over a socket
        child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return child.exitcode


def cpu_seconds(workdir: Path) -> float | None:
    """The CPU seconds a finished row used, when it said."""
    try:
        return float((workdir / CPU_FILE).read_text())
    except (OSError, ValueError):
        return None


def _row(row: Row, env: dict[str, str]) -> None:
    """The child: its directory, environment and output, an emulator, the run; exits with the
    run's exit code (os._exit: the emulator's threads must not hold the child up)."""
    code = 3
    try:
        row.workdir.mkdir(parents=True, exist_ok=True)
        os.chdir(row.workdir)
        out = os.open("run.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.environ.clear()
        os.environ.update(env)
        from conformance.emulator import create_app
        from conformance.emulator.server import start_in_thread
        from conformance.run.cli import main

        server = start_in_thread(create_app(
            api_keys=row.keys, faults=row.faults, variations=row.variations,
            mutant=row.mutant, time_scale=row.time_scale))
        try:
            code = main(["run", "--base-url", server.base_url, "--profile", row.profile,
                         "--report-dir", str(row.workdir / "reports"), *row.suite_args])
        finally:
            server.stop(timeout=2.0)
    except BaseException as exc:  # the row's log says why; the exit code says it failed
        print(f"row runner: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        times = os.times()  # the row's own CPU seconds, for the benchmarks
        (row.workdir / CPU_FILE).write_text(f"{times.user + times.system:.3f}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def warm() -> None:
    """Start the forkserver now (its imports overlap whatever the caller does meanwhile)."""
    _forkserver()
    from multiprocessing import forkserver

    forkserver.ensure_running()
