"""List: shape, paging, filters and sort, judged on the survey the run took while all its
tasks existed (``conformance.resources.survey``), and on the lists by status the probe read
while a task of the run was unfinished (``conformance.resources.probe``).

A filter is judged for what it shows (every task of the run that matches) and for what it
leaves out (every task of the run that does not); a sort on tasks whose order differs by the
sort key; paging on walks of more than one page, and on the account's whole list only for
what no other user's work can explain (``conformance.resources.account_list``). What the
run's tasks cannot tell apart is reported as not judged, never as passed; so are pages whose
items a check cannot read (no ``_id``, a status outside the enum: LIST-SHAPE's findings).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.cleanup import answer_json
from conformance.resources.pages import Walk
from conformance.resources.pool import Pool
from conformance.resources.survey import (
    PAST_END,
    QUERY_KEYS,
    SORTS,
    Query,
    Survey,
    sort_cannot_tell,
)
from conformance.run.state import Subjects
from conformance.subjects import subject
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.list
ACCOUNT = "the account's list"


def _video_ids(pool: Pool) -> dict[str, str]:
    """The run's tasks whose create answered a video_id: their list items must carry one."""
    found = {}
    for task in pool.tasks.values():
        if task.create_answer is not None:
            video = answer_json(task.create_answer).get("video_id")
            if isinstance(video, str) and video:
                found[task.task_id] = video
    return found


@pytest.mark.clause("LIST-SHAPE")
def test_list_answers_data_and_page_info_with_task_items_without_hls(
        api: ApiClient, run_index: str, pool: Pool, survey: Survey, judged: Subjects) -> None:
    response = api.list_tasks(index_id=run_index)
    body = checks.list_answer_is_well_formed(response)
    shared = pool["shared_ready"].task_id
    if shared not in {item["_id"] for item in body["data"]}:
        # Whether the index's list shows its tasks is LIST-FILTER-SORT's (recall).
        judged.partly("LIST-SHAPE", f"the run's index's list did not show task {shared}: "
                      f"its shape was judged on the {len(body['data'])} item(s) it showed")
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "list", "the run's index"))
    checks.list_answer_is_well_formed(api.list_tasks(page_limit=5))
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "list", "the account's first page"))
    video_ids = _video_ids(pool)
    text = subject("LIST-SHAPE", "list", "video_id of a task whose create returned one")
    if not video_ids:
        judged.not_judged("LIST-SHAPE", text, "no create of the run answered a video_id")
        return
    checks.list_items_carry_video_id(body, video_ids, response)
    for query in survey.queries:
        for page in query.whole.responses:
            checks.list_items_carry_video_id(answer_json(page), video_ids, page)
    judged.add("LIST-SHAPE", text)


def _bodies(responses: Iterable[httpx.Response], clause_id: str) -> list[dict[str, Any]]:
    return [checks.list_body(r, clause_id) for r in responses]


def _paged(walk: Walk, clause_id: str) -> list[dict[str, Any]]:
    bodies = _bodies(walk.responses, clause_id)
    for number, (body, response) in enumerate(zip(bodies, walk.responses, strict=True), 1):
        checks.page_number_is_the_one_asked(body, number, response)
    return bodies


def _paging(text: str) -> str:
    return subject("LIST-PAGING", "filtered lists", text)


