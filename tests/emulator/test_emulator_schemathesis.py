"""schemathesis over specs/tasks.openapi.yaml finds no failure against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import head_start
import pytest
from emulator_support import Api

from conformance.emulator import DEFAULT_API_KEY, create_app
from conformance.emulator.server import start_in_thread
from conformance.spec import load_spec

SPEC = Path(__file__).parents[2] / "specs" / "tasks.openapi.yaml"
# The key reaches schemathesis through its OpenAPI-aware auth, so the "missing key" negative
# cases stay honest. Two operations are exempt from positive_data_acceptance because schema-valid
# requests are legitimately refused there: a create names an index that does not exist, and a
# delete of a just-created task is refused until the task is final (DEL-TERMINAL-ONLY).
CONFIG = f"""
[auth.openapi.x-api-key]
api_key = "{DEFAULT_API_KEY}"

[[operations]]
include-path = "/tasks"
include-method = "POST"
checks.negative_data_rejection.enabled = false
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path = "/tasks/{{task_id}}"
include-method = "DELETE"
checks.positive_data_acceptance.enabled = false
"""


@head_start.for_fixture("st_run")
def _st_run(root: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    running = start_in_thread(create_app())
    try:
        (root / "schemathesis.toml").write_text(CONFIG)
        st = Path(sys.executable).with_name("st")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS")}
        yield subprocess.run(
            [str(st), "run", str(SPEC), "--url", running.base_url, "--max-examples", "3",
             "--generation-deterministic", "--mode", "all", "--no-color"],
            cwd=root, env=env, capture_output=True, text=True, timeout=180, check=False)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def st_run() -> Iterator[subprocess.CompletedProcess[str]]:
    yield from head_start.take(_st_run)


@pytest.mark.skipif(not SPEC.exists(), reason="specs/tasks.openapi.yaml is not written yet")
def test_schemathesis_finds_no_failure_against_the_emulator(
        st_run: subprocess.CompletedProcess[str]) -> None:
    tail = "\n".join(st_run.stdout.splitlines()[-40:])
    assert st_run.returncode == 0, tail
    assert " passed" in tail and "failure" not in tail.split("SUMMARY")[-1], tail



def _numeric_list_parameters() -> list[tuple[str, dict]]:
    params = load_spec()["paths"]["/tasks"]["get"]["parameters"]
    return [(p["name"], p["schema"]) for p in params
            if p["schema"].get("type") in ("integer", "number")]


@pytest.mark.parametrize(("name", "schema"), _numeric_list_parameters(),
                         ids=[n for n, _ in _numeric_list_parameters()])
def test_list_accepts_exactly_the_numbers_the_spec_allows(api: Api, name: str,
                                                          schema: dict) -> None:
    low, high = schema["minimum"], schema["maximum"]
    for value in (low, high, *((f"{high}.0", f"{low}e0") if schema["type"] == "number" else ())):
        answer = api.list(**{name: value})
        assert answer.status_code == 200, (name, value, answer.text)
    for value in (low - 1, high + 1, 10**30, "1" + "0" * 5000, " 1", "1_0", "\u0661", ""):
        answer = api.list(**{name: value})
        assert answer.status_code == 400, (name, value, answer.text)
        assert answer.json()["code"] == "parameter_invalid"
