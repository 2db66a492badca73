"""Provisioning against the real emulator on a loopback port: tasks, budget, ledger, cleanup."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator import create_app
from conformance.emulator.lifecycle import Clock
from conformance.emulator.owner import with_index_listing
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.resources.cleanup import cleanup_ledger, sweep
from conformance.resources.errors import BudgetExceeded, ProvisioningError
from conformance.resources.ledger import Ledger
from conformance.resources.provisioning import Provisioner
from conformance.run.cli import main
from conformance.settings import PROFILES, Secret, Settings
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY = "tlk_provisioning_test_key_5d1c9e"


def serve(**options: Any) -> RunningServer:
    # The owner's index listing, as the vendor's API has it: a sweep finds a run's indexes.
    return start_in_thread(with_index_listing(create_app(api_keys=(KEY,), **options)))


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    # Indexing at a quarter of the emulator's normal pace keeps these tests short; a test
    # that measures waiting asks for the normal pace with indirect parametrization.
    running = serve(time_scale=getattr(request, "param", 0.25))
    yield running
    running.stop()


@pytest.fixture
def settings(server: RunningServer, tmp_path: Path) -> Settings:
    return Settings(base_url=server.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                    wait_timeout=15.0)


_OPEN: list[ApiClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def client_for(settings: Settings) -> ApiClient:
    assert settings.base_url is not None
    client = ApiClient(settings.base_url, settings.api_key, transcript=Transcript())
    _OPEN.append(client)
    return client


def provisioner(settings: Settings, **kwargs: Any) -> Provisioner:
    return Provisioner(client_for(settings), settings, Ledger.for_settings(settings), **kwargs)


def all_tasks(client: ApiClient) -> list[dict[str, Any]]:
    body = client.list_tasks(page_limit=50).json()
    assert body["page_info"]["total_results"] == len(body["data"])
    return list(body["data"])


def sent(client: ApiClient, method: str, path_end: str) -> int:
    return sum(1 for e in client.transcript.since(0)
               if e.method == method and e.url.split("?")[0].endswith(path_end))


@pytest.mark.parametrize("server", [1.0], indirect=True)
def test_ready_and_failed_tasks_are_waited_for_together_not_one_after_another(
        settings: Settings) -> None:
    prov = provisioner(settings)
    tasks = [prov.start_task(kind) for kind in ("ready", "failed", "ready", "failed")]
    started = time.monotonic()
    finals = prov.wait_final(tasks)
    # One ready task takes about 1.5 s here; waiting one after another would take over 4 s.
    assert time.monotonic() - started < 3.5
    assert [finals[t.task_id]["status"] for t in tasks] == ["ready", "failed", "ready", "failed"]
    for task in tasks:
        seen = prov.observed_statuses(task.task_id)
        assert seen[-1] == task.kind and len(seen) >= 2, seen
        assert all(a != b for a, b in itertools.pairwise(seen))
        assert task.response.status_code == 200 and task.response.json()["_id"] == task.task_id


def test_every_upload_carries_the_run_marker_and_the_index_is_made_once(
        settings: Settings) -> None:
    prov = provisioner(settings)
    tasks = [prov.start_task("ready"), prov.start_task("failed")]
    client = prov._client
    assert sent(client, "POST", "/indexes") == 1
    index_body = json.loads(client.transcript.since(0)[0].request_body)
    assert index_body == {"index_name": f"conformance-{settings.run_id}",
                          "models": [{"model_name": "marengo3.0",
                                      "model_options": ["visual", "audio"]}]}
    names = {t["_id"]: t["system_metadata"]["filename"] for t in all_tasks(client)}
    assert names[tasks[0].task_id] == f"conformance-{settings.run_id}-ready-1.mp4"
    assert names[tasks[1].task_id] == f"conformance-{settings.run_id}-failed-2.mp4"
    creates = [e for e in client.transcript.since(0) if e.url.endswith("/tasks")
               and e.method == "POST"]
    for exchange in creates:
        assert ("user_metadata", json.dumps({"conformance_run": settings.run_id})) in \
            exchange.form
    assert prov.cleanup() == []


def test_a_configured_index_is_used_and_never_deleted(settings: Settings) -> None:
    owner = client_for(settings)
    index_id = owner.create_index("users-own-index").json()["_id"]
    prov = provisioner(replace(settings, index_id=index_id))
    task = prov.start_task("failed")
    prov.wait_final([task])
    assert task.index_id == index_id
    assert prov.cleanup() == []
    assert sent(prov._client, "POST", "/indexes") == 0
    assert sent(prov._client, "DELETE", f"/indexes/{index_id}") == 0
    assert owner.delete_index(index_id).status_code == 204  # it was still there


def test_the_task_budget_refuses_before_anything_is_sent(settings: Settings) -> None:
    prov = provisioner(replace(settings, max_tasks=2))
    prov.start_task("failed")
    prov.start_task("failed")
    with pytest.raises(BudgetExceeded, match="task budget"):
        prov.start_task("ready")
    assert sent(prov._client, "POST", "/tasks") == 2
    assert len(all_tasks(prov._client)) == 2
    assert prov.budget()["tasks"] == {"spent": 2, "budget": 2}
    assert prov.wait_final([]) == {}
    assert prov.cleanup() == []


def test_the_upload_budget_refuses_before_anything_is_sent(settings: Settings) -> None:
    # On loopback the profile's byte budget is multiplied by 20: 2,000 bytes, one sample.
    small = replace(PROFILES["ci"], max_upload_bytes=100)
    prov = provisioner(replace(settings, profile=small))
    prov.start_task("ready")
    with pytest.raises(BudgetExceeded, match="upload budget"):
        prov.start_task("ready")
    assert sent(prov._client, "POST", "/tasks") == 1
    spent = prov.budget()["upload_bytes"]
    assert spent["budget"] == 2000 and 0 < spent["spent"] <= 2000
    assert prov.cleanup() == []


def test_the_ledger_file_records_every_resource_as_it_is_created(settings: Settings) -> None:
    prov = provisioner(settings)
    task = prov.start_task("ready")
    path = settings.report_dir / "ledger.json"
    data = json.loads(path.read_text())
    assert data["run_id"] == settings.run_id and data["base_url"] == settings.base_url
    by_kind = {e["kind"]: e for e in data["entries"]}
    assert set(by_kind) == {"index", "task", "video"}
    assert by_kind["task"]["id"] == task.task_id
    assert by_kind["task"]["parents"] == {"index_id": task.index_id}
    assert by_kind["video"]["parents"] == {"index_id": task.index_id, "task_id": task.task_id}
    assert all(e["state"] == "created" and e["run_id"] == settings.run_id and e["created_at"]
               for e in data["entries"])
    assert KEY not in path.read_text()
    assert prov.cleanup() == []
    reloaded = Ledger.load(path)
    assert [e.state for e in reloaded.entries()] == ["deleted"] * 3
    assert not list(path.parent.glob(".*.tmp"))


def test_cleanup_leaves_nothing_behind_and_spares_what_it_did_not_create(
        settings: Settings) -> None:
    prov = provisioner(settings)
    owner = client_for(settings)
    theirs_index = owner.create_index("someone-else").json()["_id"]
    theirs = owner.create_task(theirs_index, video_file=("holiday.mp4", b"not a video"))
    finals = [prov.start_task("ready"), prov.start_task("failed")]
    prov.wait_final(finals)
    pending = prov.fresh_pending_task("ready")
    assert pending.status not in ("ready", "failed")
    assert prov.observed_statuses(pending.task_id) == [pending.status]
    assert prov.cleanup() == []
    assert [t["_id"] for t in all_tasks(owner)] == [theirs.json()["_id"]]
    assert owner.delete_index(prov.index_id()).status_code in (400, 404)
    assert {e.state for e in prov._ledger.entries()} == {"deleted"}


def test_cleanup_of_a_task_a_test_already_deleted_is_quiet(settings: Settings) -> None:
    prov = provisioner(settings)
    task = prov.start_task("failed")
    prov.wait_final([task])
    assert prov._client.delete_task(task.task_id).status_code == 204
    assert prov.cleanup() == []
    assert all_tasks(prov._client) == []


def test_a_wait_past_its_deadline_is_a_provisioning_error_naming_the_tasks(
        tmp_path: Path) -> None:
    slow = serve(time_scale=20.0)  # ready after about 30 s
    try:
        settings = Settings(base_url=slow.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                            wait_timeout=2.5)
        messages: list[str] = []
        prov = provisioner(settings, progress=messages.append)
        tasks = [prov.start_task("ready"), prov.start_task("ready")]
        started = time.monotonic()
        with pytest.raises(ProvisioningError) as info:
            prov.wait_final(tasks)
        assert 2.0 <= time.monotonic() - started < 5.0
        text = str(info.value)
        assert "timed out after 2.5 s" in text and "last status: validating" in text
        assert all(t.task_id in text for t in tasks)
        assert messages and "deadline 2.5 s" in messages[0]
        # Never final in time, yet gone: they go with the run's index, read back as gone.
        assert prov.cleanup() == []
        assert all_tasks(client_for(settings)) == []
    finally:
        slow.stop()


def test_a_task_that_ends_in_the_wrong_state_cannot_be_provisioned(settings: Settings) -> None:
    # A ready video URL the target cannot fetch ends failed: "could not provision", no upload.
    prov = provisioner(replace(settings, ready_video_url="http://127.0.0.1:1/gone.txt"))
    task = prov.start_task("ready")
    assert task.filename is None and prov.budget()["upload_bytes"]["spent"] == 0
    with pytest.raises(ProvisioningError, match="meant to become ready ended failed"):
        prov.wait_final([task])
    assert prov.cleanup() == []


def test_a_refused_create_is_a_provisioning_error(settings: Settings) -> None:
    prov = provisioner(replace(settings, index_id="0" * 24))
    with pytest.raises(ProvisioningError, match=r"could not create a failed task: .*4\d\d"):
        prov.start_task("failed")
    assert prov._ledger.entries() == []


_KILLED_RUN = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from conformance.wire.client import ApiClient
    from conformance.wire.transcript import Transcript
    from conformance.resources.ledger import Ledger
    from conformance.resources.provisioning import Provisioner
    from conformance.settings import Secret, Settings
    settings = Settings(base_url=sys.argv[1], api_key=Secret(os.environ["TEST_KEY"]),
                        report_dir=Path(sys.argv[2]))
    client = ApiClient(settings.base_url, settings.api_key, transcript=Transcript())
    prov = Provisioner(client, settings, Ledger.for_settings(settings))
    tasks = [prov.start_task("ready"), prov.start_task("failed")]
    prov.wait_final(tasks)
    prov.start_task("ready")
    print("provisioned", flush=True)
    time.sleep(60)
""")


