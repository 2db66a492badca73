"""Looking for deleted tasks in every view (DEL-GONE): retrieve, every page of the account's
list, their indexes' lists, the lists by the statuses they had, their indexes' lists by both
final statuses (repeated ``status`` keys), and a second delete, right after each delete and again at
the end of the run. The answers are kept; the tests judge them with :func:`judge_view`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpx

from conformance import checks
from conformance.resources.cleanup import answer_json
from conformance.resources.errors import ProvisioningError
from conformance.resources.pages import Listing, Walk, page_size_for
from conformance.subjects import GONE_VIEWS
from conformance.wire.client import ApiClient

__all__ = ["VIEWS", "Deleted", "GoneLook", "judge_view", "look_for_gone"]

VIEWS = GONE_VIEWS
BOTH = ("ready", "failed")

MAX_INDEXES = 6
"""Index lists one look walks at most; past it the list by index_id is judged in part."""


@dataclass(frozen=True)
class Deleted:
    """A task the run deleted (2xx), with what it was when it was last read."""

    task_id: str
    index_id: str | None
    status: str | None
    what: str
    """For messages: "the failed task", "a task of the property tests"."""


@dataclass
class GoneLook:
    """Every view of some deleted tasks, read at one moment."""

    moment: str
    tasks: list[Deleted]
    retrieves: dict[str, httpx.Response] = field(default_factory=dict)
    walks: dict[str, list[tuple[str, Walk]]] = field(default_factory=dict)
    """View ("every page of the list", "list by index_id", "list by status", "list by
    repeated status keys") -> walks, each with what it lists."""
    second_deletes: dict[str, httpx.Response] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)
    """Views left partly unread (too many indexes to walk), in words."""


def look_for_gone(client: ApiClient, listing: Listing, tasks: Sequence[Deleted],
                  moment: str, statuses: Sequence[str] = ()) -> GoneLook:
    """Read every view of ``tasks`` with ``client`` (unchecked: the tests judge); the lists
    by ``statuses`` are walked as well as those by the tasks' own."""
    look = GoneLook(moment, list(tasks))
    for task in tasks:
        look.retrieves[task.task_id] = client.retrieve_task(task.task_id)
    first = client.list_tasks(page_limit=1)
    total = (answer_json(first).get("page_info") or {}).get("total_results")
    # Pages small enough that even a small account's list spans several of them.
    size = page_size_for(total) if isinstance(total, int) and total > 0 else 50
    look.walks["every page of the list"] = [("the account's list", listing.walk(client, size))]
    indexes = list(dict.fromkeys(t.index_id for t in tasks if t.index_id))
    if len(indexes) > MAX_INDEXES:
        look.cut.append(f"the lists of {len(indexes) - MAX_INDEXES} more indexes were not "
                        "read")
    look.walks["list by index_id"] = [(f"index {index}'s list",
                                       listing.walk(client, index_id=index))
                                      for index in indexes[:MAX_INDEXES]]
    look.walks["list by status"] = [(f"the list by status {status}",
                                     listing.walk(client, status=status))
                                    for status in dict.fromkeys([*_statuses(tasks), *statuses])]
    # Within each index: a page or two where the account-wide list may run to the budget.
    look.walks["list by repeated status keys"] = [
        (f"index {index}'s list by status ready and status failed",
         listing.walk(client, index_id=index, status=list(BOTH)))
        for index in indexes[:MAX_INDEXES]]
    for task in tasks:
        look.second_deletes[task.task_id] = client.delete_task(task.task_id)
    return look


def _statuses(tasks: Iterable[Deleted]) -> list[str]:
    """The statuses the tasks had; both final ones for a task whose status is not known."""
    found: list[str] = []
    for task in tasks:
        for status in [task.status] if task.status else ["ready", "failed"]:
            if status not in found:
                found.append(status)
    return found


def judge_view(look: GoneLook, view: str) -> list[str]:
    """Judge one view of ``look`` (ContractViolation citing DEL-GONE); what was read only in
    part, in words."""
    partly = []
    if view == "retrieve":
        for task in look.tasks:
            checks.answer_says_task_is_gone(look.retrieves[task.task_id])
    elif view == "second delete":
        for task in look.tasks:
            checks.second_delete_is_not_accepted(look.second_deletes[task.task_id])
    else:
        for name, walk in look.walks[view]:
            # Read leniently: the list's own shape and paging are the list tests' business.
            bodies = walk.bodies()
            if len(bodies) < len(walk.responses):
                raise ProvisioningError(f"could not read {name}: page {len(bodies) + 1} "
                                        f"answered {walk.responses[len(bodies)].status_code}")
            for task in look.tasks:
                checks.list_does_not_show(bodies, task.task_id, "DEL-GONE",
                                          f"{task.what} was deleted; {name}, {look.moment}")
            if not walk.complete:
                partly.append(f"{name} was read up to the page budget ({walk.extent()})")
        if view in ("list by index_id", "list by repeated status keys"):
            partly += look.cut
    return partly