@pytest.mark.clause("LIST-PAGING")
def test_every_page_walked_is_the_page_asked_for_and_filtered_pages_partition_their_set(
        survey: Survey, judged: Subjects) -> None:
    walked = [q for q in survey.queries if q.paged is not None]
    if not walked:
        pytest.skip("not judged: no filtered list of the run could be walked in pages")
    several = judged_any = 0
    for query in walked:
        assert query.paged is not None
        if query.unsettled is not None:
            for item in ("totals of filtered lists", "more than one page walked"):
                judged.not_judged("LIST-PAGING", _paging(item), f"{query.name}: "
                                  f"{query.unsettled}")
            continue
        bodies = _paged(query.paged, "LIST-PAGING")
        unreadable = checks.unreadable_items(bodies, ("_id",))
        if unreadable is not None:
            for item in ("totals of filtered lists", "more than one page walked"):
                judged.not_judged("LIST-PAGING", _paging(item), f"{query.name}: {unreadable}")
            continue
        judged_any += 1
        if len(bodies) > 1 and not bodies[-1]["data"]:
            bodies.pop()  # an empty page ending the walk is judged by the next test
        several += len(bodies) > 1
        whole = query.whole
        expected = whole.ids() if whole.complete and len(whole.responses) == 1 else None
        try:
            checks.pages_partition_the_set(bodies, query.paged.limit, expected,
                                           complete=query.paged.complete,
                                           moved=query.changed)
        except ContractViolation as exc:
            raise ContractViolation("LIST-PAGING", f"{query.name}, walked "
                                    f"{query.paged.extent()}: {exc.message}",
                                    reproduce=checks.reproduce_line(query.paged.responses[0])
                                    ) from None
        _not_counted(judged, "LIST-PAGING", query)
    judged.add("LIST-PAGING", _paging("page_info.page as asked"))
    if not judged_any:
        pytest.skip("not judged: no filtered list's items could be counted (see LIST-SHAPE)")
    judged.add("LIST-PAGING", _paging("totals of filtered lists"))
    if several:
        judged.add("LIST-PAGING", _paging("more than one page walked"))
    else:
        judged.not_judged("LIST-PAGING", _paging("more than one page walked"),
                          "every filtered list of the run fit on one page")


@pytest.mark.clause("LIST-PAGING")
def test_a_page_past_the_end_answers_200_with_empty_data(survey: Survey,
                                                         judged: Subjects) -> None:
    items = {"index-run": "a page past the end by index_id",
             "run-ready": "a page past the end by status"}
    assert set(items) == set(PAST_END)
    for key, item in items.items():
        response = survey.past_ends.get(key)
        query = survey.query(key)
        why = "the list was not walked to its end" if response is None or query is None \
            else query.unsettled
        if why is not None:
            judged.not_judged("LIST-PAGING", _paging(item), why)
            continue
        assert response is not None
        checks.page_past_the_end_is_empty(response)
        judged.add("LIST-PAGING", _paging(item))
    if not survey.past_ends or all(getattr(survey.query(key), "unsettled", None)
                                   for key in survey.past_ends):
        pytest.skip("not judged: no filtered list of the run was walked to its end")


def _account(item: str) -> str:
    return subject("LIST-PAGING", ACCOUNT, item)


@pytest.mark.clause("LIST-PAGING")
def test_each_page_of_the_account_s_list_is_the_page_asked_with_totals_that_agree(
        survey: Survey, judged: Subjects) -> None:
    account = survey.account
    for asked, response in account.answers():
        body = checks.list_body(response, "LIST-PAGING")
        checks.page_number_is_the_one_asked(body, asked, response)
        checks.page_info_totals_agree(body, response)
    judged.add("LIST-PAGING", _account("page_info.page as asked"))
    judged.add("LIST-PAGING", _account("total_page of total_results"))


@pytest.mark.clause("LIST-PAGING")
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_the_account_s_list_shows_no_task_twice_and_skips_none_at_a_page_boundary(
        order: str, survey: Survey, judged: Subjects) -> None:
    account = survey.account
    item = "no task on two pages" if order == "asc" else "no task skipped between pages"
    boundary = account.boundaries.get(order)
    if boundary is None:
        why = account.not_judged.get(item, "not read")
        judged.not_judged("LIST-PAGING", _account(item), why)
        pytest.skip(f"not judged: {ACCOUNT}, {item}: {why}")
    big, small = boundary.looks[-1]
    checks.list_body(big, "LIST-PAGING")
    checks.list_body(small, "LIST-PAGING")
    unjudged = boundary.why_not(big, small)
    if unjudged is not None:
        judged.not_judged("LIST-PAGING", _account(item), unjudged)
        pytest.skip(f"not judged: {ACCOUNT}, {item}: {unjudged}")
    if boundary.counted(big, small):  # shown by both looks: no other user explains it
        checks.page_boundary_holds(big, small, boundary.limit, boundary.judged, order)
    judged.add("LIST-PAGING", _account(item))


