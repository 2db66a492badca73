"""The account's unfiltered list, read for what no change to a shared, live account explains.

Other people create and delete tasks while the run reads (contract.md, "Provisioning"), so
two pages read one after the other may overlap by a task, or pass one over, through nobody's
fault. These reads are made so that each finding can only be the target's:

- Within one answer, ``total_page`` and ``total_results`` count the same set at the same
  instant: ``total_page == ceil(total_results / limit_per_page)`` (with ``page_limit=1``,
  ``total_page == total_results``), and ``page`` is the page asked for.
- A page far past the end (``total_page + 10`` pages of 50) is empty: hundreds of tasks
  would have to be made between two requests to fill it.
- The boundary between pages 1 and 2, sorted by ``created_at``: page 1 is read at twice the
  page size, then page 2 at the page size, so page 1 says which task page 2 must start with.
  A task's ``created_at`` never changes, and a task made now is newer than every task
  listed. **Ascending**, a create lands after every page read and a delete moves the tasks
  after it one place up: what others do can pass a task over at the boundary, never show
  one twice, so page 2 starting with a task page 1 held before the boundary (a repeat) is
  the target's. **Descending**, a create lands before page 1 and moves every task one place
  down, a delete moves the tasks after it one place up: the boundary moves by (creates)
  minus (deletes before it), which is at least (creates) minus (deletes), the change of
  ``total_results`` between the two answers. When ``total_results`` did not go down, others
  can have made a task show twice, never one be passed over, so a skip is the target's.
  Tasks made at the same instant may be listed in either order (the check excuses a shift
  among them), and a shift the order explains is read once more and counted only when the
  second look shows it again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import httpx

from conformance.checks.listing import page_two_shift, unreadable_items
from conformance.resources.cleanup import answer_json
from conformance.wire.client import ApiClient

__all__ = ["FAR", "AccountList", "Boundary", "read_account_list"]

FAR = 10
"""Pages past the last one the far page is asked at (at 50 tasks a page)."""
MAX_PAGE = 10_000
"""The highest page asked for: a target may bound ``page`` (the spec's bound is a hint)."""
BOUNDARY_READS = ("_id", "created_at")
ORDERS = {"asc": "repeat", "desc": "skip"}
"""Per created_at order, the shift at the page boundary no change to the account explains."""


@dataclass
class Boundary:
    """Page 1 read at twice ``limit``, then page 2 at ``limit``, once or twice."""

    order: str
    limit: int
    looks: list[tuple[httpx.Response, httpx.Response]] = field(default_factory=list)

    @property
    def judged(self) -> str:
        """"repeat" or "skip": what this order leaves no other explanation for."""
        return ORDERS[self.order]

    def why_not(self, big: httpx.Response, small: httpx.Response) -> str | None:
        """Why this look cannot judge its shift (None: it can)."""
        first, second = answer_json(big), answer_json(small)
        if big.status_code != 200 or small.status_code != 200:
            return None  # a refused page is judged as such
        unreadable = unreadable_items([first, second], BOUNDARY_READS)
        if unreadable is not None:
            return unreadable
        shift = page_two_shift(first, second, self.limit)
        if shift is None:
            return (f"page 2 of {self.limit} starts with no task page 1 of {2 * self.limit} "
                    "showed: the account changed too much between the two reads")
        if self.judged == "skip" and shift > 0 and not _not_down(big, small):
            return ("total_results went down between the two pages: others' deletes may "
                    "have moved a task over the boundary")
        return None

    def counted(self, big: httpx.Response, small: httpx.Response) -> bool:
        """The look shows the shift this order leaves no other explanation for."""
        if self.why_not(big, small) is not None or big.status_code != 200 \
                or small.status_code != 200:
            return False
        shift = page_two_shift(answer_json(big), answer_json(small), self.limit)
        return shift is not None and (shift < 0 if self.judged == "repeat" else shift > 0)


def _not_down(big: httpx.Response, small: httpx.Response) -> bool:
    before, after = _total(big), _total(small)
    return before is not None and after is not None and after >= before


@dataclass
class AccountList:
    """What the run read of the account's unfiltered list (see the module docstring)."""

    first: httpx.Response
    """``page_limit=1``: ``total_page`` must equal ``total_results``."""
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    far: httpx.Response | None = None
    far_page: int = 0
    not_judged: dict[str, str] = field(default_factory=dict)
    """Subject items ("no task on two pages", ...) the reads could not judge, and why."""

    def answers(self) -> list[tuple[int, httpx.Response]]:
        """Every answer read, with the page it asked for."""
        found = [(1, self.first)]
        for boundary in self.boundaries.values():
            for big, small in boundary.looks:
                found += [(1, big), (2, small)]
        if self.far is not None:
            found.append((self.far_page, self.far))
        return found


def _total(response: httpx.Response) -> int | None:
    info = answer_json(response).get("page_info")
    total = info.get("total_results") if isinstance(info, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def read_account_list(client: ApiClient) -> AccountList:
    """Read the account's list as the module docstring says (``client`` unchecked: the list
    tests judge)."""
    found = AccountList(client.list_tasks(page_limit=1))
    total = _total(found.first)
    if found.first.status_code != 200 or total is None:
        why = f"the account's list answered {found.first.status_code} without a total"
        found.not_judged = {"no task on two pages": why, "no task skipped between pages": why,
                            "a page far past the end": why}
        return found
    # Page 1 at twice the size must hold the boundary and a task past it.
    limit = max(2, min(25, total // 3))
    for order in ORDERS:
        item = "no task on two pages" if ORDERS[order] == "repeat" else \
            "no task skipped between pages"
        if total < limit + 2:
            found.not_judged[item] = (f"the account holds {total} task(s): page 1 of "
                                      f"{2 * limit} cannot show where page 2 must start")
            continue
        boundary = Boundary(order, limit)
        for _ in range(2):
            look = (client.list_tasks(page=1, page_limit=2 * limit, sort_by="created_at",
                                      sort_option=order),
                    client.list_tasks(page=2, page_limit=limit, sort_by="created_at",
                                      sort_option=order))
            boundary.looks.append(look)
            if not boundary.counted(*look):
                break
        found.boundaries[order] = boundary
        total = _total(boundary.looks[-1][1]) or total
    found.far_page = math.ceil(total / 50) + FAR
    if found.far_page > MAX_PAGE:
        found.not_judged["a page far past the end"] = (
            f"the account's list holds {total} tasks: page {found.far_page} is past the "
            f"highest page the run asks for ({MAX_PAGE})")
    else:
        found.far = client.list_tasks(page=found.far_page, page_limit=50)
    return found
