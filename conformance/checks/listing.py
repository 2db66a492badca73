"""Checks on list answers: shape, paging, filters, sort, and what a list must not show."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import httpx

from conformance.checks.answers import client_error, fail, json_body, what, where
from conformance.checks.tasks import (
    MAX_PAGE_LIMIT,
    TASK_STATUSES,
    is_date_time,
    is_int,
    parse_time,
    task_object_is_well_formed,
)


def list_answer_is_well_formed(response: httpx.Response) -> dict[str, Any]:
    """LIST-SHAPE: 200 {data: [task without hls], page_info} with limit_per_page <= 50."""
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        fail("LIST-SHAPE", f"{where(response)}: expected 200 with {{data, page_info}}, got "
             f"{what(response)}", response)
    if not isinstance(body.get("data"), list):
        fail("LIST-SHAPE", f"expected 'data' to be an array, got {what(response)}", response)
    info = body.get("page_info")
    if not isinstance(info, dict):
        fail("LIST-SHAPE", f"expected a 'page_info' object, got {what(response)}", response)
    for name in ("limit_per_page", "page", "total_page", "total_results"):
        if not is_int(info.get(name)):
            fail("LIST-SHAPE", f"expected page_info.{name} to be an integer, got "
                 f"{info.get(name)!r}", response)
    if info["limit_per_page"] > MAX_PAGE_LIMIT:
        fail("LIST-SHAPE", f"expected page_info.limit_per_page <= {MAX_PAGE_LIMIT}, got "
             f"{info['limit_per_page']}", response)
    for item in body["data"]:
        task_object_is_well_formed(item, in_list=True, response=response)
    return body


def list_body(response: httpx.Response, clause_id: str) -> dict[str, Any]:
    """The parts of a list answer a filter, sort or paging check reads, judged under
    ``clause_id``: 200 with a data array and integer page_info fields. The items' own shape is
    LIST-SHAPE's business: :func:`unreadable_items` says when a check cannot read them."""
    body = json_body(response)
    readable = (response.status_code == 200 and isinstance(body, dict)
                and isinstance(body.get("data"), list) and isinstance(body.get("page_info"), dict))
    if not readable:
        fail(clause_id, f"{where(response)}: expected 200 with {{data: [task], page_info}}, "
             f"got {what(response)}", response)
    for name in ("limit_per_page", "page", "total_page", "total_results"):
        if not is_int(body["page_info"].get(name)):
            fail(clause_id, f"expected page_info.{name} to be an integer, got "
                 f"{body['page_info'].get(name)!r}", response)
    return dict(body)


_READS = {
    "_id": (lambda v: isinstance(v, str) and bool(v), "a non-empty string _id"),
    "index_id": (lambda v: isinstance(v, str) and bool(v), "a non-empty string index_id"),
    "status": (lambda v: v in TASK_STATUSES, "a status of the enum"),
    "created_at": (is_date_time, "an RFC 3339 created_at"),
    "updated_at": (is_date_time, "an RFC 3339 updated_at"),
}


def unreadable_items(bodies: Iterable[Mapping[str, Any]], fields: Iterable[str]) -> str | None:
    """Why a filter, sort or paging check cannot read these pages' items (None: it can).

    A check that reads ``_id`` to count pages, or ``status`` to judge a filter, must not blame
    its own clause for an item that lacks them or carries them malformed: that is LIST-SHAPE's
    finding, judged on every list answer of the run. Such pages are "not judged" for the
    check's subject instead."""
    wanted = list(fields)
    for number, body in enumerate(bodies, start=1):
        for place, item in enumerate(body.get("data") or [], start=1):
            if not isinstance(item, Mapping):
                return f"item {place} of page {number} is not an object (see LIST-SHAPE)"
            for name in wanted:
                test, kind = _READS[name]
                if not test(item.get(name)):
                    return (f"item {place} of page {number} does not carry {kind} (it has "
                            f"{item.get(name)!r}: see LIST-SHAPE)")
    return None


def page_info_totals_agree(body: Mapping[str, Any],
                           response: httpx.Response | None = None) -> None:
    """LIST-PAGING: within one answer, total_page is ceil(total_results / limit_per_page) (an
    empty set may count no page or one). Both come from the same instant of the same set, so
    no change to the account between two requests can explain a difference."""
    info = body["page_info"]
    total, limit, pages = info["total_results"], info["limit_per_page"], info["total_page"]
    if limit <= 0 or limit > MAX_PAGE_LIMIT or total < 0:
        return  # not a page size or count a target may answer: LIST-SHAPE's to judge
    expected = math.ceil(total / limit)
    if pages != expected and not (total == 0 and pages in (0, 1)):
        fail("LIST-PAGING", f"expected page_info.total_page = ceil(total_results / "
             f"limit_per_page) = ceil({total} / {limit}) = {expected} within one answer, got "
             f"{pages}", response)