@pytest.mark.clause("LIST-PAGING")
def test_a_page_far_past_the_end_of_the_account_s_list_is_empty(survey: Survey,
                                                                judged: Subjects) -> None:
    account = survey.account
    item = "a page far past the end"
    if account.far is None:
        why = account.not_judged.get(item, "not read")
        judged.not_judged("LIST-PAGING", _account(item), why)
        pytest.skip(f"not judged: {ACCOUNT}: {why}")
    checks.page_past_the_end_is_empty(account.far)
    judged.add("LIST-PAGING", _account(item))


def _query(survey: Survey, key: str) -> Query:
    query = survey.query(key)
    if query is None:
        why = "; ".join(f"{role} {why}" for role, why in survey.not_there.items())
        pytest.skip(f"not judged: the run has no second index to list ({why or 'not made'})")
    return query


def _reads(query_index: str | None, statuses: list[str] | None) -> tuple[str, ...]:
    """The item fields a filter check reads."""
    return ("_id", *(("index_id",) if query_index else ()), *(("status",) if statuses else ()))


@pytest.mark.clause("LIST-FILTER-SORT")
@pytest.mark.parametrize("key", QUERY_KEYS)
def test_a_filtered_list_shows_every_matching_task_of_the_run_and_no_other(
        key: str, survey: Survey, judged: Subjects) -> None:
    query = _query(survey, key)
    responses = query.whole.responses
    bodies = _bodies(responses, "LIST-FILTER-SORT")
    unreadable = checks.unreadable_items(bodies, _reads(query.index_id, query.statuses))
    if unreadable is not None:
        for head, item in query.subjects:
            judged.not_judged("LIST-FILTER-SORT", subject("LIST-FILTER-SORT", head, item),
                              f"{query.name}: {unreadable}")
        pytest.skip(f"not judged: {query.name}: {unreadable}")
    for body, response in zip(bodies, responses, strict=True):
        checks.list_items_match(body, index_id=query.index_id, statuses=query.statuses,
                                response=response)
    left_out = query.left_out - set(query.changed)
    shown = query.shown - set(query.excused) - set(query.changed)
    checks.filtered_list_leaves_out(bodies, left_out, query.name, responses[0])
    checks.filtered_list_shows_every_match(
        {t: why for t, why in query.missed.items() if t not in query.changed}, query.name,
        responses[0])
    # Judged when it could have failed: by showing a task of the run it must leave out
    # (precision), or by leaving out one it must show (recall).
    reasons = []
    if not left_out:
        reasons.append("no task of the run to leave out")
    if not shown:
        reasons.append("no task of the run it must show")
    for head, item in query.subjects:
        text = subject("LIST-FILTER-SORT", head, item)
        if len(reasons) == 2:
            judged.not_judged("LIST-FILTER-SORT", text, f"{query.name}: {'; '.join(reasons)}")
        else:
            judged.add("LIST-FILTER-SORT", text)
    if not query.whole.complete:
        judged.partly("LIST-FILTER-SORT", f"{query.name} was read up to the page budget "
                      f"({query.whole.extent()}): tasks past it are not looked for")
    if query.excused:
        judged.partly("LIST-FILTER-SORT", f"{query.name}: " + "; ".join(
            f"task {task_id} not looked for ({why})" for task_id, why in query.excused.items()))
    _not_counted(judged, "LIST-FILTER-SORT", query)
    if len(reasons) == 2:
        pytest.skip(f"not judged: {query.name}: {'; '.join(reasons)}")


