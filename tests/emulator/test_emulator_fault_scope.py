"""Each fault of the second family touches only the subjects its description names, and the
state it changes survives a restart with a data directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from emulator_support import SECOND_KEY, Api, InProcess

from conformance.emulator import create_app
from conformance.emulator.lifecycle import Clock

UNKNOWN = "0123456789abcdef01234567"
MakeApi = Callable[..., Api]


def _final(api: Api, index: str, kind: str) -> dict[str, str]:
    task = api.task(index, kind)
    api.settle()
    return task


def _deletable_ready(api: Api, index: str) -> dict[str, str]:
    task = _final(api, index, "ready")
    assert api.delete_video(index, task["video_id"]).status_code == 204
    return task


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [t["_id"] for t in answer.json()["data"]]


def _listed(api: Api, **params) -> set[str]:
    return set(_ids(api.list(page_limit=50, **params)))


def test_delete_failed_200_still_answers_204_for_a_ready_task(make_api: MakeApi) -> None:
    api = make_api(faults=["delete-failed-200"])
    index = api.create_index()
    answer = api.delete(_deletable_ready(api, index)["_id"])
    assert answer.status_code == 204 and answer.content == b""


def test_video_delete_204_with_length_leaves_task_deletes_bodiless(make_api: MakeApi) -> None:
    api = make_api(faults=["video-delete-204-with-length"])
    index = api.create_index()
    answer = api.delete(_deletable_ready(api, index)["_id"])
    assert answer.status_code == 204 and "content-length" not in answer.headers


def test_delete_accepted_while_indexing_still_refuses_the_other_unfinished_statuses(
        make_api: MakeApi) -> None:
    api = make_api(faults=["delete-accepted-while-indexing"])
    task = api.task(api.create_index())
    for status in ("validating", "pending", "queued"):
        assert api.status(task["_id"]) == status
        assert api.delete(task["_id"]).status_code == 400
        api.clock.advance(0.3)
    assert api.status(task["_id"]) == "indexing"


def test_refused_delete_removes_task_takes_it_out_of_lists_but_spares_ready_tasks(
        make_api: MakeApi) -> None:
    api = make_api(faults=["refused-delete-removes-task"])
    index = api.create_index()
    ready = _final(api, index, "ready")
    pending = api.task(index)
    assert api.delete(pending["_id"]).status_code == 400
    assert _listed(api) == {ready["_id"]}
    assert api.delete(ready["_id"]).status_code == 400  # refused for its video: kept
    assert api.retrieve(ready["_id"]).status_code == 200


def test_any_video_unlocks_index_unlocks_nothing_before_a_video_delete_nor_elsewhere(
        make_api: MakeApi) -> None:
    api = make_api(faults=["any-video-unlocks-index"])
    index, other = api.create_index(), api.create_index("other")
    first, second, elsewhere = api.task(index), api.task(index), api.task(other)
    api.settle()
    assert api.delete(second["_id"]).status_code == 400
    assert api.delete_video(index, first["video_id"]).status_code == 204
    assert api.delete(elsewhere["_id"]).status_code == 400
    assert api.delete(second["_id"]).status_code == 204


def test_video_delete_refused_keeps_the_video_and_so_the_task(make_api: MakeApi) -> None:
    api = make_api(faults=["video-delete-refused"])
    index = api.create_index()
    task = _final(api, index, "ready")
    assert api.delete_video(index, task["video_id"]).status_code == 400
    refused = api.delete(task["_id"])
    assert refused.status_code == 400 and refused.json()["code"] == "task_cannot_be_deleted"
    assert api.delete_video(index, UNKNOWN).status_code == 404  # an unknown video is still 404


def test_delete_failed_404_keeps_the_task_listed(make_api: MakeApi) -> None:
    api = make_api(faults=["delete-failed-404"])
    index = api.create_index()
    task = _final(api, index, "failed")
    assert api.delete(task["_id"]).json()["code"] == "resource_not_exist"
    assert _listed(api) == {task["_id"]}
    assert api.delete(_deletable_ready(api, index)["_id"]).status_code == 204


def test_unfinished_refusal_wrong_code_keeps_the_code_for_ready_tasks_with_a_video(
        make_api: MakeApi) -> None:
    api = make_api(faults=["unfinished-refusal-wrong-code"])
    refused = api.delete(_final(api, api.create_index(), "ready")["_id"])
    assert refused.status_code == 400 and refused.json()["code"] == "task_cannot_be_deleted"


def test_deleted_task_listed_on_last_page_spares_page_one_filters_and_totals(
        make_api: MakeApi) -> None:
    api = make_api(faults=["deleted-task-listed-on-last-page"])
    index = api.create_index()
    live = [_final(api, index, "failed")["_id"] for _ in range(2)]
    first_gone, gone = (_final(api, index, "failed")["_id"] for _ in range(2))
    assert api.delete(first_gone).status_code == 204
    assert api.delete(gone).status_code == 204
    assert gone not in _listed(api)  # a single page: page 1 is never touched
    live.append(_final(api, index, "failed")["_id"])
    last = api.list(page=2, page_limit=2).json()
    assert [t["_id"] for t in last["data"]] == [live[0], gone]  # the latest deleted only
    assert last["page_info"] == {"limit_per_page": 2, "page": 2, "total_page": 2,
                                 "total_results": 3}
    assert gone not in _ids(api.list(page=1, page_limit=2))
    assert gone not in _ids(api.list(page=2, page_limit=2, index_id=index))
    assert gone not in _ids(api.list(page=2, page_limit=2, status="failed"))
    assert api.retrieve(gone).status_code == 404 and api.delete(gone).status_code == 404


def test_uppercase_id_accepted_deletes_nothing_and_refuses_other_malformed_ids(
        make_api: MakeApi) -> None:
    api = make_api(faults=["uppercase-id-accepted"])
    task = _final(api, api.create_index(), "failed")
    assert api.delete(task["_id"].upper()).status_code == 204
    assert api.retrieve(task["_id"]).status_code == 200
    for malformed in ("abc", "0123456789abcdef0123456z", "0123456789ABCDEF0123456", "Z" * 24):
        assert api.delete(malformed).status_code == 400, malformed


def test_list_without_key_accepted_still_needs_a_key_everywhere_else(make_api: MakeApi) -> None:
    api = make_api(faults=["list-without-key-accepted"])
    index = api.create_index()
    task = _final(api, index, "failed")
    anonymous = api.as_key(None)
    assert _ids(anonymous.list()) == [task["_id"]]
    for answer in (anonymous.create_task(index), anonymous.retrieve(task["_id"]),
                   anonymous.delete(task["_id"]), anonymous.delete_video(index, UNKNOWN),
                   anonymous.request("POST", "indexes", json={}),
                   anonymous.request("DELETE", f"indexes/{index}"),
                   api.as_key("wrong-key").list()):
        assert answer.status_code == 401


def test_foreign_delete_of_deletable_task_spares_tasks_the_owner_could_not_delete(
        make_api: MakeApi) -> None:
    api = make_api(faults=["foreign-delete-of-deletable-task"])
    other = api.as_key(SECOND_KEY)
    index = api.create_index()
    pending = api.task(index)
    assert other.delete(pending["_id"]).status_code == 404
    api.settle()
    assert other.delete(pending["_id"]).status_code == 404  # ready, its video still there
    assert other.retrieve(pending["_id"]).status_code == 404 and _ids(other.list()) == []
    assert api.delete_video(index, pending["video_id"]).status_code == 204
    assert other.delete(pending["_id"]).status_code == 204
    assert api.retrieve(pending["_id"]).status_code == 404


def test_foreign_list_by_index_keeps_unfiltered_lists_and_retrieve_isolated(
        make_api: MakeApi) -> None:
    api = make_api(faults=["foreign-list-by-index"])
    other = api.as_key(SECOND_KEY)
    task = _final(api, api.create_index(), "failed")
    assert _ids(other.list()) == []
    assert other.retrieve(task["_id"]).status_code == 404
    assert other.delete(task["_id"]).status_code == 404
    assert _ids(other.list(index_id=UNKNOWN)) == []


def test_error_404_without_message_spares_other_statuses(make_api: MakeApi) -> None:
    api = make_api(faults=["error-404-without-message"])
    assert api.request("GET", "nowhere").json() == {"code": "resource_not_exist"}
    for answer in (api.delete("abc"), api.list(page=0), api.as_key(None).list()):
        assert set(answer.json()) == {"code", "message"}
    assert api.retrieve(UNKNOWN).headers["content-type"] == "application/json"


@pytest.mark.parametrize(("index_id", "code"), [(None, "parameter_not_provided"),
                                                (UNKNOWN, "resource_not_exist")])
def test_create_without_source_accepted_still_needs_a_known_index(
        make_api: MakeApi, index_id: str | None, code: str) -> None:
    api = make_api(faults=["create-without-source-accepted"])
    api.create_index()
    answer = api.create_task(index_id, video=None)
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert _ids(api.list()) == []


def test_list_duration_as_string_leaves_retrieve_a_number(make_api: MakeApi) -> None:
    api = make_api(faults=["list-duration-as-string"])
    task = api.task(api.create_index())
    assert api.retrieve(task["_id"]).json()["system_metadata"]["duration"] == 5.0


def test_delete_removes_neighbour_takes_the_oldest_other_task_of_that_index_only(
        make_api: MakeApi) -> None:
    api = make_api(faults=["delete-removes-neighbour"])
    index, other = api.create_index(), api.create_index("other")
    elsewhere = api.task(other, "failed")["_id"]
    oldest, middle, named = (api.task(index, "failed")["_id"] for _ in range(3))
    api.settle()
    assert api.delete(middle).status_code == 204
    assert _listed(api) == {elsewhere, named}
    assert api.retrieve(oldest).status_code == 404 and api.delete(oldest).status_code == 404
    assert api.delete(named).status_code == 204  # no other task left in the index: no harm
    assert _listed(api) == {elsewhere}


def test_video_delete_removes_neighbour_spares_the_task_whose_video_it_was(
        make_api: MakeApi) -> None:
    api = make_api(faults=["video-delete-removes-neighbour"])
    index = api.create_index()
    ready, later = api.task(index), api.task(index, "failed")
    api.settle()
    assert api.delete_video(index, ready["video_id"]).status_code == 204
    assert _listed(api) == {ready["_id"]}
    assert api.delete(ready["_id"]).status_code == 204  # its own video is gone as it should be
    assert api.retrieve(later["_id"]).status_code == 404


def test_refused_delete_removes_neighbour_only_on_refusals_for_the_tasks_state(
        make_api: MakeApi) -> None:
    api = make_api(faults=["refused-delete-removes-neighbour"])
    index = api.create_index()
    oldest, pending = api.task(index, "failed"), api.task(index)
    for answer in (api.delete(UNKNOWN), api.as_key(SECOND_KEY).delete(pending["_id"]),
                   api.as_key(None).delete(pending["_id"]), api.delete("abc")):
        assert answer.status_code in (400, 401, 404)
    assert _listed(api) == {oldest["_id"], pending["_id"]}
    assert api.delete(pending["_id"]).status_code == 400
    assert _listed(api) == {pending["_id"]}


def test_delete_renames_neighbours_renames_that_index_only_and_filters_see_it(
        make_api: MakeApi) -> None:
    api = make_api(faults=["delete-renames-neighbours"])
    index, other = api.create_index(), api.create_index("other")
    first, second = api.task(index)["_id"], api.task(index)["_id"]
    elsewhere = api.task(other)["_id"]
    assert api.delete(_final(api, index, "failed")["_id"]).status_code == 204
    assert api.retrieve(elsewhere).json()["system_metadata"]["filename"] == "clip.mp4"
    assert _ids(api.list(filename="renamed.mp4")) == [second, first]
    assert _ids(api.list(filename="clip.mp4")) == [elsewhere]
    body = api.retrieve(first).json()
    assert body["status"] == "ready" and body["system_metadata"]["duration"] == 5.0


# --- persistence: what a fault changed is still changed after a restart ----------------------
class _Restartable:
    def __init__(self, tmp_path: Path, fault: str) -> None:
        self.tmp_path, self.fault = tmp_path, fault
        self.clock = Clock.manual(start=1_800_000_000.0)
        self._client: InProcess | None = None

    def start(self) -> Api:
        if self._client is not None:
            self._client.close()
        self._client = InProcess(create_app(api_keys=("key-one", SECOND_KEY),
                                            faults=[self.fault], data_dir=self.tmp_path,
                                            clock=self.clock))
        return Api(self._client, self.clock, "key-one")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@pytest.fixture
def restartable(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], _Restartable]:
    def make(fault: str) -> _Restartable:
        server = _Restartable(tmp_path, fault)
        request.addfinalizer(server.close)
        return server

    return make


def test_an_unlocked_index_stays_unlocked_after_a_restart(restartable) -> None:
    server = restartable("any-video-unlocks-index")
    api = server.start()
    index = api.create_index()
    first, second = api.task(index), api.task(index)
    api.settle()
    assert api.delete_video(index, first["video_id"]).status_code == 204
    assert server.start().delete(second["_id"]).status_code == 204


@pytest.mark.parametrize("fault", ["delete-removes-neighbour", "refused-delete-removes-task",
                                   "foreign-delete-of-deletable-task"])
def test_tasks_a_fault_removed_stay_removed_after_a_restart(restartable, fault: str) -> None:
    server = restartable(fault)
    api = server.start()
    index = api.create_index()
    removed = api.task(index, "failed")["_id"]
    if fault == "refused-delete-removes-task":
        assert api.delete(removed).status_code == 400  # refused while validating, yet removed
    elif fault == "delete-removes-neighbour":
        assert api.delete(_final(api, index, "failed")["_id"]).status_code == 204
    else:
        api.settle()
        assert api.as_key(SECOND_KEY).delete(removed).status_code == 204
    again = server.start()
    assert again.retrieve(removed).status_code == 404 and removed not in _listed(again)


def test_renamed_tasks_keep_their_new_name_after_a_restart(restartable) -> None:
    server = restartable("delete-renames-neighbours")
    api = server.start()
    index = api.create_index()
    kept = api.task(index)["_id"]
    assert api.delete(_final(api, index, "failed")["_id"]).status_code == 204
    again = server.start()
    assert _ids(again.list(filename="renamed.mp4")) == [kept]


def test_the_latest_deleted_task_and_every_deleted_id_survive_a_restart(restartable) -> None:
    server = restartable("deleted-task-listed-on-last-page")
    api = server.start()
    index = api.create_index()
    live = [_final(api, index, "failed")["_id"] for _ in range(3)]
    gone = _final(api, index, "failed")["_id"]
    assert api.delete(gone).status_code == 204
    again = server.start()
    assert _ids(again.list(page=2, page_limit=2)) == [live[0], gone]


def test_an_id_once_held_is_not_unknown_after_a_restart(restartable) -> None:
    server = restartable("unknown-id-delete-403")
    api = server.start()
    task = _final(api, api.create_index(), "failed")["_id"]
    assert api.delete(task).status_code == 204
    again = server.start()
    for caller in (again, again.as_key(SECOND_KEY)):  # a deleted ID, not one never held
        assert caller.delete(task).status_code == 404
