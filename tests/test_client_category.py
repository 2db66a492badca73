"""The client category through `conformance run -m client` against the real emulator.

Clean, it passes with the official SDK even when TWELVELABS_BASE_URL points elsewhere; with
faults that break what the SDK relies on, each client test fails naming its clause and the
client. A team's own adapter plugs in by `module:factory`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from conformance.clientlib import AdapterError, MisroutedRequest, RelayTransport, open_adapter
from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.settings import Secret
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY = "tlk_client_category_key_0123456789abcdef"
# Each breaks one thing the SDK relies on, and each is seen by a different client test.
SDK_FAULTS = {"refusal-wrong-code": "DEL-REFUSAL-CODE", "unknown-id-delete-204": "DEL-UNKNOWN",
              "task-bad-status-enum": "TASK-SHAPE", "list-never-empty-page": "LIST-PAGING"}
CLIENT_CLAUSES = {"DEL-204", "DEL-TERMINAL-ONLY", "DEL-VIDEO-FIRST", "DEL-REFUSAL-CODE",
                  "DEL-GONE", "DEL-UNKNOWN", "LIST-PAGING", "LIST-SHAPE", "TASK-SHAPE"}


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    faults = getattr(request, "param", ())
    server = start_in_thread(create_app(api_keys=[KEY], faults=faults))
    try:
        yield server
    finally:
        server.stop()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    return {**env, "TWELVELABS_API_KEY": KEY, **extra}


def _run_client(cwd: Path, base_url: str, *args: str,
                env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                             dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--base-url", base_url, "--profile",
         "quick", "--report-dir", "reports", "-m", "client", *args],
        cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=120, check=False)
    summary_file = cwd / "reports" / "summary.json"
    assert summary_file.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    return done, json.loads(summary_file.read_text())


def _client_tests(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["nodeid"].rsplit("::", 1)[-1]: t for t in summary["tests"]
            if "client" in t["categories"]}


def test_the_client_category_passes_against_the_clean_emulator_whatever_the_sdk_env_says(
        emulator: RunningServer, tmp_path: Path) -> None:
    # The SDK's own variable, pointing at a closed port, must not win over --base-url.
    env = _env(TWELVELABS_BASE_URL="http://127.0.0.1:9/v1.3")
    done, summary = _run_client(tmp_path, emulator.base_url, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    tests = _client_tests(summary)
    assert len(tests) == 8 and all(t["outcome"] == "passed" for t in tests.values()), tests
    outcomes = {cid: row["outcome"] for cid, row in summary["clauses"].items()}
    assert {cid for cid in CLIENT_CLAUSES if outcomes[cid] == "passed"} == CLIENT_CLAUSES
    assert "client under test: twelvelabs (official Python SDK) 1.3.6" in summary["notes"]
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert junit.count('name="client_version" value="1.3.6"') == 8
    assert "twelvelabs (official Python SDK) 1.3.6" in (tmp_path / "reports" /
                                                       "report.html").read_text()
    # Provisioning for the client category: the pool plus at most two tasks of its own.
    assert summary["spend"]["tasks"] <= 3 + 2


@pytest.mark.parametrize("emulator", [tuple(SDK_FAULTS)], indirect=True)
def test_each_fault_the_sdk_relies_on_fails_its_client_test_naming_clause_and_client(
        emulator: RunningServer, tmp_path: Path) -> None:
    done, summary = _run_client(tmp_path, emulator.base_url)
    assert done.returncode == 1, done.stdout[-3000:]
    tests = _client_tests(summary)
    failed = {name: t for name, t in tests.items() if t["outcome"] == "failed"}
    violated = {cid for t in failed.values() for cid in t["violated"]}
    assert violated == set(SDK_FAULTS.values()), failed
    assert len(failed) == len(SDK_FAULTS)  # one client test per fault, the others pass
    messages = _failure_messages(tmp_path / "reports" / "junit.xml")
    assert set(messages) == set(failed)
    for name, test in failed.items():
        clause = test["violated"][0]
        assert messages[name].startswith(f"[{clause}] client twelvelabs (official Python SDK) "
                                         "1.3.6: ")
    assert all(t["outcome"] == "passed" for n, t in tests.items() if n not in failed), tests
    assert set(summary["failed_clauses"]) == set(SDK_FAULTS.values())
    console = done.stdout
    assert "LIST-PAGING" in console and "never stops" in console


def _failure_messages(junit: Path) -> dict[str, str]:
    found = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            found[case.attrib["name"]] = failure.attrib["message"]
    return found


def test_a_bad_adapter_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--base-url", "http://127.0.0.1:9/v1.3",
         "--client-adapter", "no-colon-here"], cwd=tmp_path, env=_env(), capture_output=True,
        text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "conformance: client adapter 'no-colon-here' is not module:factory"]


PLAIN_ADAPTER = '''
"""A team's own client: plain httpx, written against the adapter interface."""
from conformance.clientlib import ClientError, RELAY_KEY


