"""Each conforming variation behaves as described and still keeps every clause."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest
from emulator_support import SECOND_KEY, Api

from conformance.emulator import VARIATIONS, create_app
from conformance.emulator.context import RATE_LIMIT_ENV


def test_rate_limit_turns_every_nth_request_away_with_retry_after(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "3")
    api = make_api(variations=["rate-limit"])
    answers = [api.list() for _ in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 429, 200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    assert answers[2].json()["code"] == "too_many_requests"


def test_rate_limit_defaults_to_every_25th_request(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RATE_LIMIT_ENV, raising=False)
    api = make_api(variations=["rate-limit"])
    limited = [n for n in range(1, 51) if api.list().status_code == 429]
    assert limited == [25, 50]


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


@pytest.mark.parametrize("name", sorted(VARIATIONS))
def test_every_variation_keeps_the_delete_rules(make_api: Callable[..., Api], name: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "1000")
    api = make_api(variations=[name])
    index = api.create_index()
    pending, failed = api.task(index), api.task(index, "failed")
    refused = api.delete(pending["_id"])
    assert refused.status_code == 400 and refused.json()["code"] == "task_cannot_be_deleted"
    api.clock.advance(120)
    assert api.delete(failed["_id"]).status_code == 204
    assert api.delete(pending["_id"]).status_code == 400
    assert api.delete_video(index, pending["video_id"]).status_code == 204
    assert api.delete(pending["_id"]).status_code == 204
    assert api.retrieve(pending["_id"]).status_code in (400, 404)
