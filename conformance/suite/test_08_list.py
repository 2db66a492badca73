"""List: shape, paging, filters and sort, judged inside the run's own index."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.run.state import Subjects
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.list

# Every listing below is filtered by the run's index: a live account's other tasks can
# neither disturb the verdict nor be walked at the run's expense.


@pytest.mark.clause("LIST-SHAPE")
def test_list_answers_data_and_page_info_with_task_items_without_hls(
        api: ApiClient, run_index: str, pool: Pool) -> None:
    body = checks.list_answer_is_well_formed(api.list_tasks(index_id=run_index))
    shared = pool["shared_ready"].task_id
    if shared not in {item["_id"] for item in body["data"]}:
        raise ContractViolation("LIST-SHAPE", f"expected the index's list to show task "
                                f"{shared}, got {[i['_id'] for i in body['data']]}")
    checks.list_answer_is_well_formed(api.list_tasks(page_limit=5))


@pytest.mark.clause("LIST-PAGING")
def test_pages_partition_the_index_s_tasks_and_agree_with_total_results(
        api: ApiClient, run_index: str, pool: Pool, listing: Listing, judged: Subjects) -> None:
    whole = checks.list_body(api.list_tasks(index_id=run_index, page_limit=50), "LIST-PAGING")
    total = whole["page_info"]["total_results"]
    # Small pages for the run's few tasks; a big configured index gets about ten pages.
    limit = 1 if total <= 10 else min(50, math.ceil(total / 10))
    walk = listing.walk(api, limit, index_id=run_index)
    bodies = [checks.list_body(r, "LIST-PAGING") for r in walk.responses]
    if bodies and not bodies[-1]["data"] and len(bodies) > 1:
        bodies.pop()  # an empty page ending the walk is judged by the next test
    expected = {item["_id"] for item in whole["data"]} if total <= 50 else None
    checks.pages_partition_the_set(bodies, limit, expected, complete=walk.complete)
    judged.add("LIST-PAGING", f"the run's index: {walk.extent()}")
    if not walk.complete:
        judged.partly("LIST-PAGING", f"the run's index was read up to the page budget "
                      f"({walk.extent()}): pages past it, and the totals, are not judged")


@pytest.mark.clause("LIST-PAGING")
def test_a_page_past_the_end_answers_200_with_empty_data(
        api: ApiClient, run_index: str, pool: Pool) -> None:
    first = checks.list_body(api.list_tasks(index_id=run_index, page_limit=1), "LIST-PAGING")
    past = first["page_info"]["total_page"] + 1
    checks.page_past_the_end_is_empty(api.list_tasks(index_id=run_index, page_limit=1,
                                                     page=past))


@pytest.mark.clause("LIST-FILTER-SORT")
def test_index_and_status_filters_return_only_matching_tasks(
        api: ApiClient, run_index: str, pool: Pool) -> None:
    shared = pool["shared_ready"].task_id
    cases: list[tuple[dict[str, Any], list[str] | None, bool]] = [
        ({"index_id": run_index}, None, True),
        ({"index_id": run_index, "status": "ready"}, ["ready"], True),
        ({"index_id": run_index, "status": "failed"}, ["failed"], False),
        ({"index_id": run_index, "status": ["failed", "ready"]}, ["failed", "ready"], True),
    ]
    for params, statuses, shows_shared in cases:
        response = api.list_tasks(page_limit=50, **params)
        body = checks.list_body(response, "LIST-FILTER-SORT")
        checks.list_items_match(body, index_id=run_index, statuses=statuses,
                                response=response)
        if shows_shared and shared not in {item["_id"] for item in body["data"]}:
            raise ContractViolation(
                "LIST-FILTER-SORT", f"expected the ready task {shared} among the tasks "
                f"matching {params}, got {[i['_id'] for i in body['data']]}",
                reproduce=checks.reproduce_line(response))


@pytest.mark.clause("LIST-FILTER-SORT")
@pytest.mark.parametrize("sort_by", ["created_at", "updated_at"])
@pytest.mark.parametrize("sort_option", ["asc", "desc"])
def test_sort_by_and_sort_option_order_the_items(
        api: ApiClient, run_index: str, pool: Pool, sort_by: str, sort_option: str) -> None:
    response = api.list_tasks(index_id=run_index, page_limit=50, sort_by=sort_by,
                              sort_option=sort_option)
    checks.list_items_are_sorted(checks.list_body(response, "LIST-FILTER-SORT"), sort_by,
                                 sort_option, response)


@pytest.mark.clause("LIST-FILTER-SORT")
def test_page_limit_above_50_is_refused_or_clamped(api: ApiClient, run_index: str) -> None:
    checks.oversized_page_limit_is_refused_or_clamped(
        api.list_tasks(index_id=run_index, page_limit=51))
