"""Each fault breaks the clauses it names: shown by the one observation that clause forbids."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from emulator_support import SECOND_KEY, Api

from conformance.clauses import CLAUSES
from conformance.emulator import DEFAULT_API_KEY, FAULTS, create_app

UNKNOWN = "0123456789abcdef01234567"


def _final(api: Api, index: str, kind: str) -> dict[str, str]:
    task = api.task(index, kind)
    api.settle()
    return task


def _gone(api: Api, index: str) -> str:
    task = _final(api, index, "failed")
    assert api.delete(task["_id"]).status_code == 204
    return task["_id"]


def delete_200_empty_object(api: Api, index: str) -> None:
    answer = api.delete(_final(api, index, "failed")["_id"])
    assert answer.status_code == 200 and answer.json() == {}


def delete_204_with_body(api: Api, index: str) -> None:
    answer = api.delete(_final(api, index, "failed")["_id"])
    assert answer.status_code == 204 and answer.headers.get("content-length") == "2"


def delete_pending_accepted(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.status(task["_id"]) == "validating"
    assert api.delete(task["_id"]).status_code == 204


def delete_ready_with_video_accepted(api: Api, index: str) -> None:
    assert api.delete(_final(api, index, "ready")["_id"]).status_code == 204


def delete_failed_refused(api: Api, index: str) -> None:
    assert api.delete(_final(api, index, "failed")["_id"]).status_code == 400


def refusal_wrong_code(api: Api, index: str) -> None:
    answer = api.delete(api.task(index)["_id"])
    assert answer.status_code == 400 and answer.json()["code"] != "task_cannot_be_deleted"


def deleted_task_still_retrievable(api: Api, index: str) -> None:
    assert api.retrieve(_gone(api, index)).status_code == 200


def deleted_task_still_listed(api: Api, index: str) -> None:
    task_id = _gone(api, index)
    assert task_id in {t["_id"] for t in api.list().json()["data"]}


def second_delete_204(api: Api, index: str) -> None:
    assert api.delete(_gone(api, index)).status_code == 204


def unknown_id_delete_204(api: Api, index: str) -> None:
    assert api.delete(UNKNOWN).status_code == 204


def malformed_id_accepted(api: Api, index: str) -> None:
    assert api.delete("not-an-id").status_code == 204


def delete_without_key_accepted(api: Api, index: str) -> None:
    task = _final(api, index, "failed")
    assert api.as_key(None).delete(task["_id"]).status_code == 204


def invalid_key_403(api: Api, index: str) -> None:
    assert api.as_key("wrong").list().status_code == 403


def tenant_leak(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.as_key(SECOND_KEY).retrieve(task["_id"]).status_code == 200


def error_plain_text(api: Api, index: str) -> None:
    assert api.retrieve(UNKNOWN).headers["content-type"].startswith("text/plain")


def server_error_on_bad_query(api: Api, index: str) -> None:
    assert api.list(page="one").status_code == 500


def server_error_on_unknown_retrieve(api: Api, index: str) -> None:
    assert api.retrieve(UNKNOWN).status_code == 500


def task_bad_status_enum(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.retrieve(task["_id"]).json()["hls"]["status"] == "processing"


def duration_as_string(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.retrieve(task["_id"]).json()["system_metadata"]["duration"] == "5.0"


def status_goes_backwards(api: Api, index: str) -> None:
    task = api.task(index)
    seen: list[str] = []
    for _ in range(40):
        status = api.status(task["_id"])
        if not seen or seen[-1] != status:
            seen.append(status)
        api.clock.advance(0.1)
    assert seen[-3:] == ["queued", "indexing", "ready"] and seen.count("queued") == 2


def updated_before_created(api: Api, index: str) -> None:
    body = api.retrieve(api.task(index)["_id"]).json()
    assert body["updated_at"] < body["created_at"]


def create_omits_video_id(api: Api, index: str) -> None:
    answer = api.create_task(index)
    assert answer.status_code == 200 and "video_id" not in answer.json()


def create_without_index_accepted(api: Api, index: str) -> None:
    assert api.create_task(None).status_code == 200


def list_items_have_hls(api: Api, index: str) -> None:
    api.task(index)
    assert "hls" in api.list().json()["data"][0]


def list_never_empty_page(api: Api, index: str) -> None:
    api.task(index)
    assert api.list(page=2).json()["data"]


def list_duplicates_across_pages(api: Api, index: str) -> None:
    for _ in range(4):
        api.task(index)
    first, second = (api.list(page=p, page_limit=2).json()["data"] for p in (1, 2))
    assert first[-1]["_id"] == second[0]["_id"]


def list_ignores_status_filter(api: Api, index: str) -> None:
    api.task(index)
    assert api.list(status="failed").json()["data"]


def list_sort_ignored(api: Api, index: str) -> None:
    first = api.task(index)["_id"]
    api.clock.advance(0.1)
    api.task(index)
    assert api.list(sort_option="asc").json()["data"][0]["_id"] != first


# --- the second family: the same clauses, tried on other subjects ---------------------------
def _ids(answer) -> list[str]:
    return [t["_id"] for t in answer.json()["data"]]


def delete_failed_200(api: Api, index: str) -> None:
    answer = api.delete(_final(api, index, "failed")["_id"])
    assert answer.status_code == 200 and answer.json() == {}


def video_delete_204_with_length(api: Api, index: str) -> None:
    answer = api.delete_video(index, _final(api, index, "ready")["video_id"])
    assert answer.status_code == 204 and answer.headers.get("content-length") == "2"


def delete_accepted_while_indexing(api: Api, index: str) -> None:
    task = api.task(index)
    api.clock.advance(1.0)  # validating, pending and queued last 0.3 s each
    assert api.status(task["_id"]) == "indexing"
    assert api.delete(task["_id"]).status_code == 204


def refused_delete_removes_task(api: Api, index: str) -> None:
    task = api.task(index)
    refused = api.delete(task["_id"])
    assert refused.status_code == 400 and refused.json()["code"] == "task_cannot_be_deleted"
    assert api.retrieve(task["_id"]).status_code == 404


def any_video_unlocks_index(api: Api, index: str) -> None:
    first, second = api.task(index), api.task(index)
    api.settle()
    assert api.delete_video(index, first["video_id"]).status_code == 204
    assert api.delete(second["_id"]).status_code == 204


def video_delete_refused(api: Api, index: str) -> None:
    answer = api.delete_video(index, _final(api, index, "ready")["video_id"])
    assert answer.status_code == 400 and answer.json()["code"] == "parameter_invalid"


def delete_failed_404(api: Api, index: str) -> None:
    task = _final(api, index, "failed")
    assert api.delete(task["_id"]).status_code == 404
    assert api.retrieve(task["_id"]).status_code == 200


def unfinished_refusal_wrong_code(api: Api, index: str) -> None:
    answer = api.delete(api.task(index)["_id"])
    assert answer.status_code == 400 and answer.json()["code"] == "parameter_invalid"


def deleted_task_listed_on_last_page(api: Api, index: str) -> None:
    for _ in range(3):
        api.task(index, "failed")
    gone = _gone(api, index)
    assert gone in _ids(api.list(page=2, page_limit=2))


def unknown_id_delete_403(api: Api, index: str) -> None:
    answer = api.delete(UNKNOWN)
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def uppercase_id_accepted(api: Api, index: str) -> None:
    assert api.delete(UNKNOWN.upper()).status_code == 204


def list_without_key_accepted(api: Api, index: str) -> None:
    assert api.as_key(None).list().status_code == 200


def foreign_delete_of_deletable_task(api: Api, index: str) -> None:
    task = _final(api, index, "failed")
    assert api.as_key(SECOND_KEY).delete(task["_id"]).status_code == 204
    assert api.retrieve(task["_id"]).status_code == 404


def foreign_list_by_index(api: Api, index: str) -> None:
    task = api.task(index)
    assert _ids(api.as_key(SECOND_KEY).list(index_id=index)) == [task["_id"]]


def error_404_without_message(api: Api, index: str) -> None:
    answer = api.retrieve(UNKNOWN)
    assert answer.status_code == 404 and answer.json() == {"code": "resource_not_exist"}


def create_201(api: Api, index: str) -> None:
    answer = api.create_task(index)
    assert answer.status_code == 201 and set(answer.json()) == {"_id", "video_id"}


def create_without_source_accepted(api: Api, index: str) -> None:
    answer = api.create_task(index, video=None)
    assert answer.status_code == 200
    api.settle()
    assert api.status(answer.json()["_id"]) == "failed"


def list_duration_as_string(api: Api, index: str) -> None:
    api.task(index)
    assert api.list().json()["data"][0]["system_metadata"]["duration"] == "5.0"


def delete_removes_neighbour(api: Api, index: str) -> None:
    oldest = _final(api, index, "failed")
    assert api.delete(_final(api, index, "failed")["_id"]).status_code == 204
    assert api.retrieve(oldest["_id"]).status_code == 404


def video_delete_removes_neighbour(api: Api, index: str) -> None:
    oldest, ready = api.task(index, "failed"), api.task(index)
    api.settle()
    assert api.delete_video(index, ready["video_id"]).status_code == 204
    assert api.retrieve(oldest["_id"]).status_code == 404


def refused_delete_removes_neighbour(api: Api, index: str) -> None:
    oldest = api.task(index, "failed")
    assert api.delete(api.task(index)["_id"]).status_code == 400
    assert api.retrieve(oldest["_id"]).status_code == 404


def delete_renames_neighbours(api: Api, index: str) -> None:
    other = api.task(index)
    assert api.delete(_final(api, index, "failed")["_id"]).status_code == 204
    assert api.retrieve(other["_id"]).json()["system_metadata"]["filename"] == "renamed.mp4"


# -- the subject matrix's faults: each on a subject no fault above tried ---------------------

def empty_key_accepted(api: Api, index: str) -> None:
    assert api.as_key("").list().status_code == 200


def key_with_suffix_accepted(api: Api, index: str) -> None:
    assert api.as_key(DEFAULT_API_KEY + "x").list().status_code == 200


def key_without_last_character_accepted(api: Api, index: str) -> None:
    assert api.as_key(DEFAULT_API_KEY[:-1]).list().status_code == 200


def key_case_insensitive(api: Api, index: str) -> None:
    assert api.as_key(DEFAULT_API_KEY.swapcase()).list().status_code == 200


def invalid_key_video_delete_applied(api: Api, index: str) -> None:
    task = _final(api, index, "ready")
    assert api.as_key("wrong").delete_video(index, task["video_id"]).status_code == 401
    assert api.delete(task["_id"]).status_code == 204  # its video is gone


def foreign_create_into_index(api: Api, index: str) -> None:
    answer = api.as_key(SECOND_KEY).create_task(index)
    assert answer.status_code == 200
    assert api.retrieve(answer.json()["_id"]).status_code == 200


def foreign_video_delete(api: Api, index: str) -> None:
    task = _final(api, index, "ready")
    assert api.as_key(SECOND_KEY).delete_video(index, task["video_id"]).status_code == 204


def foreign_retrieve_of_failed_task(api: Api, index: str) -> None:
    task = _final(api, index, "failed")
    assert api.as_key(SECOND_KEY).retrieve(task["_id"]).status_code == 200


def foreign_retrieve_of_unfinished_task(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.as_key(SECOND_KEY).retrieve(task["_id"]).status_code == 200


def deleted_task_listed_by_status(api: Api, index: str) -> None:
    task_id = _gone(api, index)
    assert task_id in {t["_id"] for t in api.list(status="failed").json()["data"]}


def deleted_task_comes_back(api: Api, index: str) -> None:
    task_id = _gone(api, index)
    api.clock.advance(5)
    assert api.retrieve(task_id).status_code == 200


def list_ignores_index_filter(api: Api, index: str) -> None:
    api.task(api.create_index("other"))
    assert api.list(index_id=index).json()["data"]


def list_status_filter_drops_failed(api: Api, index: str) -> None:
    _final(api, index, "failed")
    assert api.list(status="failed").json()["data"] == []


def list_sort_by_updated_ignored(api: Api, index: str) -> None:
    ready = api.task(index)
    failed = api.task(index, "failed")
    api.settle()  # the failed task, made later, finishes first
    ids = [t["_id"] for t in api.list(sort_by="updated_at", sort_option="asc").json()["data"]]
    assert ids == [ready["_id"], failed["_id"]]


def list_status_filter_needs_index(api: Api, index: str) -> None:
    _final(api, index, "ready")
    assert api.list(status="failed").json()["data"]


def list_page_echo_first(api: Api, index: str) -> None:
    assert api.list(page=2).json()["page_info"]["page"] == 1


def list_totals_unfiltered(api: Api, index: str) -> None:
    _final(api, index, "ready")
    assert api.list(status="failed").json()["page_info"]["total_results"] == 1


def refused_delete_fails_task(api: Api, index: str) -> None:
    task = api.task(index)
    assert api.delete(task["_id"]).status_code == 400
    api.settle()
    assert api.status(task["_id"]) == "failed"


def refused_delete_removes_failing_task(api: Api, index: str) -> None:
    task = api.task(index, "failed")
    assert api.delete(task["_id"]).status_code == 400
    assert api.retrieve(task["_id"]).status_code == 404


def malformed_id_normalised(api: Api, index: str) -> None:
    task = _final(api, index, "failed")
    assert api.delete("%20" + task["_id"]).status_code == 204
    assert api.retrieve(task["_id"]).status_code == 404


BREAKS: dict[str, Callable[[Api, str], None]] = {
    name: globals()[name.replace("-", "_")] for name in FAULTS
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_shows_the_deviation_it_names(make_api: Callable[..., Api],
                                                 name: str) -> None:
    api = make_api(faults=[name])
    BREAKS[name](api, api.create_index())


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_the_same_observation_fails_on_the_clean_emulator(make_api: Callable[..., Api],
                                                          name: str) -> None:
    api = make_api()
    with pytest.raises(AssertionError):
        BREAKS[name](api, api.create_index())


def test_every_fault_names_known_clauses_and_every_clause_but_rate_limit_has_one() -> None:
    named = {c for f in FAULTS.values() for c in f.clauses}
    assert named <= set(CLAUSES)
    assert set(CLAUSES) - named == {"RATE-LIMIT"}


def test_unknown_fault_and_variation_names_are_refused_with_the_catalogue() -> None:
    with pytest.raises(ValueError, match=r"unknown fault 'nope'.*delete-200-empty-object"):
        create_app(faults=["nope"])
    with pytest.raises(ValueError, match="unknown variation 'nada'"):
        create_app(variations=["nada"])


@pytest.mark.parametrize("name", ["unknown-id-delete-204", "unknown-id-delete-403",
                                  "server-error-on-unknown-retrieve"])
def test_unknown_id_faults_spare_tasks_another_account_holds_or_held(
        make_api: Callable[..., Api], name: str) -> None:
    api = make_api(faults=[name])
    other = api.as_key(SECOND_KEY)
    index = api.create_index()
    live = _final(api, index, "failed")["_id"]
    deleted = _gone(api, index)
    for task_id in (live, deleted):
        assert other.delete(task_id).status_code == 404
        assert other.retrieve(task_id).status_code == 404
    assert api.retrieve(live).status_code == 200
