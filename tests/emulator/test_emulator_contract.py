"""Every clause of the contract holds against the default emulator (in process, manual clock)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from emulator_support import SECOND_KEY, Api

from conformance.clauses import CLAUSES

HEX24 = re.compile(r"[0-9a-f]{24}")
STATUSES = {"uploading", "validating", "pending", "queued", "indexing", "ready", "failed"}


def envelope(answer) -> dict:
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert isinstance(body["code"], str) and isinstance(body["message"], str)
    return body


def test_delete_of_a_failed_task_answers_204_with_no_body(api: Api, index: str) -> None:
    task = api.task(index, "failed")
    api.settle()
    assert api.status(task["_id"]) == "failed"
    answer = api.delete(task["_id"])
    assert answer.status_code == 204
    assert answer.content == b"" and "content-length" not in answer.headers


def test_delete_of_a_task_that_is_not_final_is_refused_and_leaves_it_unchanged(
        api: Api, index: str) -> None:
    task = api.task(index)
    for status in ("validating", "pending", "queued", "indexing"):
        assert api.status(task["_id"]) == status
        answer = api.delete(task["_id"])
        assert answer.status_code == 400
        assert envelope(answer)["code"] == "task_cannot_be_deleted"
        assert api.retrieve(task["_id"]).status_code == 200
        api.clock.advance(0.3)
    api.settle()
    assert api.status(task["_id"]) == "ready"


def test_a_ready_task_is_deletable_only_after_its_video(api: Api, index: str) -> None:
    task = api.task(index)
    api.settle()
    refused = api.delete(task["_id"])
    assert refused.status_code == 400 and envelope(refused)["code"] == "task_cannot_be_deleted"
    video = api.delete_video(index, task["video_id"])
    assert video.status_code == 204 and video.content == b""
    assert api.status(task["_id"]) == "ready"
    assert api.delete(task["_id"]).status_code == 204


def test_the_video_of_a_task_that_is_not_ready_does_not_exist_yet(api: Api, index: str) -> None:
    task = api.task(index)
    answer = api.delete_video(index, task["video_id"])
    assert answer.status_code == 404 and envelope(answer)["code"] == "resource_not_exist"
    failed = api.task(index, "failed")
    api.settle()
    assert api.delete_video(index, failed["video_id"]).status_code == 404


def test_a_deleted_task_is_gone_for_retrieve_list_and_a_second_delete(
        api: Api, index: str) -> None:
    task = api.task(index, "failed")
    api.settle()
    assert api.delete(task["_id"]).status_code == 204
    again = api.retrieve(task["_id"])
    assert again.status_code == 404 and envelope(again)["code"] == "resource_not_exist"
    assert task["_id"] not in {t["_id"] for t in api.list(page_limit=50).json()["data"]}
    second = api.delete(task["_id"])
    assert second.status_code == 404 and envelope(second)["code"] == "resource_not_exist"


def test_deleting_an_id_that_never_existed_answers_404(api: Api) -> None:
    answer = api.delete("0123456789abcdef01234567")
    assert answer.status_code == 404 and envelope(answer)["code"] == "resource_not_exist"


@pytest.mark.parametrize("task_id", [
    "abc", "0123456789ABCDEF01234567", "0123456789abcdef0123456z", "a" * 4000, "%C3%A9" * 24,
    "..", "a%2Fb", "%20",
])
def test_a_malformed_id_answers_a_4xx_envelope(api: Api, task_id: str) -> None:
    for method in ("GET", "DELETE"):
        answer = api.request(method, f"tasks/{task_id}")
        assert 400 <= answer.status_code < 500
        envelope(answer)


def test_an_empty_id_segment_answers_a_4xx_envelope_not_a_redirect(api: Api) -> None:
    answer = api.request("DELETE", "tasks/")
    assert answer.status_code == 404
    envelope(answer)


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_every_operation_without_a_valid_key_answers_401_and_changes_nothing(
        api: Api, index: str, key: str | None) -> None:
    task = api.task(index, "failed")
    api.settle()
    anonymous = api.as_key(key)
    answers = [
        anonymous.create_task(index), anonymous.list(), anonymous.retrieve(task["_id"]),
        anonymous.delete(task["_id"]), anonymous.delete_video(index, task["video_id"]),
        anonymous.request("POST", "indexes", json={"index_name": "x", "models": []}),
        anonymous.request("DELETE", f"indexes/{index}"),
    ]
    for answer in answers:
        assert answer.status_code == 401 and envelope(answer)["code"] == "api_key_invalid"
    assert api.retrieve(task["_id"]).status_code == 200
    assert api.list().json()["page_info"]["total_results"] == 1


def test_another_account_cannot_see_or_delete_a_task(api: Api, index: str) -> None:
    task = api.task(index, "failed")
    api.settle()
    other = api.as_key(SECOND_KEY)
    assert other.retrieve(task["_id"]).status_code == 404
    assert other.delete(task["_id"]).status_code == 404
    assert other.list().json()["data"] == []
    assert other.create_task(index).status_code == 400  # the index is not theirs either
    assert api.status(task["_id"]) == "failed"


def test_a_task_object_has_the_documented_fields_and_types(api: Api, index: str) -> None:
    task = api.task(index)
    body = api.retrieve(task["_id"]).json()
    assert HEX24.fullmatch(body["_id"]) and HEX24.fullmatch(body["video_id"])
    assert body["index_id"] == index and body["status"] in STATUSES
    for field in ("created_at", "updated_at"):
        assert body[field].endswith("Z") and datetime.fromisoformat(body[field])
    assert body["system_metadata"] == {"filename": "clip.mp4", "duration": 5.0,
                                       "width": 480, "height": 360}
    assert body["hls"]["status"] == "PROCESSING" and isinstance(body["hls"]["video_url"], str)
    api.settle()
    hls = api.retrieve(task["_id"]).json()["hls"]
    assert hls["status"] == "COMPLETE" and hls["thumbnail_urls"]


def test_hls_is_absent_when_streaming_was_not_enabled(api: Api, index: str) -> None:
    task = api.task(index, enable_video_stream="false")
    assert "hls" not in api.retrieve(task["_id"]).json()


def test_statuses_only_move_forward_and_updated_at_follows_created_at(
        api: Api, index: str) -> None:
    task = api.task(index)
    order = ["validating", "pending", "queued", "indexing", "ready"]
    seen: list[str] = []
    for _ in range(40):
        body = api.retrieve(task["_id"]).json()
        assert body["updated_at"] >= body["created_at"]
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        api.clock.advance(0.05)
    assert seen == order


def test_a_failed_upload_fails_while_validating(api: Api, index: str) -> None:
    task = api.task(index, "failed")
    assert api.status(task["_id"]) == "validating"
    api.settle()
    body = api.retrieve(task["_id"]).json()
    assert body["status"] == "failed" and body["hls"]["status"] == "ERROR"


def test_create_answers_200_with_ids_and_the_task_is_retrievable(api: Api, index: str) -> None:
    answer = api.create_task(index)
    assert answer.status_code == 200 and set(answer.json()) == {"_id", "video_id"}
    assert api.retrieve(answer.json()["_id"]).json()["video_id"] == answer.json()["video_id"]


@pytest.mark.parametrize(("url", "final"), [("https://cdn.example.com/v/clip.mp4", "ready"),
                                            ("https://cdn.example.com/v/page", "failed")])
def test_a_video_url_with_a_video_extension_becomes_ready(
        api: Api, index: str, url: str, final: str) -> None:
    answer = api.create_task(index, video=None, url=url)
    assert answer.status_code == 200
    api.settle()
    assert api.status(answer.json()["_id"]) == final


@pytest.mark.parametrize(("fields", "code"), [
    ({"index_id": None}, "parameter_not_provided"),
    ({"video": None}, "parameter_not_provided"),
    ({"index_id": "0123456789abcdef01234567"}, "resource_not_exist"),
    ({"index_id": "nope"}, "parameter_invalid"),
    ({"url": "https://x.example/a.mp4"}, "parameter_invalid"),  # both sources
    ({"url": "ftp:/nothing"}, "parameter_invalid"),
    ({"enable_video_stream": "maybe"}, "parameter_invalid"),
    ({"user_metadata": "[1, 2]"}, "parameter_invalid"),
    ({"user_metadata": "{not json"}, "parameter_invalid"),
    ({"user_metadata": "[" * 100000}, "parameter_invalid"),
])
def test_create_with_bad_fields_is_refused_and_creates_nothing(
        api: Api, index: str, fields: dict, code: str) -> None:
    options = {"index_id": index, "video": b"not a video", **fields}
    answer = api.create_task(options.pop("index_id"), options.pop("video"), **options)
    assert answer.status_code == 400 and envelope(answer)["code"] == code
    assert api.list().json()["page_info"]["total_results"] == 0


@pytest.mark.parametrize(("content", "content_type"), [
    (b'{"index_id": "x"}', "application/json"),
    (b"--b\r\nContent-Disposition: form-data; name=\"index_id\"\r\n\r\nunterminated",
     "multipart/form-data; boundary=b"),
    (b"garbage", "multipart/form-data"),
    (b"--b\r\nContent-Disposition: form-data; name=\"index_id\"\r\n\r\n" + b"\xff\xfe" * 10
     + b"\r\n--b--\r\n", "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=\"user_metadata\"\r\n\r\n" + b"x" * 70000
     + b"\r\n--b--\r\n", "multipart/form-data; boundary=b"),
])
def test_malformed_create_bodies_answer_400_envelopes(
        api: Api, content: bytes, content_type: str) -> None:
    answer = api.request("POST", "tasks", content=content,
                         headers={"content-type": content_type})
    assert answer.status_code == 400
    envelope(answer)


def test_an_oversized_upload_is_refused_from_its_declared_length(api: Api, index: str) -> None:
    answer = api.request("POST", "tasks", content=b"--b\r\n",
                         headers={"content-type": "multipart/form-data; boundary=b",
                                  "content-length": str(10**12)})
    assert answer.status_code == 400 and "limit" in envelope(answer)["message"]


def test_list_pages_partition_the_tasks_and_a_page_past_the_end_is_empty(
        api: Api, index: str) -> None:
    ids = [api.task(index, "failed")["_id"] for _ in range(7)]
    pages = [api.list(page=p, page_limit=3).json() for p in (1, 2, 3, 4)]
    seen = [t["_id"] for page in pages for t in page["data"]]
    assert seen == ids[::-1]
    assert pages[0]["page_info"] == {"limit_per_page": 3, "page": 1, "total_page": 3,
                                     "total_results": 7}
    assert pages[3]["data"] == []
    assert all("hls" not in t for page in pages for t in page["data"])


def test_list_filters_by_index_and_status_and_sorts_both_ways(api: Api, index: str) -> None:
    other = api.create_index("other")
    ready = api.task(index)["_id"]
    api.clock.advance(0.1)
    failed = api.task(index, "failed")["_id"]
    api.clock.advance(0.1)
    elsewhere = api.task(other, "failed")["_id"]
    api.settle()

    def ids(**params) -> list[str]:
        answer = api.list(**params)
        assert answer.status_code == 200, answer.text
        return [t["_id"] for t in answer.json()["data"]]

    assert ids() == [elsewhere, failed, ready]
    assert ids(sort_option="asc") == [ready, failed, elsewhere]
    assert ids(index_id=index) == [failed, ready]
    assert ids(status="ready") == [ready]
    assert ids(status=["ready", "failed"], index_id=other) == [elsewhere]
    assert ids(sort_by="updated_at", sort_option="asc") == [failed, elsewhere, ready]
    assert ids(filename="clip.mp4", width=480, height=360, duration=5) == [ready]
    assert ids(created_at="2000-01-01T00:00:00Z") == [elsewhere, failed, ready]
    assert ids(created_at="2999-01-01T00:00:00+02:00") == []


@pytest.mark.parametrize("params", [
    {"page_limit": 51}, {"page_limit": 0}, {"page": 0}, {"page": "x"}, {"page_limit": "1e3"},
    {"sort_by": "name"}, {"sort_option": "up"}, {"status": "done"}, {"index_id": "zz"},
    {"duration": "nan"}, {"width": "wide"}, {"created_at": "yesterday"},
    {"updated_at": "2024-01-01"}, {"page": str(10**30)}, {"page": ["1", "2"]},
    # an empty value is a bad value, never the default
    {"sort_by": ""}, {"sort_option": ""}, {"page": ""}, {"page_limit": ""}, {"status": ""},
    {"index_id": ""}, {"duration": ""}, {"width": ""}, {"height": ""}, {"created_at": ""},
    {"updated_at": ""},
])
def test_bad_list_queries_answer_400_envelopes(api: Api, params: dict) -> None:
    answer = api.list(**params)
    assert answer.status_code == 400
    assert envelope(answer)["code"] == "parameter_invalid"


def test_unknown_paths_and_methods_answer_envelopes_with_allow(api: Api) -> None:
    missing = api.request("GET", "nowhere")
    assert missing.status_code == 404
    envelope(missing)
    answer = api.request("PUT", "tasks/0123456789abcdef01234567")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
    envelope(answer)


def test_deleting_an_index_removes_its_tasks(api: Api, index: str) -> None:
    task = api.task(index, "failed")
    assert api.request("DELETE", f"indexes/{index}").status_code == 204
    assert api.retrieve(task["_id"]).status_code == 404
    assert api.request("DELETE", f"indexes/{index}").status_code == 404


def test_create_index_validates_its_body(api: Api) -> None:
    for body in ({}, {"index_name": "x"}, {"index_name": "", "models": []},
                 {"index_name": "x", "models": [{"model_name": "m", "model_options": ["x"]}]}):
        answer = api.request("POST", "indexes", json=body)
        assert answer.status_code == 400
        envelope(answer)
    raw = api.request("POST", "indexes", content=b"\xff{",
                      headers={"content-type": "application/json"})
    assert raw.status_code == 400


def test_every_clause_is_exercised_here_or_by_a_fault() -> None:
    from conformance.emulator import FAULTS

    covered = {c for f in FAULTS.values() for c in f.clauses}
    assert set(CLAUSES) - covered == {"RATE-LIMIT"}
