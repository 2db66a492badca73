"""What a live target may do that is no violation, met by the suite's client, provisioning and
watch without a false alarm: connections dropped between requests, runs of 429s, a new task
that reads 404 for a moment. A real server on a loopback port (``live_like``: a proxy in front
of the emulator) plays the target.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_like import Behaviour, LiveLike, live_like

from conformance.resources.ledger import Ledger
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import NEW_TASK_GRACE, Watch
from conformance.settings import Secret, Settings
from conformance.wire.client import ApiClient, answer_lost, dropped_before
from conformance.wire.transcript import Transcript

KEY = "tlk_robustness_test_key_0a1b2c3d"


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[LiveLike]:
    with live_like((KEY,), request.param) as running:
        yield running


def _client(target: LiveLike) -> ApiClient:
    return ApiClient(target.base_url, Secret(KEY), transcript=Transcript())


def _provisioner(target: LiveLike, tmp_path: Path, watch: Watch | None = None,
                 client: ApiClient | None = None) -> Provisioner:
    settings = Settings(base_url=target.base_url, api_key=Secret(KEY), report_dir=tmp_path,
                        wait_timeout=20.0)
    return Provisioner(client or _client(target), settings, Ledger.for_settings(settings),
                       watch=watch)


def _first_delete_of_a_task(method: str, path: str, *status: int) -> bool:
    return method == "DELETE" and path.startswith("/v1.3/tasks/")


def _creates(method: str, path: str, *status: int) -> bool:
    return method == "POST" and path == "/v1.3/tasks"


def _once(rule: Any) -> Any:
    done: list[bool] = []

    def first(*request: Any) -> bool:
        if not done and rule(*request):
            done.append(True)
            return True
        return False
    return first


@pytest.mark.parametrize("target", [Behaviour(drop_every=2)], indirect=True)
def test_a_read_whose_connection_dropped_is_sent_again_and_the_drop_is_recorded(
        target: LiveLike) -> None:
    client = _client(target)
    answers = [client.list_tasks() for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    kept = client.transcript.since(0)
    assert any(e.error and "RemoteProtocolError" in e.error for e in kept), kept
    assert [e.status for e in kept if e.status is not None] == [200, 200, 200]
    assert any(dropped_before(a) is not None for a in answers)
    client.close()


@pytest.mark.parametrize("target", [Behaviour(drop_before=_once(_first_delete_of_a_task))],
                         indirect=True)
def test_a_delete_whose_connection_dropped_before_it_arrived_is_sent_again_once(
        target: LiveLike, tmp_path: Path) -> None:
    client = _client(target)
    prov = _provisioner(target, tmp_path, client=client)
    task = prov.start_task("failed")
    prov.wait_final([task])
    response = client.delete_task(task.task_id)
    attempts = [e for e in client.transcript.since(0) if e.method == "DELETE"]
    assert [e.status for e in attempts] == [None, 204]
    # Never carried out before: the second send deleted it, and its answer stands.
    assert dropped_before(response) is attempts[0] and not answer_lost(response)
    client.close()


@pytest.mark.parametrize("target", [Behaviour(drop_after_forwarding=_once(
    _first_delete_of_a_task))], indirect=True)
def test_a_delete_done_before_its_connection_dropped_is_marked_lost_and_not_a_vanishing(
        target: LiveLike, tmp_path: Path) -> None:
    client = _client(target)
    watch = Watch(client.unchecked().retrieve_task)
    client.observe(watch.observe)
    prov = _provisioner(target, tmp_path, watch, client)
    task = prov.start_task("failed")
    prov.wait_final([task])
    response = client.delete_task(task.task_id)
    # The first send deleted the task and lost its 204; sent again, it reads as gone.
    assert response.status_code == 404 and dropped_before(response) is not None
    assert answer_lost(response)
    assert watch.expected_gone(task.task_id) and watch.deletes[-1].lost
    assert watch.saw(task.task_id, client.retrieve_task(task.task_id)) is None
    assert watch.findings == []
    client.close()


@pytest.mark.parametrize("target", [Behaviour(drop_after_forwarding=_once(_creates))],
                         indirect=True)
def test_a_create_whose_answer_was_lost_is_found_by_its_filename_and_adopted(
        target: LiveLike, tmp_path: Path) -> None:
    client = _client(target)
    watch = Watch(client.unchecked().retrieve_task)
    prov = _provisioner(target, tmp_path, watch, client)
    task = prov.start_task("ready")
    assert task.response is None  # found, not answered
    listed = client.list_tasks(index_id=task.index_id).json()["data"]
    assert [t["_id"] for t in listed] == [task.task_id]  # sent once: never blindly again
    assert task.video_id == listed[0]["video_id"]
    assert {e.id for e in prov._ledger.entries("task", "created")} == {task.task_id}
    assert watch.live()[0].task_id == task.task_id
    creates = [e for e in client.transcript.since(0) if e.method == "POST"
               and e.url.endswith("/tasks")]
    assert len(creates) == 1 and creates[0].error is not None
    prov.wait_final([task])
    assert prov.cleanup() == []
    client.close()


@pytest.mark.parametrize("target", [Behaviour(drop_before=_once(_creates))], indirect=True)
def test_a_create_that_never_arrived_is_looked_for_then_sent_again_under_a_new_name(
        target: LiveLike, tmp_path: Path) -> None:
    client = _client(target)
    prov = _provisioner(target, tmp_path, client=client)
    prov.grace = 0.3
    task = prov.start_task("ready")
    assert task.response is not None and task.filename is not None
    assert task.filename.endswith("-ready-2.mp4")
    listed = client.list_tasks(index_id=task.index_id).json()["data"]
    assert [t["_id"] for t in listed] == [task.task_id]
    looked = [e for e in client.transcript.since(0) if "filename=" in e.url]
    assert looked and all("-ready-1.mp4" in e.url for e in looked)
    prov.wait_final([task])
    assert prov.cleanup() == []
    client.close()


@pytest.mark.parametrize("target", [Behaviour(storm_every=1, storm_length=9)],
                         indirect=True)
def test_a_run_of_429s_longer_than_any_attempt_count_is_waited_out(target: LiveLike) -> None:
    client = _client(target)
    assert client.list_tasks().status_code == 200
    statuses = [e.status for e in client.transcript.since(0)]
    assert statuses == [429] * 9 + [200]
    assert client.stats.rate_limited == 9
    client.close()


@pytest.mark.parametrize("target", [Behaviour(new_task_hidden=1.0)], indirect=True)
def test_a_new_task_that_reads_404_for_a_moment_is_waited_for_not_gone_nor_vanished(
        target: LiveLike, tmp_path: Path) -> None:
    client = _client(target)
    watch = Watch(client.unchecked().retrieve_task)
    client.observe(watch.observe)
    prov = _provisioner(target, tmp_path, watch, client)
    other = prov.start_task("failed")
    prov.wait_final([other])
    task = prov.start_task("ready")
    first = client.retrieve_task(task.task_id)
    assert first.status_code == 404 and watch.not_shown_yet(task.task_id, first)
    # A delete of the run in between: without the grace this read would count as vanished.
    assert client.delete_task(other.task_id).status_code == 204
    assert watch.saw(task.task_id, first) is None
    settled = prov.settle([task])[task.task_id]
    assert settled.problem is None and settled.final is not None
    assert watch.findings == []
    assert not watch.not_shown_yet(task.task_id, first)  # seen since: gone would be gone
    prov.cleanup()
    client.close()


# -- the watch's comparisons (DEL-ONLY-THAT), on answers as a target would give them ----------

def _task(status: str, **fields: Any) -> dict[str, Any]:
    base = {"_id": "a" * 24, "index_id": "b" * 24, "video_id": "c" * 24, "status": status,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:05Z",
            "system_metadata": {"filename": "x.mp4", "duration": 5.0, "width": 480,
                                "height": 360}}
    return {**base, **fields}


def _read(body: dict[str, Any] | None) -> httpx.Response:
    request = httpx.Request("GET", "http://127.0.0.1/v1.3/tasks/" + "a" * 24)
    if body is None:
        return httpx.Response(404, json={"code": "resource_not_exist", "message": "gone"},
                              request=request)
    return httpx.Response(200, json=body, request=request)


def _watched() -> Watch:
    watch = Watch(lambda task_id: _read(None))
    watch.track("a" * 24, "b" * 24, "c" * 24, role="shared_ready")
    return watch


def _another_delete(watch: Watch) -> None:
    watch.deleted("/tasks/" + "d" * 24, 204, "DELETE /tasks/ddd -> 204")


def test_a_final_status_changed_inside_a_delete_s_bracket_is_that_delete_s_finding() -> None:
    reads = iter([_read(_task("ready")), _read(_task("failed"))])
    watch = Watch(lambda task_id: next(reads))
    watch.track("a" * 24, "b" * 24, "c" * 24, role="shared_ready")
    with watch.bracket():  # read right before (ready), then the delete, then read (failed)
        _another_delete(watch)
    [finding] = watch.findings
    assert finding.kind == "status" and finding.destroys and finding.clause == "DEL-ONLY-THAT"
    assert "'ready' to 'failed'" in finding.what
    assert watch.destroyed("a" * 24) is finding and watch.lifecycle == []


def test_a_final_status_changed_across_deletes_no_bracket_held_is_the_lifecycle_s() -> None:
    watch = _watched()
    watch.saw("a" * 24, _read(_task("ready")))
    watch.closed = True  # no look-around: the reads are given here
    _another_delete(watch)
    assert watch.saw("a" * 24, _read(_task("failed"))) is None
    assert watch.findings == []
    [record] = watch.lifecycle
    assert record.clause == "TASK-LIFECYCLE" and record.destroys
    assert watch.destroyed("a" * 24) is record


def test_moving_forward_is_no_change_and_no_delete_in_between_is_no_deletes_doing() -> None:
    watch = _watched()
    watch.closed = True
    watch.saw("a" * 24, _read(_task("indexing", system_metadata={})))
    _another_delete(watch)
    assert watch.saw("a" * 24, _read(_task("ready"))) is None  # forward, and filled in
    # Changed without any delete in between: the lifecycle's business, not a delete's.
    assert watch.saw("a" * 24, _read(_task("failed"))) is None
    assert watch.findings == [] and [r.kind for r in watch.lifecycle] == ["status"]


def test_a_task_never_seen_alive_cannot_vanish_past_its_grace_it_was_never_shown() -> None:
    watch = Watch(lambda task_id: _read(None))
    watch.track("a" * 24, "b" * 24, "c" * 24, role="shared_ready")
    watch._tasks["a" * 24].tracked_at -= NEW_TASK_GRACE + 1
    watch.closed = True
    _another_delete(watch)
    gone = _read(None)
    assert watch.saw("a" * 24, gone) is None and watch.findings == []
    assert watch.never_shown("a" * 24, gone) and not watch.not_shown_yet("a" * 24, gone)


def test_a_refused_delete_that_renames_another_task_s_upload_is_a_finding() -> None:
    watch = Watch(lambda task_id: _read(None))
    watch.track("a" * 24, "b" * 24, "c" * 24, role="shared_ready", filename="x.mp4")
    watch.closed = True
    watch.saw("a" * 24, _read(_task("validating")))
    watch.deleted("/tasks/" + "d" * 24, 400, "DELETE /tasks/ddd -> 400")
    renamed = {"filename": "renamed.mp4", "duration": 5.0, "width": 480, "height": 360}
    finding = watch.saw("a" * 24, _read(_task("indexing", system_metadata=renamed)))
    assert finding is not None and "renamed.mp4" in finding.what and not finding.destroys


def test_settled_fields_of_a_final_task_must_stay_across_another_delete() -> None:
    for changed in ({"updated_at": "2026-01-01T00:09:00Z"},
                    {"system_metadata": {"filename": "renamed.mp4", "duration": 5.0,
                                         "width": 480, "height": 360}},
                    {"video_id": "e" * 24}):
        watch = _watched()
        watch.closed = True
        watch.saw("a" * 24, _read(_task("ready")))
        _another_delete(watch)
        finding = watch.saw("a" * 24, _read(_task("ready", **changed)))
        assert finding is not None and finding.kind == "changed", changed
        assert not finding.destroys and next(iter(changed)) in finding.what


def test_an_hls_that_moved_on_explains_a_new_updated_at() -> None:
    watch = _watched()
    watch.closed = True
    watch.saw("a" * 24, _read(_task("ready", hls={"status": "PROCESSING"})))
    _another_delete(watch)
    later = _task("ready", hls={"status": "COMPLETE"}, updated_at="2026-01-01T00:09:00Z")
    assert watch.saw("a" * 24, _read(later)) is None


def test_a_list_item_must_show_what_retrieve_showed() -> None:
    watch = _watched()
    watch.closed = True
    watch.saw("a" * 24, _read(_task("ready")))
    page = httpx.Response(200, json={}, request=httpx.Request("GET", "http://127.0.0.1/"))
    watch.listed("a" * 24, _task("ready", video_id="e" * 24), page)
    assert watch.findings == []  # no delete of the run at all yet
    _another_delete(watch)
    watch.listed("a" * 24, _task("indexing"), page)  # a lagging list: no finding
    watch.listed("a" * 24, _task("failed"), page)  # a status: the lifecycle tests read lists
    # The same instant written otherwise is the same value.
    watch.listed("a" * 24, _task("ready", created_at="2026-01-01T00:00:00.000+00:00"), page)
    assert watch.findings == []
    watch.listed("a" * 24, _task("ready", video_id="e" * 24), page)
    assert [f.kind for f in watch.findings] == ["changed"]


def _listed_by_index(watch: Watch, *items: dict[str, Any]) -> None:
    """An index's list as the owner's client would tell the watch of it."""
    page = httpx.Response(200, json={"data": list(items), "page_info": {}},
                          request=httpx.Request("GET", "http://127.0.0.1/v1.3/tasks",
                                                params={"index_id": "b" * 24}))
    page.extensions["conformance.exchange"] = type("E", (), {"key_label": "primary"})()
    watch.observe("GET", "/tasks", page)


def test_only_a_list_that_showed_the_task_before_a_delete_can_have_lost_it() -> None:
    watch = _watched()
    watch.closed = True
    watch.saw("a" * 24, _read(_task("ready")))
    page = httpx.Response(200, json={}, request=httpx.Request("GET", "http://127.0.0.1/"))
    _another_delete(watch)
    # Never shown by its index's list: the filter's recall, not a loss.
    assert watch.missing_from_list("a" * 24, page) is None
    watch.closed = False
    _listed_by_index(watch, _task("ready"))
    watch.closed = True
    assert watch.missing_from_list("a" * 24, page) is None  # no delete since it was shown
    _another_delete(watch)
    assert watch.missing_from_list("a" * 24, page) is not None


def test_a_list_that_showed_the_task_at_another_status_cannot_have_lost_it() -> None:
    watch = _watched()
    _listed_by_index(watch, _task("indexing"))  # a filter may drop the task once it is ready
    watch.closed = True
    watch.saw("a" * 24, _read(_task("ready")))
    _another_delete(watch)
    page = httpx.Response(200, json={}, request=httpx.Request("GET", "http://127.0.0.1/"))
    assert watch.missing_from_list("a" * 24, page) is None
