"""The property and stateful tests run for real: the suite in a pytest subprocess against the
emulator on a loopback port, clean and with the faults only generated requests find."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import head_start
import pytest

from conformance.clauses import ContractViolation
from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread
from conformance.properties.generation import load_schema
from conformance.properties.guard import IMPOSSIBLE_PREFIX, LOOPBACK_TASK_ALLOWANCE, MARKER_NUMBERS
from conformance.properties.hints import HINTS_KEY, breaks_only_hints, contract_view
from conformance.properties.judging import clause_for, contract_checks
from conformance.resources.cleanup import UPLOAD_MARKER
from conformance.resources.errors import BudgetExceeded
from conformance.resources.ledger import Ledger
from conformance.resources.media import sample_video
from conformance.resources.provisioning import Provisioner
from conformance.settings import Secret, Settings
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY = "tlk_property_tests_0123456789abcdef"
# A fast emulator clock: every task is final before the next request, so generated sequences
# meet accepted deletes (and runs do not depend on how fast this machine is).
TIME_SCALE = 0.001
FAULTS = {  # fault -> what the run must report, and the tests it must fail
    "server-error-on-bad-query": ("NO-5XX", "properties"),
    "duration-as-string": ("TASK-SHAPE", "stateful"),
    "deleted-task-still-retrievable": ("DEL-GONE", "stateful"),
}
_ID = re.compile(r"[0-9a-f]{24}")


def _suite(base_url: str, report_dir: Path, profile: str, marks: str) -> dict[str, Any]:
    """One run of the real suite in its own process; its summary, JUnit and request log."""
    command = [sys.executable, "-m", "pytest", "-p", "conformance.run.plugin", "--pyargs",
               "conformance.suite", "-m", marks, "--target-url", base_url, "--api-key", KEY,
               "--profile", profile, "--report-dir", str(report_dir), "-p", "no:cacheprovider",
               "-q", "-W", "error"]
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                          cwd=report_dir.parent, env=environment, check=False)
    return {"code": done.returncode, "output": done.stdout + done.stderr,
            "summary": json.loads((report_dir / "summary.json").read_text()),
            "junit": (report_dir / "junit.xml").read_text(),
            "html": (report_dir / "report.html").read_text(),
            "requests": (report_dir / "properties-requests.jsonl").read_text().splitlines(),
            "ledger": json.loads((report_dir / "ledger.json").read_text())}


@head_start.for_fixture("runs")
def _runs(root: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """All runs at once (2 cores): two clean ci runs on two emulators, one per fault (quick
    for what the stateless examples find, ci for what only call sequences reach)."""
    plans: list[tuple[str, tuple[str, ...], str]] = [("clean-1", (), "ci"),
                                                     ("clean-2", (), "ci")]
    plans += [(fault, (fault,), "ci" if test == "stateful" else "quick")
              for fault, (_, test) in FAULTS.items()]
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=len(plans)) as pool:
        futures = {}
        for name, faults, profile in plans:
            server = start_in_thread(create_app(api_keys=[KEY], faults=faults,
                                                time_scale=TIME_SCALE))
            stack.callback(server.stop)
            where = root / name / "reports"
            where.parent.mkdir()
            futures[name] = pool.submit(_suite, server.base_url, where, profile,
                                        "properties or stateful")
        yield {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, dict[str, Any]]]:
    yield from head_start.take(_runs)


def _request_lines(run: dict[str, Any]) -> list[str]:
    """Method and URL of each request, with the IDs this run created numbered in order."""
    created = {entry["id"] for entry in run["ledger"]["entries"]}
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        found = match.group()
        if found not in created:
            return found
        return names.setdefault(found, f"<created-{len(names) + 1}>")

    lines = []
    for line in run["requests"]:
        request = json.loads(line)
        lines.append(_ID.sub(name, f"{request['method']} {request['url'].split('/v1.3', 1)[1]}"))
    return lines


def test_clean_emulator_passes_property_and_stateful_tests_in_ci_profile(runs: Any) -> None:
    run = runs["clean-1"]
    assert run["code"] == 0, run["output"][-3000:]
    junit = ET.fromstring(run["junit"])
    names = [case.get("name") for case in junit.iter("testcase")]
    assert len(names) == 8 and len(set(names)) == 8, names  # one row per operation + stateful
    assert "test_generated_call_sequences_keep_the_contract" in names
    assert len(run["requests"]) > 300  # generation really happened


def test_two_ci_runs_send_the_same_requests(runs: Any) -> None:
    first, second = _request_lines(runs["clean-1"]), _request_lines(runs["clean-2"])
    assert first == second
    assert any("<created-" in line for line in first)  # sequences used created resources


def test_property_tests_create_only_within_the_allowance_and_clean_up(runs: Any) -> None:
    entries = runs["clean-1"]["ledger"]["entries"]
    tasks = [e for e in entries if e["kind"] == "task"]
    assert 0 < len(tasks) <= LOOPBACK_TASK_ALLOWANCE
    assert all(e["state"] == "deleted" for e in entries), [e for e in entries
                                                            if e["state"] != "deleted"]


def test_generated_path_ids_are_this_runs_or_cannot_exist(runs: Any) -> None:
    created = {e["id"] for e in runs["clean-1"]["ledger"]["entries"]}
    for line in runs["clean-1"]["requests"]:
        request = json.loads(line)
        if request["method"] != "DELETE":
            continue
        for found in re.findall(r"[0-9a-fA-F]{24,}", request["url"].split("/v1.3", 1)[1]):
            assert found in created or found.startswith(IMPOSSIBLE_PREFIX), request


def test_property_made_tasks_carry_the_runs_marker_so_the_sweep_finds_them(runs: Any) -> None:
    run = runs["clean-1"]
    run_id = run["summary"]["run_id"]
    text = html.unescape(html.unescape(run["html"]))
    names = set(re.findall(r'"filename": ?"([^"]*)"', text))
    ours = {n for n in names if n.startswith(f"conformance-{run_id}-")
            and int(n.rsplit("-", 1)[1].split(".")[0]) > MARKER_NUMBERS}
    assert ours, sorted(names)[:20]  # the target recorded property-made uploads by marker
    assert all(UPLOAD_MARKER.match(n) for n in ours), sorted(ours)
    assert all(UPLOAD_MARKER.match(n) for n in names if n.startswith("conformance-")), names


def test_key_never_reaches_the_reports(runs: Any) -> None:
    run = runs["clean-1"]
    for text in (run["junit"], run["html"], "\n".join(run["requests"]), run["output"]):
        assert KEY not in text


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_found_only_by_generation_fails_naming_its_clause(runs: Any, fault: str) -> None:
    clause, test = FAULTS[fault]
    run = runs[fault]
    assert run["code"] == 1, run["output"][-3000:]
    junit = ET.fromstring(run["junit"])
    violated = {p.get("value") for p in junit.iter("property")
                if p.get("name") == "violated_clause"}
    assert clause in violated, (violated, run["output"][-3000:])
    failed = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    marker = "call_sequences" if test == "stateful" else "generated_requests"
    assert any(marker in (c.get("name") or "") for c in failed)
    # The failing exchange and its reproduction are in the JUnit failure text and the HTML.
    text = "".join(c.find("failure").text or "" for c in failed)  # type: ignore[union-attr]
    assert "curl" in text and "curl" in run["html"] and clause in run["html"]


def test_builtin_check_failures_map_to_clauses() -> None:
    assert clause_for("not_a_server_error", "listTasks", 500) == "NO-5XX"
    assert clause_for("status_code_conformance", "deleteTask", 200, made=True) == "DEL-204"
    # A 2xx for an ID the run never made is DEL-UNKNOWN's, named by the contract checks.
    assert clause_for("status_code_conformance", "deleteTask", 200) is None
    assert clause_for("response_schema_conformance", "retrieveTask", 200) == \
        "TASK-SHAPE"
    assert clause_for("response_schema_conformance", "listTasks", 200) == "LIST-SHAPE"
    assert clause_for("response_schema_conformance", "deleteTask", 404) == \
        "ERR-ENVELOPE"
    assert clause_for("use_after_free", "retrieveTask", 200) == "DEL-GONE"
    assert clause_for("ignored_auth", "deleteTask", 204) == "AUTH-REQUIRED"
    assert clause_for("negative_data_rejection", "deleteTask", 204) == \
        "DEL-MALFORMED"
    assert clause_for("negative_data_rejection", "createTask", 200) == \
        "CREATE-REJECTS"


def test_operations_without_a_clause_of_their_own_are_judged_by_none_but_no_5xx_and_envelope(
        ) -> None:
    # Index creation is provisioning only: any 2xx with _id will do (200 included).
    for check in ("status_code_conformance", "response_schema_conformance",
                  "positive_data_acceptance", "content_type_conformance"):
        assert clause_for(check, "createIndex", 200) is None, check
    # Only DELETE /tasks/{id} has clauses for malformed and unknown IDs; what retrieve and the
    # video and index deletes answer an ID that cannot exist is a hint's business.
    for op in ("retrieveTask", "deleteVideo", "deleteIndex"):
        assert clause_for("negative_data_rejection", op, 204) is None, op
        assert clause_for("positive_data_acceptance", op, 403) is None, op
    assert clause_for("positive_data_acceptance", "retrieveTask", 403, own=True) == "TASK-SHAPE"
    # A server error and a 4xx body stay NO-5XX's and ERR-ENVELOPE's on every operation.
    for op in ("createIndex", "deleteVideo", "deleteIndex", "retrieveTask"):
        assert clause_for("negative_data_rejection", op, 500) == "NO-5XX"
        assert clause_for("response_schema_conformance", op, 404) == "ERR-ENVELOPE"


def test_a_delete_of_the_run_s_own_task_is_never_blamed_as_an_unknown_id() -> None:
    # An undocumented refusal (409) of an ID that never existed is DEL-UNKNOWN's; of the
    # run's live task its status decides the clause (the scenario tests judge each status);
    # of a task the run deleted, a second delete: DEL-GONE's.
    assert clause_for("positive_data_acceptance", "deleteTask", 409) == "DEL-UNKNOWN"
    assert clause_for("positive_data_acceptance", "deleteTask", 409, own=True,
                      made=True) is None
    assert clause_for("positive_data_acceptance", "deleteTask", 409, made=True) == "DEL-GONE"


def _case(task_id: str) -> Any:
    return type("Case", (), {"path_parameters": {"task_id": task_id}})()


def _answered(status: int) -> Any:
    request = type("Request", (), {"method": "DELETE", "url": "http://127.0.0.1/v1.3/tasks/x"})()
    return type("Answer", (), {"status_code": status, "headers": {},
                               "content": b"" if status == 204 else b"{}",
                               "request": request})()


def test_a_2xx_for_a_task_id_that_never_existed_is_del_unknown_s_not_del_204_s() -> None:
    made = {"a" * 24}
    check = next(c for c in contract_checks("deleteTask", None, None, made)
                 if c.__name__ == "delete_answer_is_204_without_body")
    with pytest.raises(ContractViolation) as never:
        check(None, _answered(200), _case("ffffffff" + "0" * 16))
    assert never.value.clause_id == "DEL-UNKNOWN"
    with pytest.raises(ContractViolation) as malformed:
        check(None, _answered(204), _case("not-an-id"))
    assert malformed.value.clause_id == "DEL-MALFORMED"
    with pytest.raises(ContractViolation) as own:
        check(None, _answered(200), _case("a" * 24))
    assert own.value.clause_id == "DEL-204"
    check(None, _answered(204), _case("a" * 24))


def test_every_check_failing_on_a_server_error_names_only_no_5xx() -> None:
    for check in ("positive_data_acceptance", "status_code_conformance",
                  "response_schema_conformance", "negative_data_rejection", "use_after_free"):
        assert clause_for(check, "retrieveTask", 500) == "NO-5XX", check
    assert clause_for("positive_data_acceptance", "retrieveTask", 403, own=True) == "TASK-SHAPE"


def test_a_refusal_is_required_only_for_what_the_contract_backs_not_for_hints() -> None:
    server = start_in_thread(create_app(api_keys=[KEY], variations=("clamp-page-limit",)))
    try:
        operation = load_schema(Settings())["/tasks"]["GET"]

        def answer(query: dict[str, Any]) -> tuple[Any, Any]:
            case = operation.Case(query=query, headers={"x-api-key": KEY})
            return case, case.call(base_url=server.base_url)

        # A clamped page_limit is one of the two answers LIST-FILTER-SORT allows.
        assert breaks_only_hints(*answer({"page_limit": 51}))
        assert breaks_only_hints(*answer({"page_limit": "51", "page": "1"}))
        assert breaks_only_hints(*answer({"page_limit": 10**9, "sort_option": "asc"}))
        assert not breaks_only_hints(*answer({"page_limit": 51, "sort_option": "up"}))
        assert breaks_only_hints(*answer({"page_limit": 50}))
        # Bounds and formats the vendor's docs do not state are hints: nothing to refuse.
        for hinted in ({"width": -1}, {"height": "tall"}, {"page": 0}, {"page_limit": 0},
                       {"duration": -3.5}, {"created_at": "yesterday"},
                       {"index_id": "not-an-id"}, {"unknown": "1", "width": -1}):
            assert breaks_only_hints(*answer(hinted)), hinted
        for backed in ({"sort_by": "size"}, {"status": ["ready", "done"]},
                       {"sort_option": "", "width": -1}):
            assert not breaks_only_hints(*answer(backed)), backed
        retrieve = load_schema(Settings())["/tasks/{task_id}"]["GET"]
        case = retrieve.Case(path_parameters={"task_id": "not-an-id"},
                             headers={"x-api-key": KEY})
        assert not breaks_only_hints(case, case.call(base_url=server.base_url))
    finally:
        server.stop()


def test_the_contract_view_drops_exactly_the_hinted_keywords() -> None:
    schema = {"type": "integer", "minimum": 1, "maximum": 50, HINTS_KEY: ["type", "minimum"],
              "items": [{"pattern": "x", HINTS_KEY: ["pattern"]}]}
    assert contract_view(schema) == {"maximum": 50, "items": [{}]}


def test_property_reservations_and_provisioned_tasks_share_the_runs_one_budget(
        tmp_path: Path) -> None:
    server = start_in_thread(create_app(api_keys=[KEY], time_scale=TIME_SCALE))
    settings = Settings(base_url=server.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                        max_tasks=3)
    client = ApiClient(server.base_url, Secret(KEY), transcript=Transcript())
    try:
        provisioner = Provisioner(client, settings, Ledger(None, settings.run_id))
        provisioner.reserve_task(1000)
        provisioner.start_task("ready")
        provisioner.reserve_task(0)
        spent = provisioner.budget()
        assert spent["tasks"] == {"spent": 3, "budget": 3}
        assert spent["upload_bytes"]["spent"] == 1000 + len(sample_video())
        with pytest.raises(BudgetExceeded):
            provisioner.start_task("ready")
        with pytest.raises(BudgetExceeded):
            provisioner.reserve_task(0)
        assert provisioner.budget()["tasks"]["spent"] == 3  # a refusal spends nothing
        assert not provisioner.cleanup()
    finally:
        client.close()
        server.stop()