class PlainClientError(Exception):
    def __init__(self, response):
        self.response = response


class PlainAdapter:
    name = "plain-httpx-client"
    version = "0.1"

    def __init__(self, target):
        self._http = target.http_client
        self._base = target.base_url

    def _send(self, method, path, **kwargs):
        response = self._http.request(method, self._base + path,
                                      headers={"x-api-key": RELAY_KEY}, **kwargs)
        if response.status_code >= 400:
            raise PlainClientError(response)
        return response

    def retrieve_task(self, task_id):
        return self._send("GET", f"/tasks/{task_id}").json()

    def delete_task(self, task_id):
        self._send("DELETE", f"/tasks/{task_id}")

    def delete_video(self, index_id, video_id):
        self._send("DELETE", f"/indexes/{index_id}/videos/{video_id}")

    def iter_tasks(self, *, index_id, page_limit):
        page = 1
        while True:
            body = self._send("GET", "/tasks", params={"index_id": index_id, "page": page,
                                                       "page_limit": page_limit}).json()
            yield from body["data"]
            if page >= body["page_info"]["total_page"]:
                return
            page += 1

    def describe_error(self, exc):
        if isinstance(exc, PlainClientError):
            return ClientError("PlainClientError", exc.response.status_code,
                               exc.response.json().get("code"))
        return None

    def close(self):
        self._http.close()


def factory(target):
    return PlainAdapter(target)
'''


@pytest.mark.parametrize("emulator", [("list-never-empty-page",)], indirect=True)
def test_a_team_s_own_adapter_plugs_in_by_module_and_factory(emulator: RunningServer,
                                                             tmp_path: Path) -> None:
    # This client stops at total_page, so the fault that traps the SDK's pager does not
    # trap it: the verdict is the plugged-in client's, not the SDK's.
    (tmp_path / "team_client.py").write_text(textwrap.dedent(PLAIN_ADAPTER))
    done, summary = _run_client(tmp_path, emulator.base_url, "--client-adapter",
                                "team_client:factory")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "client under test: plain-httpx-client 0.1" in summary["notes"]
    assert all(t["outcome"] == "passed" for t in _client_tests(summary).values())


def test_an_adapter_that_cannot_be_loaded_is_named_in_one_line() -> None:
    api = ApiClient("http://127.0.0.1:9/v1.3", Secret(KEY), transcript=Transcript())
    try:
        with pytest.raises(AdapterError, match="no_such_module_xyz"):
            open_adapter("no_such_module_xyz:factory", api, Secret(KEY))
        with pytest.raises(AdapterError, match="has no callable nothing"):
            open_adapter("conformance.clientlib:nothing", api, Secret(KEY))
    finally:
        api.close()


def test_the_relay_refuses_a_request_outside_the_target_and_never_passes_the_key_on(
        emulator: RunningServer) -> None:
    transcript = Transcript()
    api = ApiClient(emulator.base_url, Secret(KEY), transcript=transcript)
    relay = httpx.Client(transport=RelayTransport(api))
    try:
        with pytest.raises(MisroutedRequest, match="outside the target"):
            relay.get("http://127.0.0.1:9/v1.3/tasks")
        answer = relay.get(emulator.base_url + "/tasks", params={"page_limit": 1},
                           headers={"x-api-key": "placeholder"})
        assert answer.status_code == 200  # the relay's own key went out, not the placeholder
        shown = json.dumps([e.__dict__ for e in transcript.since(0)])
        assert KEY not in shown and "$TWELVELABS_API_KEY" in shown
    finally:
        relay.close()
        api.close()
