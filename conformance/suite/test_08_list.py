"""List: shape, paging, filters and sort, judged on the survey the run took while all its
tasks existed (``conformance.resources.survey``).

A filter is judged for what it shows (every task of the run that matches) and for what it
leaves out (every task of the run that does not); a sort on tasks whose order differs by the
sort key; paging on walks of more than one page. What the run's tasks cannot tell apart is
reported as not judged, never as passed.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.pages import Walk
from conformance.resources.pool import Pool
from conformance.resources.survey import QUERY_KEYS, SORTS, Query, Survey, sort_cannot_tell
from conformance.run.state import Subjects
from conformance.subjects import subject
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.list


@pytest.mark.clause("LIST-SHAPE")
def test_list_answers_data_and_page_info_with_task_items_without_hls(
        api: ApiClient, run_index: str, pool: Pool, judged: Subjects) -> None:
    body = checks.list_answer_is_well_formed(api.list_tasks(index_id=run_index))
    shared = pool["shared_ready"].task_id
    if shared not in {item["_id"] for item in body["data"]}:
        raise ContractViolation("LIST-SHAPE", f"expected the index's list to show task "
                                f"{shared}, got {[i['_id'] for i in body['data']]}")
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "list", "the run's index"))
    checks.list_answer_is_well_formed(api.list_tasks(page_limit=5))
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "list", "the account's first page"))


def _paged(walk: Walk, clause_id: str) -> list[dict]:
    bodies = [checks.list_body(r, clause_id) for r in walk.responses]
    for number, (body, response) in enumerate(zip(bodies, walk.responses, strict=True), 1):
        checks.page_number_is_the_one_asked(body, number, response)
    return bodies


@pytest.mark.clause("LIST-PAGING")
def test_every_page_walked_is_the_page_asked_for_and_filtered_pages_partition_their_set(
        survey: Survey, judged: Subjects) -> None:
    walked = [q for q in survey.queries if q.paged is not None]
    if not walked:
        pytest.skip("not judged: no filtered list of the run could be walked in pages")
    several = 0
    for query in walked:
        assert query.paged is not None
        bodies = _paged(query.paged, "LIST-PAGING")
        if len(bodies) > 1 and not bodies[-1]["data"]:
            bodies.pop()  # an empty page ending the walk is judged by the next test
        several += len(bodies) > 1
        whole = query.whole
        expected = whole.ids() if whole.complete and len(whole.responses) == 1 else None
        try:
            checks.pages_partition_the_set(bodies, query.paged.limit, expected,
                                           complete=query.paged.complete)
        except ContractViolation as exc:
            raise ContractViolation("LIST-PAGING", f"{query.name}, walked "
                                    f"{query.paged.extent()}: {exc.message}",
                                    reproduce=checks.reproduce_line(query.paged.responses[0])
                                    ) from None
    judged.add("LIST-PAGING", subject("LIST-PAGING", "pages", "page_info.page as asked"))
    judged.add("LIST-PAGING", subject("LIST-PAGING", "pages", "totals of filtered lists"))
    if several:
        judged.add("LIST-PAGING", subject("LIST-PAGING", "pages", "more than one page walked"))
    else:
        judged.not_judged("LIST-PAGING", subject("LIST-PAGING", "pages",
                                                 "more than one page walked"),
                          "every filtered list of the run fit on one page")


@pytest.mark.clause("LIST-PAGING")
def test_a_page_past_the_end_answers_200_with_empty_data(survey: Survey,
                                                         judged: Subjects) -> None:
    if survey.past_end is None:
        pytest.skip("not judged: no filtered list of the run was walked to its end")
    checks.page_past_the_end_is_empty(survey.past_end)
    judged.add("LIST-PAGING", subject("LIST-PAGING", "pages", "a page past the end"))


def _query(survey: Survey, key: str) -> Query:
    query = survey.query(key)
    if query is None:
        why = "; ".join(f"{role} {why}" for role, why in survey.not_there.items())
        pytest.skip(f"not judged: the run has no second index to list ({why or 'not made'})")
    return query


@pytest.mark.clause("LIST-FILTER-SORT")
@pytest.mark.parametrize("key", QUERY_KEYS)
def test_a_filtered_list_shows_every_matching_task_of_the_run_and_no_other(
        key: str, survey: Survey, judged: Subjects) -> None:
    query = _query(survey, key)
    responses = query.whole.responses
    bodies = [checks.list_body(r, "LIST-FILTER-SORT") for r in responses]
    for body, response in zip(bodies, responses, strict=True):
        checks.list_items_match(body, index_id=query.index_id, statuses=query.statuses,
                                response=response)
    checks.filtered_list_leaves_out(bodies, query.left_out, query.name, responses[0])
    checks.filtered_list_shows_every_match(query.missed, query.name, responses[0])
    # Judged when it could have failed: by showing a task of the run it must leave out
    # (precision), or by leaving out one it must show (recall).
    reasons = []
    if not query.left_out:
        reasons.append("no task of the run to leave out")
    if not query.shown - set(query.excused):
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
    if not query.left_out and not query.shown - set(query.excused):
        pytest.skip(f"not judged: {query.name}: {'; '.join(reasons)}")


@pytest.mark.clause("LIST-FILTER-SORT")
@pytest.mark.parametrize(("sort_by", "sort_option"), SORTS)
def test_sort_by_and_sort_option_order_the_items(
        survey: Survey, sort_by: str, sort_option: str, judged: Subjects) -> None:
    response = survey.sorts[(sort_by, sort_option)]
    checks.list_items_are_sorted(checks.list_body(response, "LIST-FILTER-SORT"), sort_by,
                                 sort_option, response)
    text = subject("LIST-FILTER-SORT", "sort", f"{sort_by} {sort_option}")
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
