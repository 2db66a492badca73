"""No false alarm on hints: a target that refuses a hint-breaking list query (width=-1,
page=0...) and one that answers it with a valid page both pass the generated list tests,
under the nightly profile's fresh generation, whatever the seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread

KEY = "tlk_hint_targets_key_2b8c41d7"
SEEDS = (11, 2024, 990001)


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, RunningServer]]:
    servers = {"refuses": start_in_thread(create_app(api_keys=[KEY])),
               "accepts": start_in_thread(create_app(api_keys=[KEY],
                                                     variations=["lenient-queries"]))}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", ["refuses", "accepts"])
def test_a_hint_breaking_list_query_may_be_refused_or_answered_under_nightly_generation(
        targets: dict[str, RunningServer], target: str, seed: int, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--base-url", targets[target].base_url,
         "--profile", "nightly", "--seed", str(seed), "--report-dir", str(tmp_path),
         # The list operation, where the hints live: 100 fresh examples and its coverage.
         "-k", "allows and tasks and not task_id and not post"],
        env={**env, "TWELVELABS_API_KEY": KEY}, capture_output=True, text=True, timeout=240,
        check=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert done.returncode == 0, (summary.get("failed_clauses"), done.stdout[-3000:])
    assert summary["seed"] == seed and summary["counts"]["passed"] == 1
    requests = (tmp_path / "properties-requests.jsonl").read_text().splitlines()
    hinted = [json.loads(line) for line in requests if "width=-" in line or "page=0" in line
              or "height=-" in line or "duration=-" in line]
    # Hint-breaking values were really sent, and answered the target's way.
    assert hinted, "no hint-breaking query was generated"
    expected = 400 if target == "refuses" else 200
    assert any(r["status"] == expected for r in hinted), {r["status"] for r in hinted}
