"""Each conforming variation behaves as described and still keeps every clause."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest
from emulator_support import SECOND_KEY, Api

from conformance.emulator import DEFAULT_API_KEY, VARIATIONS, create_app
from conformance.emulator.variations import RATE_LIMIT_ENV

UNKNOWN = "0123456789abcdef01234567"


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [t["_id"] for t in answer.json()["data"]]


def test_rate_limit_turns_every_nth_request_away_with_retry_after(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "3")
    api = make_api(variations=["rate-limit"])
    answers = [api.list() for _ in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 429, 200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    assert answers[2].json()["code"] == "too_many_requests"


def test_rate_limit_defaults_to_every_50th_request(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RATE_LIMIT_ENV, raising=False)
    api = make_api(variations=["rate-limit"])
    limited = [n for n in range(1, 101) if api.list().status_code == 429]
    assert limited == [50, 100]


@pytest.mark.parametrize("value", ["1", "0", "seven", "-3", "2.5"])
def test_a_bad_rate_limit_period_is_refused_at_start_up(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=RATE_LIMIT_ENV):
        create_app(variations=["rate-limit"])


def test_bodiless_rate_limit_has_an_http_date_and_no_body(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "2")
    api = make_api(variations=["rate-limit-bodiless"])
    limited = [api.list() for _ in range(2)][1]
    assert limited.status_code == 429 and limited.content == b""
    assert parsedate_to_datetime(limited.headers["retry-after"]).tzinfo is not None


def test_slow_indexing_stretches_every_phase_fourfold(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["slow-indexing"])
    task = api.task(api.create_index())
    api.clock.advance(5.9)
    assert api.status(task["_id"]) == "indexing"
    api.clock.advance(0.2)
    assert api.status(task["_id"]) == "ready"


def test_time_scale_stretches_the_schedule(make_api: Callable[..., Api]) -> None:
    api = make_api(time_scale=10)
    task = api.task(api.create_index())
    api.clock.advance(14)
    assert api.status(task["_id"]) == "indexing"


def test_extra_fields_appear_in_tasks_and_list_items(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["extra-fields"])
    index = api.create_index()
    task = api.task(index, "failed", user_metadata='{"team": "a"}')
    api.settle()
    body = api.retrieve(task["_id"]).json()
    assert body["error_reason"]["code"] == "video_file_broken"
    assert body["user_metadata"] == {"team": "a"} and "estimated_time" in body
    assert "estimated_time" in api.list().json()["data"][0]


def test_unknown_id_400_answers_unknown_and_deleted_ids_with_400(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["unknown-id-400"])
    index = api.create_index()
    task = api.task(index, "failed")
    api.settle()
    assert api.delete(task["_id"]).status_code == 204
    for answer in (api.retrieve(task["_id"]), api.delete(task["_id"]),
                   api.delete("0123456789abcdef01234567")):
        assert answer.status_code == 400 and answer.json()["code"] == "resource_not_exist"


def test_clamp_page_limit_serves_fifty(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["clamp-page-limit"])
    page = api.list(page_limit=500)
    assert page.status_code == 200 and page.json()["page_info"]["limit_per_page"] == 50


def test_malformed_id_404_answers_404(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["malformed-id-404"])
    assert api.delete("xyz").status_code == 404


def test_skip_states_goes_from_validating_to_final(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["skip-states"])
    task = api.task(api.create_index())
    seen = set()
    for _ in range(20):
        seen.add(api.status(task["_id"]))
        api.clock.advance(0.1)
    assert seen == {"validating", "ready"}


def test_uploading_state_comes_first(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["uploading-state"])
    task = api.task(api.create_index())
    assert api.status(task["_id"]) == "uploading"


@pytest.mark.parametrize(("variation", "field"), [("no-system-metadata", "system_metadata"),
                                                  ("no-hls", "hls")])
def test_optional_objects_can_be_left_out(make_api: Callable[..., Api], variation: str,
                                          field: str) -> None:
    api = make_api(variations=[variation])
    task = api.task(api.create_index())
    assert field not in api.retrieve(task["_id"]).json()


def test_error_docs_url_and_json_charset(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["error-docs-url", "json-charset"])
    answer = api.retrieve("0123456789abcdef01234567")
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json()["docs_url"].startswith("https://")


def test_content_length_zero_on_204(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["content-length-zero-on-204"])
    index = api.create_index()
    task = api.task(index, "failed")
    api.settle()
    answer = api.delete(task["_id"])
    assert answer.status_code == 204 and answer.headers["content-length"] == "0"


def test_timestamps_offset_uses_plus_zero(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["timestamps-offset"])
    body = api.retrieve(api.task(api.create_index())["_id"]).json()
    assert body["created_at"].endswith("+00:00")


def test_foreign_id_403_refuses_another_accounts_task(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["foreign-id-403"])
    task = api.task(api.create_index())
    other = api.as_key(SECOND_KEY)
    assert other.retrieve(task["_id"]).status_code == 403
    assert other.delete(task["_id"]).status_code == 403
    assert other.retrieve("0123456789abcdef01234567").status_code == 404


def test_lenient_queries_read_values_the_contract_need_not_refuse(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["lenient-queries"])
    index = api.create_index()
    task = api.task(index)["_id"]
    for params in ({"width": "-1"}, {"height": "wide"}, {"duration": "nan"},
                   {"width": str(10**30)}, {"created_at": "yesterday"}, {"updated_at": ""},
                   {"duration": ""}):
        assert _ids(api.list(**params)) == [task], params
    for params, page, limit in (({"page": "0"}, 1, 10), ({"page": "x"}, 1, 10),
                                ({"page": ""}, 1, 10), ({"page_limit": "0"}, 1, 10),
                                ({"page_limit": "1e3"}, 1, 10), ({"page_limit": "-4"}, 1, 10)):
        answer = api.list(**params)
        assert answer.status_code == 200 and _ids(answer) == [task], params
        assert answer.json()["page_info"]["page"] == page
        assert answer.json()["page_info"]["limit_per_page"] == limit
    far = api.list(page="1" + "0" * 5000).json()
    assert far["data"] == [] and far["page_info"]["page"] == 2**31 - 1
    for bad_index in ("zz", "", index.upper()):
        assert _ids(api.list(index_id=bad_index)) == [], bad_index


@pytest.mark.parametrize("params", [
    {"sort_by": "name"}, {"sort_option": "up"}, {"status": "done"}, {"status": ""},
    {"sort_by": ""}, {"page_limit": "51"}, {"page_limit": str(10**30)}, {"page": ["1", "2"]},
    {"width": ["1", "2"]},
])
def test_lenient_queries_still_refuse_what_the_contract_requires(
        make_api: Callable[..., Api], params: dict) -> None:
    answer = make_api(variations=["lenient-queries"]).list(**params)
    assert answer.status_code == 400 and answer.json()["code"] == "parameter_invalid"


def test_lenient_queries_with_clamp_page_limit_clamp_instead(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["lenient-queries", "clamp-page-limit"])
    assert api.list(page_limit=10**30).json()["page_info"]["limit_per_page"] == 50


def test_tight_query_bounds_refuse_past_their_maxima(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["tight-query-bounds"])
    for name, bound in (("page", 10000), ("width", 10000), ("height", 10000),
                        ("duration", 86400)):
        assert api.list(**{name: bound}).status_code == 200, name
        answer = api.list(**{name: bound + 1})
        assert answer.status_code == 400 and answer.json()["code"] == "parameter_invalid"


def test_reject_undecodable_at_create_refuses_at_once_but_not_urls(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["reject-undecodable-at-create"])
    index = api.create_index()
    answer = api.create_task(index, b"not a video")
    assert answer.status_code == 400 and answer.json()["code"] == "video_file_broken"
    assert api.list().json()["page_info"]["total_results"] == 0
    url = api.create_task(index, video=None, url="https://cdn.example.com/page")
    assert url.status_code == 200
    api.settle()
    assert api.status(url.json()["_id"]) == "failed"
    assert api.create_task(index).status_code == 200  # a good upload is still accepted


def test_instant_indexing_shows_the_final_status_on_the_first_read(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["instant-indexing"])
    index = api.create_index()
    ready, failed = api.task(index), api.task(index, "failed")
    body = api.retrieve(ready["_id"]).json()
    assert body["status"] == "ready" and body["updated_at"] == body["created_at"]
    assert api.status(failed["_id"]) == "failed"
    assert api.delete_video(index, ready["video_id"]).status_code == 204


def test_brief_first_status_lasts_a_millisecond(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["brief-first-status"], time_scale=10)
    task = api.task(api.create_index())
    assert api.status(task["_id"]) == "validating"
    api.clock.advance(0.001)
    assert api.status(task["_id"]) == "pending"
    api.clock.advance(2.999)  # pending lasts 0.3 s at time scale 1
    assert api.status(task["_id"]) == "pending"
    api.clock.advance(0.001)
    assert api.status(task["_id"]) == "queued"


def test_echo_key_in_errors_repeats_the_key_the_request_sent(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["echo-key-in-errors"])
    assert api.retrieve(UNKNOWN).json()["message"].endswith(
        f" (x-api-key: {DEFAULT_API_KEY})")
    assert api.as_key("not-a-key").list().json()["message"].endswith(
        " (x-api-key: not-a-key)")
    assert api.request("GET", "nowhere").json()["message"].endswith(
        f" (x-api-key: {DEFAULT_API_KEY})")
    assert "(x-api-key:" not in api.as_key(None).list().json()["message"]
    assert api.list().status_code == 200


def test_advisory_headers_on_every_tasks_answer_with_a_falling_count(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["advisory-headers"])
    index = api.create_index()
    task = api.task(index)
    answers = [api.list(), api.retrieve(task["_id"]), api.delete(task["_id"]),
               api.create_task(index), api.as_key(None).list(), api.retrieve(UNKNOWN)]
    for answer in answers:
        assert answer.headers["deprecation"] == "@1798761600"
        assert parsedate_to_datetime(answer.headers["sunset"]).year == 2027
        assert 'rel="deprecation"' in answer.headers["link"]
        assert answer.headers["x-ratelimit-limit"] == "600"
        assert answer.headers["x-ratelimit-reset"] == "60"
    remaining = [int(a.headers["x-ratelimit-remaining"]) for a in answers]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == len(answers)
    assert "deprecation" not in api.delete_video(index, UNKNOWN).headers


@pytest.mark.parametrize(("name", "status", "code"), [
    ("tasks-gone-404", 404, "endpoint_not_exists"), ("tasks-gone-410", 410, "endpoint_removed")])
def test_tasks_gone_answers_every_tasks_operation_after_authentication(
        make_api: Callable[..., Api], name: str, status: int, code: str) -> None:
    api = make_api(variations=[name])
    index = api.create_index()
    for answer in (api.list(), api.create_task(index), api.retrieve(UNKNOWN),
                   api.delete(UNKNOWN), api.delete("malformed")):
        assert answer.status_code == status and answer.json()["code"] == code
        assert isinstance(answer.json()["message"], str)
    assert api.as_key(None).list().status_code == 401
    assert api.as_key("wrong").delete(UNKNOWN).status_code == 401
    assert api.delete_video(index, UNKNOWN).status_code == 404
    assert api.request("DELETE", f"indexes/{index}").status_code == 204


# the tasks-gone variations withdraw the endpoints: no delete rule can hold there
KEEPING = sorted(set(VARIATIONS) - {"tasks-gone-404", "tasks-gone-410"})


@pytest.mark.parametrize("name", KEEPING)
def test_every_variation_keeps_the_delete_rules(make_api: Callable[..., Api], name: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "1000")
    api = make_api(variations=[name])
    index = api.create_index()
    # an unfetchable URL fails on every target, even one that refuses undecodable uploads
    failed = api.create_task(index, video=None, url="https://cdn.example.com/page").json()
    pending = api.task(index)
    api.clock.advance(0.25)  # past new-task-404-briefly's moment, still validating
    if name != "instant-indexing":
        refused = api.delete(pending["_id"])
        assert refused.status_code == 400 and refused.json()["code"] == "task_cannot_be_deleted"
    api.clock.advance(120)
    assert api.delete(failed["_id"]).status_code == 204
    assert api.delete(pending["_id"]).status_code == 400
    assert api.delete_video(index, pending["video_id"]).status_code == 204
    assert api.delete(pending["_id"]).status_code == 204
    assert api.retrieve(pending["_id"]).status_code in (400, 404)