def page_two_shift(first: Mapping[str, Any], second: Mapping[str, Any],
                   limit: int) -> int | None:
    """Where page 2 (``limit`` items a page) starts, relative to where page 1 read at twice
    that size says it should: 0 as it should, -n when it starts with a task page 1 already
    held n places before the boundary (a repeat), +n when it passes over n tasks (a skip);
    None when the pages cannot tell (too short, or page 2 starts with a task page 1 never
    showed)."""
    big = [item["_id"] for item in first["data"]]
    small = [item["_id"] for item in second["data"]]
    if len(big) <= limit or not small:
        return None
    if small[0] not in big:
        return None
    return big.index(small[0]) - limit


def page_boundary_holds(first: httpx.Response, second: httpx.Response, limit: int,
                        judged: str, order: str) -> None:
    """LIST-PAGING: page 2 of ``limit`` items starts where page 1, read at twice that size,
    says the limit-th task ends (no task on two pages, none passed over). ``judged`` is
    "repeat" or "skip": the one shift the caller showed no change to the account can explain
    in this ``order``. Tasks made at the same instant may be listed in either order, anew for
    each request: a shift among them is no finding."""
    big, small = json_body(first), json_body(second)
    shift = page_two_shift(big, small, limit)
    if shift is None or shift == 0:
        return
    ids = [item["_id"] for item in big["data"]]
    times = [parse_time(item["created_at"]) for item in big["data"]]
    if times[limit + shift] == times[limit]:
        return  # tasks made at the same instant: the sort leaves their order to the target
    read = (f"the account's list sorted by created_at {order}: page 2 at {limit} a page "
            f"starts with task {ids[limit + shift]}, but page 1 at {2 * limit} a page")
    if judged == "repeat" and shift < 0:
        fail("LIST-PAGING", f"{read} shows it at place {limit + shift + 1}, on page 1 at "
             f"{limit} a page: {-shift} task(s) on two pages", second)
    if judged == "skip" and shift > 0:
        fail("LIST-PAGING", f"{read} puts {ids[limit:limit + shift]} before it, on no page at "
             f"{limit} a page: {shift} task(s) skipped", second)


def pages_partition_the_set(pages: Sequence[Mapping[str, Any]], limit: int,
                            expected_ids: set[str] | None = None, *,
                            complete: bool = True,
                            moved: Iterable[str] = ()) -> list[str]:
    """LIST-PAGING: consecutive pages hold every task once; totals agree with the items.

    ``complete`` False: the pages are the first ones only (a page budget stopped the walk);
    what they hold is judged, what lies past them is not. ``moved``: tasks that may have
    joined or left the set between the big page and these pages (a final status that did
    not stay), left out of the comparison with ``expected_ids``."""
    seen: list[str] = []
    totals = {p["page_info"]["total_results"] for p in pages}
    if len(totals) != 1:
        fail("LIST-PAGING", f"expected total_results to stay the same across pages, got "
             f"{sorted(totals)}")
    total = totals.pop()
    for number, page in enumerate(pages, start=1):
        ids = [item["_id"] for item in page["data"]]
        if len(ids) > limit:
            fail("LIST-PAGING", f"page {number}: expected at most {limit} items, got {len(ids)}")
        if (page is not pages[-1] or not complete) and len(ids) != limit:
            fail("LIST-PAGING", f"page {number}: expected a full page of {limit} items before "
                 f"the last page, got {len(ids)}")
        again = [i for i in ids if i in seen]
        if again:
            fail("LIST-PAGING", f"page {number}: expected no task on two pages, got "
                 f"{again} again")
        seen.extend(ids)
    if not complete:
        return seen
    if len(seen) != total:
        fail("LIST-PAGING", f"expected total_results ({total}) tasks over all pages, got "
             f"{len(seen)}")
    expected_pages = math.ceil(total / limit) if limit else 0
    total_page = pages[0]["page_info"]["total_page"]
    # An empty set is read on page 1 as much as on no page: either count is right.
    if total_page != expected_pages and not (total == 0 and total_page == 1):
        fail("LIST-PAGING", f"expected total_page = ceil({total} / {limit}) = "
             f"{expected_pages}, got {total_page}")
    unsure = set(moved)
    if expected_ids is not None and set(seen) - unsure != expected_ids - unsure:
        fail("LIST-PAGING", f"expected the pages to hold exactly the tasks of one big page; "
             f"missing {sorted(expected_ids - set(seen) - unsure)}, extra "
             f"{sorted(set(seen) - expected_ids - unsure)}")
    return seen


def page_past_the_end_is_empty(response: httpx.Response) -> None:
    """LIST-PAGING: a page past the end answers 200 with empty data."""
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict) or body.get("data") != []:
        fail("LIST-PAGING", f"{where(response)}: expected 200 with empty data for a page "
             f"past the end (pagers stop on an empty page), got {what(response)}", response)


