"""The clean run many of the project's tests read: `conformance run` with no target (the
embedded emulator), started when collection ends (head_start.py); the ``clean_run`` fixture
of tests/conftest.py hands it over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import head_start


@dataclass(frozen=True)
class CleanRun:
    """`conformance run` as a new user types it: no target, the embedded emulator."""

    code: int
    output: str
    reports: Path

    def summary(self) -> dict[str, Any]:
        return dict(json.loads((self.reports / "summary.json").read_text()))


@head_start.for_fixture("clean_run", shared=True)
def starts_clean_run(root: Path) -> Iterator[CleanRun]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-m", "conformance", "run"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    yield CleanRun(done.returncode, done.stdout[-3000:] + done.stderr[-2000:],
                   root / "reports")
