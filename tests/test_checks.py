"""Every contract check passes a conforming answer and fails a breaking one with its clause."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
import hypothesis
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import (
    IMPOSSIBLE_PREFIX,
    malformed_task_ids,
    unknown_task_ids,
)

URL = "http://127.0.0.1:9/v1.3/tasks/0123456789abcdef01234567"


def answer(status: int, body: Any = None, *, content: bytes | None = None,
           headers: dict[str, str] | None = None, method: str = "DELETE") -> httpx.Response:
    request = httpx.Request(method, URL, headers={"x-api-key": "k-not-shown"})
    if content is not None:
        return httpx.Response(status, content=content, headers=headers, request=request)
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def error(status: int, code: str = "parameter_invalid", **extra: Any) -> httpx.Response:
    return answer(status, {"code": code, "message": "explained", **extra})


def task(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_id": "0123456789abcdef01234567", "index_id": "aaaaaaaaaaaaaaaaaaaaaaaa",
        "video_id": "bbbbbbbbbbbbbbbbbbbbbbbb", "status": "ready",
        "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:05:05.123+00:00",
        "system_metadata": {"filename": "s.mp4", "duration": 5.0, "width": 480, "height": 360},
        "hls": {"video_url": "https://h/x.m3u8", "thumbnail_urls": ["https://h/t.jpg"],
                "status": "COMPLETE", "updated_at": "2026-01-02T03:05:05Z"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def breaks(clause_id: str, check: Any, *args: Any, **kwargs: Any) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        check(*args, **kwargs)
    assert caught.value.clause_id == clause_id, caught.value
    return caught.value


def test_a_violation_names_the_clause_and_shows_a_keyless_curl_line() -> None:
    violation = breaks("DEL-204", checks.delete_answer_is_204_without_body, answer(200, {}))
    assert "expected exactly 204" in violation.message and "got 200" in violation.message
    assert violation.reproduce is not None
    assert "$TWELVELABS_API_KEY" in violation.reproduce
    assert "k-not-shown" not in str(violation)


def test_the_reproduce_line_prefers_the_recorded_exchange() -> None:
    class Exchange:
        def curl(self) -> str:
            return "curl recorded"

    response = answer(500, content=b"boom")
    response.extensions["conformance.exchange"] = Exchange()  # where ApiClient puts it
    assert breaks("NO-5XX", checks.answer_is_not_a_server_error, response).reproduce == \
        "curl recorded"


@pytest.mark.parametrize("status", [200, 204, 400, 404, 429])
def test_non_server_errors_pass_no_5xx(status: int) -> None:
    checks.answer_is_not_a_server_error(answer(status, content=b""))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_break_no_5xx(status: int) -> None:
    breaks("NO-5XX", checks.answer_is_not_a_server_error, answer(status, content=b""))


@pytest.mark.parametrize("response", [
    error(400),
    error(404, "resource_not_exist", docs_url="https://docs/x"),
    answer(401, content=b'{"code":"api_key_invalid","message":"m"}',
           headers={"content-type": "application/json; charset=utf-8"}),
    answer(429, content=b""),
    answer(429, {"code": "too_many_requests", "message": "slow down"}),
    answer(200, content=b"not json at all"),
], ids=["400", "docs_url", "charset", "empty-429", "429-envelope", "2xx-ignored"])
def test_conforming_error_answers_pass_the_envelope_check(response: httpx.Response) -> None:
    checks.error_answer_has_envelope(response)


@pytest.mark.parametrize("response", [
    answer(404, content=b"<html>not found</html>", headers={"content-type": "text/html"}),
    answer(400, content=b"", headers={"content-type": "application/json"}),
    answer(400, {"message": "no code"}),
    answer(400, {"code": 17, "message": "numeric code"}),
    answer(400, {"code": "x"}),
    answer(400, ["code", "message"]),
    answer(429, content=b"slow", headers={"content-type": "text/plain"}),
], ids=["html", "empty-400", "no-code", "int-code", "no-message", "array", "text-429"])
def test_broken_error_answers_break_the_envelope(response: httpx.Response) -> None:
    breaks("ERR-ENVELOPE", checks.error_answer_has_envelope, response)


def test_a_bodiless_204_passes_and_others_break_del_204_or_del_empty() -> None:
    checks.delete_answer_is_204_without_body(answer(204))
    checks.delete_answer_is_204_without_body(answer(204, headers={"content-length": "0"}))
    breaks("DEL-204", checks.delete_answer_is_204_without_body, answer(200, content=b""))
    breaks("DEL-204", checks.delete_answer_is_204_without_body, error(400))
    breaks("DEL-EMPTY", checks.delete_answer_is_204_without_body, answer(204, content=b"{}"))
    breaks("DEL-EMPTY", checks.delete_answer_is_204_without_body,
           answer(204, headers={"content-length": "2"}))


def test_refusal_must_be_400_and_its_code_and_envelope_are_judged_apart() -> None:
    refusal = error(400, "task_cannot_be_deleted")
    checks.delete_is_refused(refusal)
    checks.refusal_code_is_task_cannot_be_deleted(refusal)
    breaks("DEL-TERMINAL-ONLY", checks.delete_is_refused, answer(204))
    breaks("DEL-TERMINAL-ONLY", checks.delete_is_refused, error(409, "conflict"))
    # a text body is ERR-ENVELOPE's to judge; the refusal itself stands
    checks.delete_is_refused(answer(400, content=b"no", headers={"content-type": "text/plain"}))
    breaks("DEL-VIDEO-FIRST", checks.delete_is_refused, answer(204), "DEL-VIDEO-FIRST")
    # a 400 with the wrong code is still a refusal; only the code clause breaks
    wrong = error(400, "parameter_invalid")
    checks.delete_is_refused(wrong)
    breaks("DEL-REFUSAL-CODE", checks.refusal_code_is_task_cannot_be_deleted, wrong)


@pytest.mark.parametrize("status", [400, 404])
def test_gone_answers_may_be_400_or_404_with_resource_not_exist(status: int) -> None:
    checks.answer_says_task_is_gone(error(status, "resource_not_exist"))
    checks.second_delete_is_not_accepted(error(status, "resource_not_exist"))
    checks.second_delete_is_not_accepted(error(status, "parameter_invalid"))


def test_a_404_says_gone_whatever_its_body_and_a_400_only_with_resource_not_exist() -> None:
    # The body of a 404 is ERR-ENVELOPE's to judge: DEL-GONE reads "gone" from the status.
    checks.answer_says_task_is_gone(error(404, "parameter_invalid"))
    checks.answer_says_task_is_gone(answer(404, content=b"<html>Not Found</html>",
                                           headers={"content-type": "text/html"}))
    checks.answer_says_task_is_gone(answer(404, content=b'{"code":404,"message":"m"}'))
    breaks("DEL-GONE", checks.answer_says_task_is_gone, answer(400, content=b"<html></html>",
                                                               headers={"content-type":
                                                                        "text/html"}))


def test_answers_that_bring_a_deleted_task_back_break_del_gone() -> None:
    breaks("DEL-GONE", checks.answer_says_task_is_gone, answer(200, task()))
    breaks("DEL-GONE", checks.answer_says_task_is_gone, error(400, "parameter_invalid"))
    breaks("DEL-GONE", checks.answer_says_task_is_gone, error(410, "resource_not_exist"))
    breaks("DEL-GONE", checks.second_delete_is_not_accepted, answer(204))
    breaks("DEL-GONE", checks.list_does_not_show, [{"data": []}, {"data": [task()]}],
           task()["_id"], "DEL-GONE", "it was deleted")
    checks.list_does_not_show([{"data": [task(_id="other")]}], task()["_id"], "DEL-GONE", "x")


def test_unknown_and_malformed_ids_are_judged_leniently_on_the_4xx() -> None:
    for status in (400, 404):
        checks.unknown_id_answer_is_not_found(error(status, "resource_not_exist"))
    for status in (400, 404, 405, 414):
        checks.malformed_id_answer_is_client_error(error(status))
    breaks("DEL-UNKNOWN", checks.unknown_id_answer_is_not_found, answer(204))
    breaks("DEL-UNKNOWN", checks.unknown_id_answer_is_not_found, error(403))
    checks.unknown_id_answer_is_not_found(
        answer(404, content=b"missing", headers={"content-type": "text/plain"}))
    breaks("DEL-MALFORMED", checks.malformed_id_answer_is_client_error, answer(204))
    breaks("DEL-MALFORMED", checks.malformed_id_answer_is_client_error,
           answer(500, content=b""))


def test_missing_key_needs_exactly_401() -> None:
    checks.answer_is_unauthorized(error(401, "api_key_invalid"))
    checks.answer_is_unauthorized(answer(401, content=b"", headers={"content-type": "x/y"}))
    for broken in (answer(200, task()), error(403, "forbidden"), error(404, "resource_not_exist")):
        breaks("AUTH-REQUIRED", checks.answer_is_unauthorized, broken)


def test_foreign_access_may_be_any_4xx_the_task_staying_intact_is_judged_apart() -> None:
    for ok in (error(404, "resource_not_exist"), error(403, "forbidden"), error(400),
               error(400, "task_cannot_be_deleted")):
        checks.foreign_access_is_refused(ok)
    breaks("TENANT-ISOLATION", checks.foreign_access_is_refused, answer(200, task()))
    breaks("TENANT-ISOLATION", checks.foreign_access_is_refused, answer(204))


def test_a_documented_task_passes_with_extra_fields_and_optional_parts_absent() -> None:
    checks.task_object_is_well_formed(task(estimated_time="soon", error_reason=None))
    checks.task_object_is_well_formed(task(system_metadata=..., hls=..., video_id=...))
    checks.task_object_is_well_formed(task(system_metadata={"duration": 5, "fps": 30.0}))
    checks.task_object_is_well_formed(task(hls=..., status="indexing"), in_list=True)
    checks.task_object_is_well_formed(task(created_at="2026-01-02t03:04:05.5-02:00"))


@pytest.mark.parametrize("overrides", [
    {"_id": ...}, {"index_id": ...}, {"status": ...}, {"created_at": ...}, {"updated_at": ...},
    {"_id": 12}, {"status": "done"}, {"status": "READY"}, {"video_id": 5},
    {"created_at": "2026-01-02 03:04:05"}, {"updated_at": "yesterday"},
    {"created_at": "2026-13-02T03:04:05Z"},
    {"system_metadata": {"duration": "5"}}, {"system_metadata": {"width": 480.5}},
    {"system_metadata": {"height": True}}, {"system_metadata": []},
    {"hls": {"status": "DONE"}}, {"hls": {"thumbnail_urls": "one"}}, {"hls": "x"},
    {"hls": {"updated_at": "now"}},
], ids=repr)
def test_a_task_breaking_a_documented_field_breaks_task_shape(overrides: dict) -> None:
    breaks("TASK-SHAPE", checks.task_object_is_well_formed, task(**overrides))


def test_list_items_must_not_carry_hls_and_break_list_shape() -> None:
    breaks("LIST-SHAPE", checks.task_object_is_well_formed, task(), in_list=True)
    breaks("LIST-SHAPE", checks.task_object_is_well_formed, task(hls=..., _id=...), in_list=True)


def test_retrieve_answer_and_unchanged_task() -> None:
    body = task()
    assert checks.retrieve_answer_is_task(answer(200, body, method="GET"), body["_id"]) == body
    breaks("TASK-SHAPE", checks.retrieve_answer_is_task, answer(404, {}), body["_id"])
    breaks("TASK-SHAPE", checks.retrieve_answer_is_task, answer(200, body), "another")
    pending = task(status="pending", hls=...)
    checks.task_is_unchanged(pending, answer(200, task(status="indexing")), "DEL-TERMINAL-ONLY")
    # An undocumented status is TASK-SHAPE's to judge (on every read), not a refusal's.
    checks.task_is_unchanged(pending, answer(200, task(status="processing")),
                             "DEL-TERMINAL-ONLY")
    for after in (error(404, "resource_not_exist"), answer(200, task(video_id="other")),
                  answer(200, task(status="validating"))):
        breaks("DEL-TERMINAL-ONLY", checks.task_is_unchanged, pending, after,
               "DEL-TERMINAL-ONLY")


@pytest.mark.parametrize("statuses", [
    ["validating", "pending", "queued", "indexing", "ready"],
    ["uploading", "validating", "failed"], ["pending", "pending", "ready", "ready"],
    ["queued", "failed", "failed"], ["indexing"], [],
    # A status outside the enum is TASK-SHAPE's finding, not a lifecycle step.
    ["validating", "processing", "indexing", "ready"], ["validating", "paused"],
])
def test_forward_status_sequences_pass(statuses: list[str]) -> None:
    checks.statuses_move_forward(statuses)


@pytest.mark.parametrize("statuses", [
    ["indexing", "pending"], ["ready", "indexing"], ["failed", "ready"], ["ready", "failed"],
    ["pending", "queued", "pending"], ["indexing", "processing", "queued"],
    ["ready", "processing", "indexing"],
])
def test_backward_or_unfinal_sequences_break_task_lifecycle(statuses: list[str]) -> None:
    breaks("TASK-LIFECYCLE", checks.statuses_move_forward, statuses)


def test_updated_at_must_not_precede_created_at() -> None:
    checks.task_timestamps_are_ordered(task())
    checks.task_timestamps_are_ordered(task(updated_at="2026-01-02T05:04:05+02:00"))
    breaks("TASK-LIFECYCLE", checks.task_timestamps_are_ordered,
           task(updated_at="2026-01-02T03:04:04Z"))


@pytest.mark.parametrize("times", [{"updated_at": "?"}, {"created_at": 1700000000},
                                   {"updated_at": None}, {"created_at": "2024-01-01T10:00:00"}])
def test_timestamps_that_are_not_both_rfc_3339_are_task_shape_s_not_an_order(
        times: dict[str, Any]) -> None:
    checks.task_timestamps_are_ordered(task(**times))
    breaks("TASK-SHAPE", checks.task_object_is_well_formed, task(**times))


@pytest.mark.parametrize(("before", "after"), [
    ("validating", "indexing"), ("queued", "failed"), ("ready", "ready"), ("indexing", "paused"),
    ("processing", "validating")])
def test_a_status_read_after_another_that_moves_forward_follows_it(before: str,
                                                                   after: str) -> None:
    checks.status_read_later_follows(before, after, answer(200, method="GET"),
                                     answer(200, method="GET"))


@pytest.mark.parametrize(("before", "after"), [
    ("indexing", "queued"), ("ready", "indexing"), ("ready", "failed"), ("failed", "ready")])
def test_a_status_read_after_another_that_goes_back_or_leaves_a_final_one_breaks_the_lifecycle(
        before: str, after: str) -> None:
    earlier, later = answer(200, method="GET"), answer(200, method="GET")
    found = breaks("TASK-LIFECYCLE", checks.status_read_later_follows, before, after, earlier,
                   later)
    assert repr(before) in found.message and repr(after) in found.message


def test_create_answers() -> None:
    ok = {"_id": "t" * 24, "video_id": "v" * 24}
    assert checks.create_answer_is_ok(answer(200, ok, method="POST")) == ok
    for broken in (answer(201, ok), answer(200, {"_id": "t"}), answer(200, {**ok, "_id": 3}),
                   error(400)):
        breaks("CREATE-OK", checks.create_answer_is_ok, broken)
    checks.create_is_rejected(error(400, "parameter_not_provided"))
    checks.create_is_rejected(error(404, "resource_not_exist"))
    breaks("CREATE-REJECTS", checks.create_is_rejected, answer(200, ok))
    checks.create_is_rejected(answer(422, content=b"bad", headers={"content-type": "text/plain"}))
    breaks("CREATE-REJECTS", checks.create_is_rejected, answer(302))


def page(ids: list[str], *, total: int, limit: int = 1, number: int = 1,
         total_page: int | None = None) -> dict[str, Any]:
    return {"data": [task(_id=i, hls=...) for i in ids],
            "page_info": {"limit_per_page": limit, "page": number, "total_results": total,
                          "total_page": -(-total // limit) if total_page is None else total_page}}


def test_list_shape() -> None:
    body = page(["a", "b"], total=2, limit=10)
    assert checks.list_answer_is_well_formed(answer(200, body, method="GET")) == body
    broken: list[Any] = [
        {"data": body["data"]}, {"page_info": body["page_info"], "data": {}},
        page(["a"], total=1, limit=51),
        {**body, "page_info": {**body["page_info"], "total_results": "2"}},
        {**body, "data": [task()]}, {**body, "data": [{"_id": "x"}]},
    ]
    for bad in broken:
        breaks("LIST-SHAPE", checks.list_answer_is_well_formed, answer(200, bad))
    breaks("LIST-SHAPE", checks.list_answer_is_well_formed, error(400))


def test_a_list_body_is_read_under_the_clause_that_needs_it() -> None:
    body = page(["a"], total=1)
    assert checks.list_body(answer(200, {**body, "data": [task()]}), "LIST-PAGING")["data"]
    for broken in (error(400), answer(200, {"data": []}),
                   answer(200, {**body, "page_info": {"page": 1}})):
        breaks("LIST-FILTER-SORT", checks.list_body, broken, "LIST-FILTER-SORT")
    # Items are LIST-SHAPE's: a filter or paging check reads what it can, or judges nothing.
    assert checks.list_body(answer(200, {**body, "data": [1]}), "LIST-FILTER-SORT")


def test_items_a_check_cannot_read_leave_it_unjudged_instead_of_blaming_its_clause() -> None:
    good = page(["a", "b"], total=2, limit=2)
    assert checks.unreadable_items([good], ("_id", "index_id", "status", "created_at")) is None
    for item, fields, said in (
            ({"index_id": "i"}, ("_id",), "a non-empty string _id"),
            (task(status="in_progress"), ("_id", "status"), "a status of the enum"),
            (task(index_id=12345), ("index_id",), "index_id"),
            (task(updated_at="yesterday"), ("updated_at",), "RFC 3339 updated_at"),
            (7, ("_id",), "not an object")):
        why = checks.unreadable_items([good, {**good, "data": [item]}], fields)
        assert why is not None and said in why and "page 2" in why and "LIST-SHAPE" in why
    # A field the check does not read is none of its business.
    assert checks.unreadable_items([{"data": [task(status="done")]}], ("_id",)) is None


def test_total_page_agrees_with_total_results_within_one_answer() -> None:
    for total, limit in ((0, 10), (1, 1), (7, 1), (7, 3), (50, 50), (51, 50)):
        checks.page_info_totals_agree(page([], total=total, limit=limit))
    checks.page_info_totals_agree(page([], total=0, limit=10, total_page=1))
    # A page size over 50 is LIST-SHAPE's finding, whichever of the two numbers is off.
    checks.page_info_totals_agree(page([], total=3000, limit=51, total_page=60))
    for total, limit, pages in ((7, 1, 8), (7, 1, 6), (7, 3, 2), (7, 3, 4), (0, 10, 2)):
        message = breaks("LIST-PAGING", checks.page_info_totals_agree,
                         page([], total=total, limit=limit, total_page=pages)).message
        assert f"ceil({total} / {limit})" in message


def _timed(ids: str, *, total: int, limit: int, number: int = 1,
           ties: str = "") -> httpx.Response:
    """A page of tasks named by letters, created a second apart in letter order (letters in
    ``ties`` all at one instant)."""
    items = [task(_id=i, hls=..., created_at="2026-01-01T00:00:00Z" if i in ties else
                  f"2026-01-01T00:00:{ord(i) - ord('a') + 10:02d}Z") for i in ids]
    return answer(200, {"data": items, "page_info": {
        "limit_per_page": limit, "page": number, "total_results": total,
        "total_page": -(-total // limit)}}, method="GET")


def test_page_two_starts_where_page_one_read_at_twice_the_size_says() -> None:
    big = _timed("abcd", total=6, limit=4)
    assert checks.page_two_shift(big.json(), _timed("cd", total=6, limit=2, number=2).json(),
                                 2) == 0
    assert checks.page_two_shift(big.json(), _timed("bc", total=6, limit=2, number=2).json(),
                                 2) == -1
    assert checks.page_two_shift(big.json(), _timed("de", total=6, limit=2, number=2).json(),
                                 2) == 1
    assert checks.page_two_shift(big.json(), _timed("xy", total=6, limit=2, number=2).json(),
                                 2) is None
    for judged in ("repeat", "skip"):
        checks.page_boundary_holds(big, _timed("cd", total=6, limit=2, number=2), 2, judged,
                                   "asc")
    repeat = _timed("bc", total=6, limit=2, number=2)
    skip = _timed("de", total=6, limit=2, number=2)
    assert "1 task(s) on two pages" in breaks(
        "LIST-PAGING", checks.page_boundary_holds, big, repeat, 2, "repeat", "asc").message
    assert "['c'] before it" in breaks(
        "LIST-PAGING", checks.page_boundary_holds, big, skip, 2, "skip", "desc").message
    # Each order judges only the shift no other user's work explains.
    checks.page_boundary_holds(big, skip, 2, "repeat", "asc")
    checks.page_boundary_holds(big, repeat, 2, "skip", "desc")
    # Tasks made at the same instant may come in either order.
    tied = _timed("abcd", total=6, limit=4, ties="bc")
    checks.page_boundary_holds(tied, _timed("bc", total=6, limit=2, number=2, ties="bc"), 2,
                               "repeat", "asc")


def test_a_list_item_of_a_task_whose_create_returned_a_video_id_carries_one() -> None:
    body = {"data": [task(_id="a"), task(_id="b", video_id=...)]}
    checks.list_items_carry_video_id(body, {"a": "v1"})
    checks.list_items_carry_video_id(body, {"c": "v3"})  # not listed: not this check's
    message = breaks("LIST-SHAPE", checks.list_items_carry_video_id, body,
                     {"a": "v1", "b": "v2"}).message
    assert "task b to carry its video_id" in message and "'v2'" in message


def test_paging_partition_holds_and_breaks() -> None:
    pages = [page(["a"], total=3), page(["b"], total=3, number=2), page(["c"], total=3, number=3)]
    assert checks.pages_partition_the_set(pages, 1, {"a", "b", "c"}) == ["a", "b", "c"]
    for broken in (
        [page(["a"], total=3), page(["a"], total=3), page(["c"], total=3)],
        [page(["a"], total=3), page(["b"], total=3)],
        [page(["a"], total=2), page(["b"], total=3)],
        [page(["a", "b"], total=2)],
        [page(["a"], total=2, total_page=1), page(["b"], total=2, total_page=1)],
    ):
        breaks("LIST-PAGING", checks.pages_partition_the_set, broken, 1)
    breaks("LIST-PAGING", checks.pages_partition_the_set, pages, 1, {"a", "b", "c", "d"})
    two = [page(["a", "b"], total=3, limit=2), page(["c"], total=3, limit=2, number=2)]
    checks.pages_partition_the_set(two, 2)
    breaks("LIST-PAGING", checks.pages_partition_the_set, list(reversed(two)), 2)


def test_a_task_that_moved_between_the_big_page_and_the_walk_is_not_counted_only_it() -> None:
    pages = [page(["a"], total=2), page(["b"], total=2, number=2)]
    # "c" left the set (its final status did not stay) after the big page showed it.
    checks.pages_partition_the_set(pages, 1, {"a", "b", "c"}, moved={"c"})
    checks.pages_partition_the_set(pages, 1, {"a"}, moved={"b"})
    breaks("LIST-PAGING", checks.pages_partition_the_set, pages, 1, {"a", "b", "c", "d"},
           moved={"c"})


def test_page_past_the_end_must_be_an_empty_200() -> None:
    checks.page_past_the_end_is_empty(answer(200, page([], total=3)))
    breaks("LIST-PAGING", checks.page_past_the_end_is_empty, answer(200, page(["c"], total=3)))
    breaks("LIST-PAGING", checks.page_past_the_end_is_empty, error(400))


def test_filters_and_sort_order() -> None:
    body = page(["a", "b"], total=2, limit=10)
    checks.list_items_match(body, index_id=task()["index_id"], statuses=["ready", "failed"])
    breaks("LIST-FILTER-SORT", checks.list_items_match, body, index_id="other")
    breaks("LIST-FILTER-SORT", checks.list_items_match, body, statuses=["pending"])
    items = [task(_id="a", created_at="2026-01-01T00:00:00Z"),
             task(_id="b", created_at="2026-01-01T00:00:01Z"),
             task(_id="c", created_at="2026-01-01T00:00:01Z")]
    checks.list_items_are_sorted({"data": items}, "created_at", "asc")
    checks.list_items_are_sorted({"data": items[::-1]}, "created_at", "desc")
    breaks("LIST-FILTER-SORT", checks.list_items_are_sorted, {"data": items}, "created_at",
           "desc")
    breaks("LIST-FILTER-SORT", checks.list_items_are_sorted, {"data": items[::-1]},
           "created_at", "asc")


def test_oversized_page_limit_may_be_refused_or_clamped_but_not_honoured() -> None:
    checks.oversized_page_limit_is_refused_or_clamped(error(400))
    checks.oversized_page_limit_is_refused_or_clamped(answer(200, page(["a"], total=1, limit=50)))
    for broken in (answer(200, page(["a"], total=1, limit=51)), error(422)):
        breaks("LIST-FILTER-SORT", checks.oversized_page_limit_is_refused_or_clamped, broken)


# The strategies feed the ID tests on live accounts: what they draw must never be real.

@hypothesis.settings(max_examples=300, derandomize=True, database=None)
@hypothesis.given(malformed_task_ids())
def test_a_malformed_id_is_never_well_formed_and_never_leaves_the_tasks_path(wire: str) -> None:
    assert not re.fullmatch(r"[0-9a-f]{24}", unquote(wire))
    assert not any(c in wire for c in "/?#") and wire.isascii()


@hypothesis.settings(max_examples=100, derandomize=True, database=None)
@hypothesis.given(unknown_task_ids())
def test_an_unknown_id_is_well_formed_but_dates_from_1970(task_id: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{24}", task_id)
    assert task_id.startswith(IMPOSSIBLE_PREFIX)


PLAIN = {"content-type": "text/plain"}


@pytest.mark.parametrize(("check", "response", "args"), [
    (checks.answer_is_unauthorized, 401, ()),
    (checks.delete_is_refused, 400, ()),
    (checks.delete_is_refused, 400, ("DEL-VIDEO-FIRST",)),
    (checks.create_is_rejected, 400, ()),
    (checks.unknown_id_answer_is_not_found, 404, ()),
    (checks.malformed_id_answer_is_client_error, 400, ()),
    (checks.foreign_access_is_refused, 404, ()),
], ids=["auth", "refusal", "video-first", "create", "unknown", "malformed", "foreign"])
def test_a_json_error_body_declared_as_text_breaks_only_the_envelope(
        check: Any, response: int, args: tuple[str, ...]) -> None:
    plain = answer(response, content=b'{"code":"x_y","message":"said as text"}', headers=PLAIN)
    check(plain, *args)  # the clause about the status reads the body whatever its type
    breaks("ERR-ENVELOPE", checks.error_answer_has_envelope, plain)


def test_an_answer_without_a_readable_error_body_breaks_only_err_envelope() -> None:
    unreadable = answer(401, content=b"denied", headers=PLAIN)
    checks.answer_is_unauthorized(unreadable)
    assert "not a JSON object" not in breaks("ERR-ENVELOPE", checks.error_answer_has_envelope,
                                             unreadable).message.split("got content type")[0]
    checks.create_is_rejected(answer(400, content=b'{"message":"m"}', headers=PLAIN))
    assert "expected a refusal: 400, got 204" in breaks(
        "DEL-TERMINAL-ONLY", checks.delete_is_refused, answer(204)).message
    refusal = answer(400, content=b'{"code":"task_cannot_be_deleted","message":"m"}',
                     headers=PLAIN)
    checks.refusal_code_is_task_cannot_be_deleted(refusal)
    checks.answer_says_task_is_gone(
        answer(404, content=b'{"code":"resource_not_exist","message":"m"}', headers=PLAIN))


def test_the_package_re_exports_every_public_check_of_its_modules() -> None:
    import inspect

    from conformance.checks import answers, deletes, listing, tasks
    helpers = {"client_error", "error_code", "fail", "json_body", "shown_body", "what", "where",
               "is_date_time", "is_int", "is_number", "parse_time"}
    defined = {name for module in (answers, deletes, listing, tasks)
               for name, value in vars(module).items()
               if not name.startswith("_") and name not in helpers
               and ((inspect.isfunction(value) and value.__module__ == module.__name__)
                    or name.isupper())}
    assert defined == set(checks.__all__)
    assert all(hasattr(checks, name) for name in checks.__all__)


def test_a_shape_violation_says_whether_it_judged_a_list_item_or_the_task_object() -> None:
    assert breaks("TASK-SHAPE", checks.task_object_is_well_formed,
                  task(status="done")).message.startswith("the task object: ")
    assert breaks("LIST-SHAPE", checks.task_object_is_well_formed, task(),
                  in_list=True).message.startswith("a list item: ")


def _exchange(status: int, *, url: str = URL, retry_after: str | None = None,
              elapsed_ms: float = 10.0, attempt: int = 0) -> Any:
    from conformance.wire.transcript import Exchange

    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Exchange(method="GET", url=url, request_headers={}, request_body="", status=status,
                    response_headers=headers, response_body="", elapsed_ms=elapsed_ms,
                    key_label="primary", attempt=attempt)


def test_the_suite_honours_a_429_when_it_waits_as_asked_and_sends_again() -> None:
    from conformance.wire.politeness import Timed, rate_limit_problems

    waited = [Timed(_exchange(429, retry_after="1"), 100.0, 1e9),
              Timed(_exchange(200, elapsed_ms=10.0, attempt=1), 101.02, 1e9 + 1.02)]
    assert rate_limit_problems(waited) == []
    backoff = [Timed(_exchange(429), 100.0, 1e9),
               Timed(_exchange(200, elapsed_ms=5.0, attempt=1), 100.3, 1e9 + 0.3)]
    assert rate_limit_problems(backoff) == []
    # The same request another thread sent before the 429 arrived is not its retry.
    concurrent = [Timed(_exchange(429, retry_after="1"), 100.0, 1e9),
                  Timed(_exchange(200, elapsed_ms=30.0), 100.015, 1e9 + 0.015),
                  Timed(_exchange(200, elapsed_ms=30.0), 100.029, 1e9 + 0.029),
                  Timed(_exchange(200, elapsed_ms=10.0, attempt=1), 101.02, 1e9 + 1.02)]
    assert rate_limit_problems(concurrent) == []
    # An HTTP-date Retry-After counts from when the 429 arrived.
    date = "Sun, 09 Sep 2001 01:46:41 GMT"  # 1000000001 in epoch seconds
    dated = [Timed(_exchange(429, retry_after=date), 50.0, 1_000_000_000.5),
             Timed(_exchange(200, elapsed_ms=0.0), 50.55, 1_000_000_001.05)]
    assert rate_limit_problems(dated) == []
    # Another request between the two is no reason to wait; untimed exchanges are not judged.
    other = _exchange(200, url=URL + "?page=2")
    assert rate_limit_problems([Timed(_exchange(429, retry_after="5"), 1.0, 1.0),
                                Timed(other, 1.1, 1.1), Timed(_exchange(200))]) == []
    # Giving up once the request's patience is spent is honest: the test errors with the
    # target. Patience is time waited, not a number of attempts.
    storm = [Timed(_exchange(429, retry_after="60", attempt=n, elapsed_ms=0.0),
                   1.0 + 60.5 * n, 1.0 + 60.5 * n) for n in range(5)]
    assert rate_limit_problems(storm) == []
    assert rate_limit_problems(storm[:3]) != []  # 120 s waited of 300: it had to go on
    quick = [Timed(_exchange(429, retry_after="1", attempt=n, elapsed_ms=0.0),
                   1.0 + 1.01 * n, 1.0 + 1.01 * n) for n in range(7)]
    assert rate_limit_problems(quick) != []  # six short waits are no reason to stop


def test_the_suite_breaks_its_promise_by_hurrying_or_dropping_after_a_429() -> None:
    from conformance.wire.politeness import Timed, rate_limit_problems

    hurried = rate_limit_problems([Timed(_exchange(429, retry_after="1"), 100.0, 1e9),
                                   Timed(_exchange(200, elapsed_ms=10.0), 100.5, 1e9 + 0.5)])
    assert len(hurried) == 1 and "asked for 1.000 s (Retry-After: 1)" in hurried[0], hurried
    assert "sent again 0.490 s" in hurried[0]
    no_backoff = rate_limit_problems([Timed(_exchange(429), 100.0, 1e9),
                                      Timed(_exchange(200, elapsed_ms=1.0), 100.01, 1e9)])
    assert len(no_backoff) == 1 and "no Retry-After: backoff" in no_backoff[0]
    dropped = rate_limit_problems([Timed(_exchange(429), 1.0, 1.0),
                                   Timed(_exchange(200, url=URL + "x"), 3.0, 3.0)])
    assert len(dropped) == 1 and "not sent again within 30 s" in dropped[0], dropped
    assert "(after 0.0 s of the 300 s of 429s in a row the suite waits out)" in dropped[0]
    # The same request sent much later (another test's) is not the retry of this one.
    forgotten = rate_limit_problems([Timed(_exchange(429, retry_after="1"), 1.0, 1.0),
                                     Timed(_exchange(200), 100.0, 100.0)])
    assert len(forgotten) == 1 and "not sent again" in forgotten[0], forgotten