def test_cleanup_ledger_removes_what_a_killed_run_left(settings: Settings) -> None:
    env = {**os.environ, "TEST_KEY": KEY}
    with subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(settings.base_url),
                           str(settings.report_dir)], stdout=subprocess.PIPE, text=True,
                          env=env) as run:
        try:
            assert run.stdout is not None and run.stdout.readline().strip() == "provisioned"
        finally:
            run.send_signal(signal.SIGKILL)
            run.wait(10)
    client = client_for(settings)
    assert len(all_tasks(client)) == 3
    problems = cleanup_ledger(settings.report_dir / "ledger.json", client)
    assert problems == []
    assert all_tasks(client) == []
    assert {e.state for e in Ledger.load(settings.report_dir / "ledger.json").entries()} == \
        {"deleted"}


def test_cleanup_ledger_refuses_a_ledger_of_another_target(settings: Settings) -> None:
    prov = provisioner(replace(settings, base_url="http://127.0.0.1:1/v1.3"))
    prov._ledger.add("task", "a" * 24, index_id="b" * 24)
    problems = cleanup_ledger(settings.report_dir / "ledger.json", client_for(settings))
    assert len(problems) == 1 and "nothing deleted" in problems[0]


def test_an_unreadable_ledger_is_one_readable_error(tmp_path: Path,
                                                    settings: Settings) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ProvisioningError, match="cannot be read"):
        cleanup_ledger(path, client_for(settings))


