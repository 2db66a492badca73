"""Walking the pages of a task listing within the run's page budget.

A live account's list can be far longer than a run should read: a walk stops at the page
budget and says so (``complete`` is False), so a clause judged from it is reported as partly
judged, never as failed for what was not read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources.cleanup import answer_json
from conformance.resources.errors import ProvisioningError
from conformance.wire.client import ApiClient

__all__ = ["Listing", "Walk", "listed_task", "page_size_for", "walk"]


@dataclass
class Walk:
    """The answers of one walk, in page order."""

    responses: list[httpx.Response] = field(default_factory=list)
    complete: bool = True
    """False when the page budget ran out before the listing's end."""
    limit: int = 50
    budget: int = 0
    total_pages: int | None = None
    """``page_info.total_page`` of the first page, when it said."""

    def bodies(self) -> list[dict[str, Any]]:
        """The readable pages (200 with a data array), items that are objects only."""
        found = []
        for response in self.responses:
            body = answer_json(response)
            if response.status_code == 200 and isinstance(body.get("data"), list):
                found.append({**body, "data": [i for i in body["data"] if isinstance(i, dict)]})
        return found

    def ids(self) -> set[str]:
        return {str(item.get("_id")) for body in self.bodies() for item in body["data"]}

    def extent(self) -> str:
        """How much was read, for the report: "3 pages of 2" or "20 of 130 pages (budget)"."""
        read = len(self.responses)
        if self.complete:
            return f"{read} page{'s' if read != 1 else ''} of {self.limit}"
        of = f" of {self.total_pages}" if self.total_pages else ""
        return f"{read}{of} pages of {self.limit} (the page budget of {self.budget})"


def walk(client: ApiClient, *, limit: int, budget: int, **params: Any) -> Walk:
    """Every page of a listing up to the first empty, last or unreadable page, or the budget."""
    result = Walk(limit=limit, budget=budget)
    for number in range(1, budget + 1):
        response = client.list_tasks(page=number, page_limit=limit, **params)
        result.responses.append(response)
        body = answer_json(response)
        if response.status_code != 200 or not body.get("data"):
            return result
        info = body.get("page_info")
        total = info.get("total_page") if isinstance(info, dict) else None
        if number == 1 and isinstance(total, int):
            result.total_pages = total
        if isinstance(total, int) and number >= total:
            return result
    result.complete = False
    return result


def listed_task(client: ApiClient, task_id: str, index_id: str | None) -> dict[str, Any] | None:
    """The task as the first page of its index's list shows it (of the account's list when
    the index is unknown), or None: where a retrieve shows no documented status, the list
    still tells whether the task is final."""
    items = answer_json(client.list_tasks(page_limit=50, **(
        {"index_id": index_id} if index_id else {}))).get("data")
    return next((item for item in items if isinstance(item, dict)
                 and item.get("_id") == task_id), None) if isinstance(items, list) else None


def page_size_for(total: int, pages: int = 4) -> int:
    """A page size that spreads ``total`` items over about ``pages`` pages (1 to 50), so a
    walk crosses page boundaries even on a small account."""
    return max(1, min(50, math.ceil(total / pages)))


class Listing:
    """The run's listing helpers, bounded by its page budget (the tests' ``listing``)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def walk(self, client: ApiClient, limit: int = 50, **params: Any) -> Walk:
        return walk(client, limit=limit, budget=self.budget, **params)

    def pages(self, client: ApiClient, limit: int = 50, **params: Any) -> list[httpx.Response]:
        return self.walk(client, limit, **params).responses

    def bodies(self, client: ApiClient, **params: Any) -> list[dict[str, Any]]:
        """Every page, read leniently, for tests that use the list to see what exists (the
        list's own shape is the list tests' business); an unreadable page is a harness
        error here."""
        found = self.walk(client, **params)
        bodies = found.bodies()
        if len(bodies) < len(found.responses):
            bad = next(r for r in found.responses if r.status_code != 200)
            raise ProvisioningError(f"could not read the task list: GET /tasks {params} "
                                    f"answered {bad.status_code}")
        return bodies

    def ids(self, client: ApiClient, **params: Any) -> set[str]:
        return {str(i.get("_id")) for body in self.bodies(client, **params) for i in body["data"]}