def _not_counted(judged: Subjects, clause_id: str, query: Query) -> None:
    """Say which tasks a list was judged without: their final status did not stay."""
    if query.changed:
        judged.partly(clause_id, f"{query.name}: " + "; ".join(
            f"task {task_id} not counted ({why})" for task_id, why in query.changed.items()))


def _named(params: dict[str, Any]) -> str:
    within = " within the task's index" if "index_id" in params else ""
    return f"the list by status {params['status']}{within}"


@pytest.mark.clause("LIST-FILTER-SORT")
def test_a_status_filter_shows_a_task_while_it_has_that_status_and_leaves_it_out_at_another(
        pool: Pool, judged: Subjects) -> None:
    looks = [look for probe in pool.probes.values() for look in probe.by_status]
    if not looks:
        why = "; ".join(f"{role}: {probe.stopped}" for role, probe in pool.probes.items())
        judged.not_judged("LIST-FILTER-SORT", subject("LIST-FILTER-SORT", "unfinished status",
                                                      "..."), why or "no task was probed")
        pytest.skip(f"not judged: no task of the run was listed by an unfinished status "
                    f"({why or 'no task was probed'})")
    for look in looks:
        text = subject("LIST-FILTER-SORT", "unfinished status", look.status)
        for params, response in look.lists:
            body = checks.list_body(response, "LIST-FILTER-SORT")
            unreadable = checks.unreadable_items([body], _reads(params.get("index_id"),
                                                                [params["status"]]))
            if unreadable is not None:
                judged.not_judged("LIST-FILTER-SORT", text, f"{_named(params)}: {unreadable}")
                continue
            # Precision from the items' own statuses: one answer that lists a task under
            # a status and shows it at another contradicts itself, whatever changed since.
            checks.list_items_match(body, index_id=params.get("index_id"),
                                    statuses=[params["status"]], response=response)
            if params["status"] != look.status:
                continue
            shown = look.shows(response)
            if shown is False and look.still:
                checks.filtered_list_shows_every_match(
                    {look.task_id: f"it read {look.status} before this list and after it"},
                    _named(params), response)
            elif shown is None:
                judged.partly("LIST-FILTER-SORT", f"{_named(params)}: task {look.task_id} "
                              "may be on a later page (not looked for)")
        judged.add("LIST-FILTER-SORT", text)


@pytest.mark.clause("LIST-FILTER-SORT")
@pytest.mark.parametrize(("sort_by", "sort_option"), SORTS)
def test_sort_by_and_sort_option_order_the_items(
        survey: Survey, sort_by: str, sort_option: str, judged: Subjects) -> None:
    response = survey.sorts[(sort_by, sort_option)]
    body = checks.list_body(response, "LIST-FILTER-SORT")
    text = subject("LIST-FILTER-SORT", "sort", f"{sort_by} {sort_option}")
    unreadable = checks.unreadable_items([body], (sort_by,))
    if unreadable is not None:
        judged.not_judged("LIST-FILTER-SORT", text, unreadable)
        pytest.skip(f"not judged: {unreadable}")
    checks.list_items_are_sorted(body, sort_by, sort_option, response)
    why = sort_cannot_tell(survey.known_in(survey.sort_index), sort_by)
    if why is not None:
        judged.not_judged("LIST-FILTER-SORT", text, why)
        pytest.skip(f"not judged: {why}")
    judged.add("LIST-FILTER-SORT", text)


@pytest.mark.clause("LIST-FILTER-SORT")
def test_page_limit_above_50_is_refused_or_clamped(api: ApiClient, run_index: str,
                                                   judged: Subjects) -> None:
    checks.oversized_page_limit_is_refused_or_clamped(
        api.list_tasks(index_id=run_index, page_limit=51))
    judged.add("LIST-FILTER-SORT", subject("LIST-FILTER-SORT", "page_limit above 50",
                                           "refused or clamped"))