def test_sweep_lists_leftovers_in_a_dry_run_and_removes_only_those_when_asked(
        settings: Settings) -> None:
    earlier = provisioner(replace(settings, run_id="0badc0de"))
    leftovers = [earlier.start_task("ready"), earlier.start_task("failed")]
    earlier.wait_final(leftovers)
    owner = client_for(settings)
    theirs = owner.create_task(earlier.index_id(),
                               video_file=("conformance-notes.mp4", b"mine")).json()["_id"]
    swept = sweep(owner)
    # The earlier run's index holds a task no run made: it stays, its leftovers go one by one.
    lines = [line for line in swept.lines if line not in swept.problems]
    assert len(lines) == 2 and all(line.startswith("would delete") for line in lines)
    assert any(leftovers[0].video_id and leftovers[0].video_id in line for line in lines)
    assert len(swept.problems) == 1 and "conformance-0badc0de" in swept.problems[0]
    assert len(all_tasks(owner)) == 3
    swept = sweep(owner, dry_run=False)
    assert sorted(line.split()[0] for line in swept if line not in swept.problems) == [
        "deleted", "deleted"]
    assert [t["_id"] for t in all_tasks(owner)] == [theirs]
    assert sweep(owner).problems == [swept.problems[0]]


def test_a_target_that_lists_no_indexes_is_swept_of_tasks_and_says_so(
        tmp_path: Path) -> None:
    plain = start_in_thread(create_app(api_keys=(KEY,)))  # no GET /indexes
    try:
        settings = Settings(base_url=plain.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                            run_id="0badc0de")
        earlier = provisioner(settings)
        earlier.wait_final([earlier.start_task("failed")])
        swept = sweep(client_for(settings), dry_run=False)
        assert swept.problems == []
        assert swept.lines[0].startswith("the target lists no indexes (GET /indexes answered "
                                         "405")
        assert swept.lines[1].startswith("deleted task")
        assert all_tasks(client_for(settings)) == []
    finally:
        plain.stop()


