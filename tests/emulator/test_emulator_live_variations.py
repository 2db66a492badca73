"""The variations a live target shows (contract.md, "Live targets may differ"): each behaves as
described, in process, or on a loopback server where it is about the wire."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
from emulator_support import MODELS, SECOND_KEY, Api

from conformance.emulator import DEFAULT_API_KEY, NEW_TASK_HIDDEN, create_app, crowd
from conformance.emulator.connections import DROP_IDLE_AFTER
from conformance.emulator.context import STORM_ENV, STORM_LENGTH
from conformance.emulator.errors import LONG_MESSAGE
from conformance.emulator.lifecycle import Clock
from conformance.emulator.server import RunningServer, start_in_thread

UNKNOWN = "0123456789abcdef01234567"
KEY = {"x-api-key": DEFAULT_API_KEY}


def _ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [t["_id"] for t in answer.json()["data"]]


def test_index_create_200_answers_200_with_the_id(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["index-create-200"])
    answer = api.request("POST", "indexes", json={"index_name": "x", "models": MODELS})
    assert answer.status_code == 200 and set(answer.json()) == {"_id"}
    assert api.task(answer.json()["_id"])["_id"]


def test_rate_limit_storms_answer_six_429s_in_a_row_of_three_kinds(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORM_ENV, "10")
    api = make_api(variations=["rate-limit-storms"])
    answers = [api.list() for _ in range(29)]
    limited = [n for n, a in enumerate(answers, 1) if a.status_code == 429]
    assert limited == [*range(10, 10 + STORM_LENGTH), *range(20, 20 + STORM_LENGTH)]
    kinds = [answers[n - 1] for n in limited[:3]]
    assert kinds[0].content == b"" and "retry-after" not in kinds[0].headers
    assert kinds[1].json()["code"] == "too_many_requests"
    assert kinds[1].headers["retry-after"] == "1"
    assert kinds[2].content == b""
    assert parsedate_to_datetime(kinds[2].headers["retry-after"]).tzinfo is not None


@pytest.mark.parametrize("value", ["6", "x", "0"])
def test_a_storm_period_that_leaves_no_answer_between_storms_is_refused(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(STORM_ENV, value)
    with pytest.raises(ValueError, match=STORM_ENV):
        create_app(variations=["rate-limit-storms"])


def test_long_error_messages_pad_every_4xx_message_but_keep_the_envelope(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["long-error-messages"])
    for answer in (api.retrieve(UNKNOWN), api.delete("malformed"), api.as_key(None).list(),
                   api.delete(api.task(api.create_index())["_id"])):
        body = answer.json()
        assert 400 <= answer.status_code < 500 and isinstance(body["code"], str)
        assert len(body["message"]) == LONG_MESSAGE > 2000
    assert api.delete(api.task(api.create_index())["_id"]).json()["code"] == \
        "task_cannot_be_deleted"


def test_new_task_404_briefly_hides_a_new_task_from_every_read_for_a_moment(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["new-task-404-briefly"])
    index = api.create_index()
    task = api.task(index)
    assert api.retrieve(task["_id"]).json()["code"] == "resource_not_exist"
    assert api.delete(task["_id"]).status_code == 404
    assert _ids(api.list()) == [] and _ids(api.list(index_id=index)) == []
    assert api.list().json()["page_info"]["total_results"] == 0
    api.clock.advance(NEW_TASK_HIDDEN)
    assert api.status(task["_id"]) == "validating"
    assert _ids(api.list(status="validating")) == [task["_id"]]


def test_new_task_404_briefly_is_stretched_by_the_time_scale(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["new-task-404-briefly"], time_scale=10)
    task = api.task(api.create_index())
    api.clock.advance(NEW_TASK_HIDDEN * 5)
    assert api.retrieve(task["_id"]).status_code == 404
    api.clock.advance(NEW_TASK_HIDDEN * 5)
    assert api.retrieve(task["_id"]).status_code == 200


def test_busy_account_holds_thousands_of_final_tasks_in_other_indexes(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["busy-account"])
    page = api.list(status="ready", page_limit=50).json()
    assert page["page_info"]["total_results"] >= crowd.EARLIER_TASKS * 0.8
    assert api.list(status="failed").json()["page_info"]["total_results"] > 0
    index = api.create_index()
    assert _ids(api.list(index_id=index)) == []
    api.http.app.state.others.set()


def test_busy_account_has_others_creating_and_deleting_in_both_accounts() -> None:
    clock = Clock(scale=20.0)  # their tasks become final within a tenth of a second
    server = start_in_thread(create_app(api_keys=(DEFAULT_API_KEY, SECOND_KEY),
                                        variations=["busy-account"], clock=clock))
    try:
        with httpx.Client(base_url=server.base_url) as client:
            def totals(key: str) -> int:
                answer = client.get("/tasks", headers={"x-api-key": key})
                return answer.json()["page_info"]["total_results"]

            first, second = totals(DEFAULT_API_KEY), totals(SECOND_KEY)
            created, deleted = set(), set()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (created and deleted):
                time.sleep(crowd.PAUSE * 5)
                ids = {t["_id"] for key in (DEFAULT_API_KEY, SECOND_KEY)
                       for t in client.get("/tasks", params={"page_limit": 50},
                                           headers={"x-api-key": key}).json()["data"]}
                deleted |= {i for i in created if i not in ids}
                created |= ids
            assert totals(DEFAULT_API_KEY) > first and totals(SECOND_KEY) > second
            assert deleted, "the others deleted none of their tasks"
    finally:
        server.stop()


@pytest.fixture
def dropping() -> Iterator[RunningServer]:
    server = start_in_thread(create_app(variations=["keep-alive-drops"]))
    yield server
    server.stop()


def _health(server: RunningServer) -> dict:
    return httpx.get(server.base_url.removesuffix("/v1.3") + "/_emulator/health").json()


def test_keep_alive_drops_close_an_idle_connection_as_the_request_arrives(
        dropping: RunningServer) -> None:
    with httpx.Client(base_url=dropping.base_url, headers=KEY) as client:
        assert client.get("/tasks").status_code == 200
        assert client.get("/tasks").status_code == 200  # reused at once: answered
        time.sleep(DROP_IDLE_AFTER * 3)
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.get("/tasks")
        assert client.get("/tasks").status_code == 200  # a new connection is answered
    assert _health(dropping)["dropped_connections"] == 1


def test_keep_alive_drops_leave_a_dropped_create_undone(dropping: RunningServer) -> None:
    with httpx.Client(base_url=dropping.base_url, headers=KEY) as client:
        index = client.post("/indexes", json={"index_name": "x", "models": MODELS}).json()["_id"]
        time.sleep(DROP_IDLE_AFTER * 3)
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/tasks", data={"index_id": index,
                                        "video_url": "https://cdn.example.com/a.mp4"})
        assert _ids(client.get("/tasks")) == []
