"""The account's unfiltered list is judged only where other users' work cannot explain a
finding (conformance/resources/account_list.py): an account that changes between every two
requests never makes a repeat read ascending, nor a skip read descending while total_results
did not go down, and a target that repeats or skips at the boundary is caught."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.account_list import read_account_list


class ChurningAccount:
    """A list sorted by created_at whose tasks others create (newest of all) and delete
    (anywhere) between any two requests; ``fault`` shifts every page after the first."""

    def __init__(self, seed: int, size: int = 40, churn: int = 3, fault: int = 0,
                 ties: bool = False) -> None:
        self.rng = random.Random(seed)
        self.clock = 1_700_000_000.0
        # With ties, tasks are often made at one instant: the target lists them in any
        # order, anew for each request.
        self.steps = (0.0, 0.0, 1.0) if ties else (0.001, 0.5, 3.0)
        self.tasks: list[tuple[str, float]] = []
        for _ in range(size):
            self._create()
        self.churn, self.fault, self.requests = churn, fault, 0

    def _create(self) -> None:
        self.clock += self.rng.choice(self.steps)
        self.tasks.append((f"t{len(self.tasks)}-{self.rng.randrange(10**6)}", self.clock))

    def _change(self) -> None:
        for _ in range(self.rng.randrange(self.churn + 1)):
            if self.rng.random() < 0.5 or len(self.tasks) < 10:
                self._create()
            else:
                self.tasks.pop(self.rng.randrange(len(self.tasks)))

    def list_tasks(self, *, page: int = 1, page_limit: int = 10, sort_by: str = "created_at",
                   sort_option: str = "desc", **params: Any) -> httpx.Response:
        self.requests += 1
        self._change()
        ordered = sorted(self.tasks, key=lambda t: (t[1], self.rng.random()),
                         reverse=sort_option == "desc")
        start = (page - 1) * page_limit + (self.fault if page > 1 else 0)
        items = [{"_id": task_id, "created_at": datetime.fromtimestamp(at, UTC).isoformat()}
                 for task_id, at in ordered[max(start, 0):max(start, 0) + page_limit]]
        total = len(ordered)
        body = {"data": items, "page_info": {"limit_per_page": page_limit, "page": page,
                                             "total_results": total,
                                             "total_page": -(-total // page_limit)}}
        return httpx.Response(200, json=body, request=httpx.Request(
            "GET", f"http://127.0.0.1:9/v1.3/tasks?page={page}&page_limit={page_limit}"))


def _judge(account: ChurningAccount) -> dict[str, str]:
    """Per order, what the suite's test would say: counted (a finding), excused, or held."""
    found = read_account_list(account)  # type: ignore[arg-type]
    said = {}
    for order, boundary in found.boundaries.items():
        big, small = boundary.looks[-1]
        if boundary.why_not(big, small) is not None:
            said[order] = "excused"
        elif boundary.counted(big, small):
            try:
                checks.page_boundary_holds(big, small, boundary.limit, boundary.judged, order)
            except ContractViolation:
                said[order] = "counted"
                continue
            said[order] = "excused"
        else:
            said[order] = "held"
    return said


@pytest.mark.parametrize("churn", [0, 1, 3, 8])
@pytest.mark.parametrize("ties", [False, True])
def test_no_change_others_make_between_two_pages_is_counted_against_the_target(
        churn: int, ties: bool) -> None:
    counted = []
    for seed in range(300):
        said = _judge(ChurningAccount(seed, churn=churn, ties=ties))
        counted += [(seed, order) for order, verdict in said.items() if verdict == "counted"]
    assert not counted


@pytest.mark.parametrize(("fault", "order"), [(-1, "asc"), (1, "desc")])
def test_a_target_that_repeats_or_skips_at_the_boundary_is_caught(fault: int,
                                                                  order: str) -> None:
    for seed in range(20):
        assert _judge(ChurningAccount(seed, churn=0, fault=fault))[order] == "counted"


def test_a_quiet_account_reads_six_answers_and_a_far_page() -> None:
    account = ChurningAccount(1, size=30, churn=0)
    found = read_account_list(account)  # type: ignore[arg-type]
    assert account.requests == 6 and found.far_page == 1 + 10
    assert {order: b.limit for order, b in found.boundaries.items()} == {"asc": 10, "desc": 10}
    checks.page_past_the_end_is_empty(found.far)  # type: ignore[arg-type]


def test_a_small_account_has_no_boundary_to_judge() -> None:
    found = read_account_list(ChurningAccount(1, size=3, churn=0))  # type: ignore[arg-type]
    assert not found.boundaries
    assert "holds 3 task(s)" in found.not_judged["no task on two pages"]