def test_sweep_removes_an_earlier_run_s_index_with_its_tasks(settings: Settings) -> None:
    earlier = provisioner(replace(settings, run_id="0badc0de"))
    leftovers = [earlier.start_task("ready"), earlier.start_task("failed")]
    earlier.wait_final(leftovers)
    owner = client_for(settings)
    swept = sweep(owner)
    assert swept.lines == [f"would delete index {earlier.index_id()} (conformance-0badc0de) "
                           "with its 2 task(s)"]
    swept = sweep(owner, dry_run=False)
    assert swept.problems == [] and swept.lines[0].startswith("deleted index")
    assert all_tasks(owner) == []
    assert sweep(owner).lines == ["no leftovers of earlier runs found"]


def test_a_sweep_that_must_leave_a_leftover_says_so_and_exits_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stopped = serve(clock=Clock.manual())  # nothing ever becomes final
    try:
        settings = Settings(base_url=stopped.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                            run_id="0badc0de")
        task = provisioner(settings).start_task("ready")
        assert main(["cleanup", "--sweep", "--yes", "--base-url", stopped.base_url,
                     "--api-key", KEY]) == 3
        out, err = capsys.readouterr()
        assert f"sweep problem: skip task {task.task_id}" in err and "not final yet" in err
        assert task.task_id not in out
        assert [t["_id"] for t in all_tasks(client_for(settings))] == [task.task_id]
    finally:
        stopped.stop()


def test_sweep_and_cleanup_against_a_target_that_is_down_say_so_in_one_line(
        tmp_path: Path) -> None:
    down = ApiClient("http://127.0.0.1:1/v1.3", Secret(KEY), transcript=Transcript(),
                     max_retries=0)
    _OPEN.append(down)
    swept = sweep(down)
    lines = swept.lines
    assert len(lines) == 1 and "target is unavailable" in lines[0]
    assert swept.problems == lines
    ledger = Ledger(tmp_path / "ledger.json", "r1", down.base_url)
    ledger.add("task", "a" * 24, index_id="b" * 24)
    problems = cleanup_ledger(tmp_path / "ledger.json", down)
    assert len(problems) == 1 and "target is unavailable" in problems[0]
    assert KEY not in lines[0] + problems[0]