def list_items_match(body: Mapping[str, Any], *, index_id: str | None = None,
                     statuses: Iterable[str] | None = None,
                     response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT: filtered lists hold only matching tasks."""
    wanted = set(statuses) if statuses is not None else None
    for item in body.get("data") or []:
        if index_id is not None and item.get("index_id") != index_id:
            fail("LIST-FILTER-SORT", f"expected only tasks of index {index_id}, got task "
                 f"{item.get('_id')} of index {item.get('index_id')!r}", response)
        if wanted is not None and item.get("status") not in wanted:
            fail("LIST-FILTER-SORT", f"expected only tasks with status in {sorted(wanted)}, "
                 f"got task {item.get('_id')} with status {item.get('status')!r}", response)


def list_items_are_sorted(body: Mapping[str, Any], sort_by: str, sort_option: str,
                          response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT: the items follow sort_by in sort_option order."""
    values = [parse_time(item[sort_by]) for item in body.get("data") or []]
    pairs = list(pairwise(values))
    broken = [p for p in pairs if (p[0] > p[1] if sort_option == "asc" else p[0] < p[1])]
    if broken:
        shown = [item.get(sort_by) for item in body["data"]]
        fail("LIST-FILTER-SORT", f"expected items sorted by {sort_by} {sort_option}, got "
             f"{shown}", response)


def oversized_page_limit_is_refused_or_clamped(response: httpx.Response) -> None:
    """LIST-FILTER-SORT: page_limit above 50 answers 400 or a page of at most 50."""
    if response.status_code == 400:
        client_error(response, "LIST-FILTER-SORT", "400", allowed=(400,))
        return
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        fail("LIST-FILTER-SORT", f"{where(response)}: expected 400 or 200 clamped to "
             f"{MAX_PAGE_LIMIT} for page_limit above {MAX_PAGE_LIMIT}, got "
             f"{what(response)}", response)
    limit = (body.get("page_info") or {}).get("limit_per_page")
    too_many = len(body.get("data") or []) > MAX_PAGE_LIMIT
    if not isinstance(limit, int) or limit > MAX_PAGE_LIMIT or too_many:
        fail("LIST-FILTER-SORT", f"expected the page clamped to {MAX_PAGE_LIMIT}, got "
             f"limit_per_page {limit!r} and {len(body.get('data') or [])} items", response)


def list_does_not_show(bodies: Iterable[Mapping[str, Any]], task_id: str,
                       clause_id: str, why: str) -> None:
    """No list page shows ``task_id``."""
    for number, body in enumerate(bodies, start=1):
        for item in body.get("data") or []:
            if isinstance(item, Mapping) and item.get("_id") == task_id:
                fail(clause_id, f"expected task {task_id} absent from every list page "
                     f"({why}), but page {number} lists it: {item}")


def page_number_is_the_one_asked(body: Mapping[str, Any], asked: int,
                                 response: httpx.Response | None = None) -> None:
    """LIST-PAGING: page_info.page is the page the request asked for."""
    page = body["page_info"]["page"]
    if page != asked:
        fail("LIST-PAGING", f"expected page_info.page {asked} (the page asked for), got "
             f"{page!r}", response)


def filtered_list_leaves_out(bodies: Iterable[Mapping[str, Any]], task_ids: Iterable[str],
                             what: str, response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT (precision): no page of a filtered list shows a task that does not
    match the filter (``task_ids``: tasks known not to match)."""
    unwanted = set(task_ids)
    for number, body in enumerate(bodies, start=1):
        shown = [item.get("_id") for item in body.get("data") or []
                 if isinstance(item, Mapping) and item.get("_id") in unwanted]
        if shown:
            fail("LIST-FILTER-SORT", f"expected {what} to leave out tasks that do not match "
                 f"it, but page {number} shows {sorted(map(str, shown))}", response)


def filtered_list_shows_every_match(missed: Mapping[str, str], what: str,
                                    response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT (recall): a filtered list shows every task that matches it
    (``missed``: matching tasks it did not show, read again since, and why they match)."""
    if missed:
        shown = "; ".join(f"task {task_id} ({why})" for task_id, why in sorted(missed.items()))
        fail("LIST-FILTER-SORT", f"expected {what} to show every task that matches it, but "
             f"it left out {shown}", response)


def list_items_carry_video_id(body: Mapping[str, Any], video_ids: Mapping[str, str],
                              response: httpx.Response | None = None) -> None:
    """LIST-SHAPE: a list item of a task whose create answered a video_id carries a video_id
    (contract.md, "The task object": required once create has returned one)."""
    for item in body.get("data") or []:
        if not isinstance(item, Mapping) or item.get("_id") not in video_ids:
            continue
        value = item.get("video_id")
        if not isinstance(value, str) or not value:
            fail("LIST-SHAPE", f"a list item: expected task {item['_id']} to carry its "
                 f"video_id (its create answered {video_ids[item['_id']]!r}), got "
                 f"{value!r}", response)
