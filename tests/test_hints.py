"""No false alarm on hints: a target that refuses a hint-breaking list query (width=-1,
page=0...) and one that answers it with a valid page both pass the generated list tests,
under the nightly profile's fresh generation, whatever the seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import head_start
import pytest

from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread

KEY = "tlk_hint_targets_key_2b8c41d7"
SEEDS = (11, 2024, 990001)


@head_start.for_fixture("runs")
def _runs(root: Path) -> Iterator[dict[tuple[str, int], dict[str, Any]]]:
    """Each target with each seed, every run against the same two emulators."""
    servers = {"refuses": start_in_thread(create_app(api_keys=[KEY])),
               "accepts": start_in_thread(create_app(api_keys=[KEY],
                                                     variations=["lenient-queries"]))}
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {(target, seed): pool.submit(_run, server.base_url, seed,
                                                    root / f"{target}-{seed}")
                       for target, server in servers.items() for seed in SEEDS}
            yield {key: future.result() for key, future in futures.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[tuple[str, int], dict[str, Any]]]:
    yield from head_start.take(_runs)


def _run(base_url: str, seed: int, where: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
         "--profile", "nightly", "--seed", str(seed), "--report-dir", str(where),
         # The list operation, where the hints live: 100 fresh examples and its coverage.
         "-k", "allows and tasks and not task_id and not post"],
        env={**env, "TWELVELABS_API_KEY": KEY}, capture_output=True, text=True, timeout=240,
        check=False)
    return {"code": done.returncode, "output": done.stdout[-3000:],
            "summary": json.loads((where / "summary.json").read_text()),
            "requests": (where / "properties-requests.jsonl").read_text().splitlines()}


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", ["refuses", "accepts"])
def test_a_hint_breaking_list_query_may_be_refused_or_answered_under_nightly_generation(
        runs: dict[tuple[str, int], dict[str, Any]], target: str, seed: int) -> None:
    run = runs[target, seed]
    summary = run["summary"]
    assert run["code"] == 0, (summary.get("failed_clauses"), run["output"])
    assert summary["seed"] == seed and summary["counts"]["passed"] == 1
    hinted = [json.loads(line) for line in run["requests"] if "width=-" in line
              or "page=0" in line or "height=-" in line or "duration=-" in line]
    # Hint-breaking values were really sent, and answered the target's way.
    assert hinted, "no hint-breaking query was generated"
    expected = 400 if target == "refuses" else 200
    assert any(r["status"] == expected for r in hinted), {r["status"] for r in hinted}
