"""What a failing check rests on, and the story that leads to it: checked on real exchanges
with the emulator on a loopback port (fast: no whole run)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest
from har_schema import har_problems

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.resources.media import sample_video, undecodable_bytes
from conformance.run.evidence import without_filtered_reproduction
from conformance.run.har import har_document
from conformance.run.reproduce import reproduction_script
from conformance.run.story import build_story
from conformance.settings import Secret
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY = "tlk_story_primary_key_0b5e9d11"
SECOND = "tlk_story_second_key_77c2a0f3"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_in_thread(create_app(api_keys=[KEY, SECOND], time_scale=0.05,
                                         faults=["delete-204-with-body"]))
    yield running
    running.stop()


@pytest.fixture
def api(server: RunningServer) -> Iterator[ApiClient]:
    client = ApiClient(server.base_url, Secret(KEY), transcript=Transcript())
    yield client
    client.close()


def _until(api: ApiClient, task_id: str, status: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = api.retrieve_task(task_id).json()
        if body["status"] == status:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never became {status}")


def test_a_failing_check_carries_itself_its_arguments_and_the_answer_it_judged(
        api: ApiClient) -> None:
    index = api.create_index("conformance-story").json()["_id"]
    task = api.create_task(index, video_file=undecodable_bytes()).json()["_id"]
    failed = _until(api, task, "failed")
    deleted = api.delete_task(task)
    with pytest.raises(ContractViolation) as found:
        checks.delete_answer_is_204_without_body(deleted)
    assert found.value.clause_id == "DEL-EMPTY"
    assert found.value.judged_by is not None
    assert found.value.judged_by.check == \
        "conformance.checks.deletes:delete_answer_is_204_without_body"
    assert found.value.judged_by.arguments == {"response": deleted}
    exchange, = found.value.evidence
    assert exchange is deleted.extensions["conformance.exchange"]
    assert exchange.response_headers["content-length"] == "2"
    # A check that calls another is the one judged: the outer check and both its arguments.
    gone = api.retrieve_task(task)
    with pytest.raises(ContractViolation) as unchanged:
        checks.task_is_unchanged(failed, gone, "DEL-FAILED")
    assert unchanged.value.judged_by is not None
    assert unchanged.value.judged_by.check == "conformance.checks.tasks:task_is_unchanged"
    assert unchanged.value.judged_by.arguments["before"] is failed
    assert unchanged.value.evidence == (gone.extensions["conformance.exchange"],)


def test_a_story_holds_the_index_the_upload_the_wait_and_the_video_delete_before_its_evidence(
        api: ApiClient, server: RunningServer) -> None:
    other = api.create_index("conformance-elsewhere").json()["_id"]
    api.create_task(other, video_file=sample_video())  # another subject: no part of the story
    index = api.create_index("conformance-story").json()["_id"]
    made = api.create_task(index, video_file=("conformance-r-ready-1.mp4", sample_video()))
    task, video = made.json()["_id"], made.json()["video_id"]
    _until(api, task, "ready")
    api.with_key(Secret(SECOND), "second").delete_task(task)
    api.delete_video(index, video)
    api.delete_task(task)
    items = api.transcript.since(0)
    story = build_story(items, [len(items) - 1], server.base_url)
    plan = [(s.kind, s.method, s.url if s.kind == "send" else s.status, s.key)
            for s in story.steps]
    assert plan == [
        ("send", "POST", "${BASE}/indexes", "primary"),
        ("send", "POST", "${BASE}/tasks", "primary"),
        ("wait", "", "ready", "primary"),
        ("send", "DELETE", "${BASE}/tasks/${TASK_1}", "second"),
        ("send", "DELETE", "${BASE}/indexes/${INDEX_1}/videos/${VIDEO_1}", "primary"),
        ("send", "DELETE", "${BASE}/tasks/${TASK_1}", "primary"),
    ]
    assert story.steps[1].captures == {"TASK_1": "_id", "VIDEO_1": "video_id"}
    assert ("index_id", "${INDEX_1}") in story.steps[1].form
    assert story.steps[1].files == [("video_file", "conformance-r-ready-1.mp4", "sample")]
    assert story.variables == {"INDEX_1": index, "TASK_1": task, "VIDEO_1": video}
    assert [s.role for s in story.steps][-1] == "evidence"
    script = reproduction_script(story, title="t", judged="j")
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    assert '"x-api-key: ${TWELVELABS_SECOND_API_KEY}"' in script
    assert index not in script and task not in script


def test_the_har_of_real_exchanges_is_har_1_2(api: ApiClient) -> None:
    api.create_index("conformance-har")
    api.list_tasks(page_limit=2, status=["ready", "failed"])
    api.with_key(None).delete_task("ffffffff0c0ffee0c0ffee00")
    api.create_task("nope", video_file=sample_video(), user_metadata={"k": "v"})
    items = api.transcript.since(0)
    document = har_document(items, [(0, "test_a"), (2, "test_b")])
    assert har_problems(document) == []
    entries = document["log"]["entries"]
    assert [e.get("pageref") for e in entries] == ["test_a", "test_a", "test_b", "test_b"]
    assert entries[1]["request"]["queryString"] == [
        {"name": "page_limit", "value": "2"}, {"name": "status", "value": "ready"},
        {"name": "status", "value": "failed"}]
    upload = entries[3]["request"]["postData"]
    assert upload["mimeType"] == "multipart/form-data"
    assert {"name": "video_file", "fileName": "video.mp4", "contentType":
            "application/octet-stream", "value": f"({len(sample_video())} bytes, not kept)"} \
        in upload["params"]
    text = json.dumps(document)
    assert KEY not in text and "$TWELVELABS_API_KEY" in text


def test_the_har_check_refuses_what_is_no_har_1_2() -> None:
    broken = {"log": {"version": "1.1", "creator": {"name": "x"}, "entries": [{}]}}
    assert len(har_problems(broken)) >= 3


def test_a_list_of_an_index_brings_the_tasks_made_in_it_into_the_story(
        api: ApiClient, server: RunningServer) -> None:
    index = api.create_index("conformance-listed").json()["_id"]
    other = api.create_index("conformance-unlisted").json()["_id"]
    mine = [api.create_task(index, video_file=sample_video()).json()["_id"] for _ in range(2)]
    api.create_task(other, video_file=sample_video())
    api.list_tasks(index_id=index, page_limit=1, page=3)
    items = api.transcript.since(0)
    story = build_story(items, [len(items) - 1], server.base_url)
    made = [s for s in story.steps if s.method == "POST"]
    assert [s.url for s in made] == ["${BASE}/indexes", "${BASE}/tasks", "${BASE}/tasks"]
    named = {v for k, v in story.variables.items() if not k.startswith("VIDEO")}
    assert named == {index, *mine}
    assert story.steps[-1].url == "${BASE}/tasks?index_id=${INDEX_1}&page_limit=1&page=3"


def test_schemathesis_reproduction_with_a_filtered_key_leaves_the_failure_text() -> None:
    text = ("[NO-5XX] Server error\n\nReproduce with:\n\n"
            "    curl -X GET -H 'x-api-key: [Filtered]' 'http://127.0.0.1:1/v1.3/tasks?page=x'"
            "\n\nnote after")
    assert without_filtered_reproduction(text) == "[NO-5XX] Server error\n\nnote after"
    kept = "Reproduce with:\n\n    curl -X GET 'http://127.0.0.1:1/v1.3/tasks'"  # no key sent
    assert without_filtered_reproduction(kept) == kept
