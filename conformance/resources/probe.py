"""Deleting a task while it is not final yet, at every unfinished status it is seen in.

DEL-TERMINAL-ONLY holds for each non-final status, not for the first one caught, and for tasks
bound for ready and for failed alike: the probe reads the task, and at each status it has not
tried yet sends a delete and reads again. As contract.md says, an attempt is judged only when
the read before and the read after both show the task unfinished; a read after that shows it
gone is judged too (a refusal that removed the task breaks the clause as surely as an accepted
delete), except an accepted delete of a task bound for failed, which may have failed in
between and then been deleted rightly. A read after that shows the task final is a race,
unjudged.

While the task is at an unfinished status, the probe also lists tasks by that status (alone,
and with the task's index) and by the statuses beside it in the lifecycle (with its index):
a status filter is judged while the run holds a task it must show, and one it must leave
out (``StatusLook``). A list that left the task out counts only when the task reads that
status again after it (the race rule of the delete attempts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.checks import TASK_STATUSES
from conformance.resources.cleanup import FINAL, answer_json, is_gone
from conformance.resources.isolation import ForeignTries
from conformance.resources.pages import listed_task
from conformance.resources.watch import NEW_TASK_GRACE
from conformance.wire.client import ApiClient

__all__ = ["UNFINISHED", "Attempt", "OtherTry", "StatusLook", "UnfinishedDeletes",
           "probe_unfinished"]

UNFINISHED = ("uploading", "validating", "pending", "queued", "indexing")
"""The unfinished statuses in lifecycle order: a status's neighbours are the ones beside it."""


@dataclass
class Attempt:
    """One delete of an unfinished task and the reads around it."""

    before: dict[str, Any]
    response: httpx.Response
    after: httpx.Response

    @property
    def status(self) -> str:
        return str(self.before.get("status"))


@dataclass
class OtherTry:
    """Another caller's delete of the unfinished task (a client library's, through its own
    code): what it returned, and the read after it."""

    status: str
    """The task's status, read just before."""
    outcome: Any
    after: httpx.Response

    @property
    def judged(self) -> bool:
        """Judged when the read after shows the task unfinished still, or gone."""
        status = _read_status(self.after)
        return is_gone(self.after) or (status is not None and status not in FINAL)


@dataclass
class StatusLook:
    """Lists by status read while the task was at ``status`` (before and after them)."""

    status: str
    task_id: str
    index_id: str | None
    lists: list[tuple[dict[str, Any], httpx.Response]] = field(default_factory=list)
    """(query, answer): by ``status`` alone, with the index, then by each neighbour status."""
    again: httpx.Response | None = None
    """The task read after the lists, when a list by its own status did not show it."""

    def shows(self, response: httpx.Response) -> bool | None:
        """Whether the list shows the task (None: it cannot say, the task may be on a later
        page or the items carry no readable _id)."""
        body = answer_json(response)
        items = body.get("data")
        info = body.get("page_info")
        if response.status_code != 200 or not isinstance(items, list) or \
                not all(isinstance(i, dict) and isinstance(i.get("_id"), str) for i in items):
            return None
        if any(i["_id"] == self.task_id for i in items):
            return True
        total = info.get("total_results") if isinstance(info, dict) else None
        return False if isinstance(total, int) and total <= len(items) else None

    @property
    def still(self) -> bool:
        """The read after the lists shows the task at the same status: a miss counts."""
        return self.again is not None and _read_status(self.again) == self.status


def _neighbours(status: str) -> list[str]:
    if status not in UNFINISHED:
        return []
    place = UNFINISHED.index(status)
    return [UNFINISHED[i] for i in (place - 1, place + 1) if 0 <= i < len(UNFINISHED)]


def _look_by_status(api: ApiClient, found: UnfinishedDeletes, body: dict[str, Any],
                    status: str) -> None:
    index_id = body.get("index_id") if isinstance(body.get("index_id"), str) else None
    look = StatusLook(status, found.task_id, index_id)
    within = {"index_id": index_id} if index_id else {}
    asks = [{"status": status}, *([{"status": status, **within}] if within else []),
            *({"status": other, **within} for other in _neighbours(status))]
    for params in asks:
        look.lists.append((params, api.list_tasks(page_limit=50, **params)))
    if any(params["status"] == status and look.shows(answer) is False
           for params, answer in look.lists):
        look.again = api.retrieve_task(found.task_id)
        found.observed.append(_read_status(look.again) or
                              ("gone" if is_gone(look.again) else "unreadable"))
    found.by_status.append(look)


@dataclass
class UnfinishedDeletes:
    """What the probe of one task found; ``stopped`` says why it ended."""

    task_id: str
    bound: str = "ready"
    """The status the task was made to end in."""
    judged: list[Attempt] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    """Every delete sent, judged or raced."""
    observed: list[str] = field(default_factory=list)
    """Every status read, in order ("gone" when a read found no task)."""
    raced: list[str] = field(default_factory=list)
    """Statuses whose attempt raced with the task becoming final."""
    other: OtherTry | None = None
    stranger: ForeignTries | None = None
    """Another account's tries at the task while it was unfinished (TENANT-ISOLATION)."""
    by_status: list[StatusLook] = field(default_factory=list)
    """Lists by each unfinished status the task was read at after its delete attempt."""
    stopped: str = ""

    @property
    def removed(self) -> bool:
        """A delete of the unfinished task removed it (accepted, or refused but carried out)."""
        return bool(self.judged) and (self.judged[-1].response.is_success
                                      or is_gone(self.judged[-1].after))

    @property
    def refused(self) -> bool:
        """Deletes were sent, every one refused, and the task is still there."""
        return bool(self.attempts) and not self.removed and all(
            not a.response.is_success for a in self.attempts)

    @property
    def statuses_judged(self) -> list[str]:
        return [a.status for a in self.judged]

    @property
    def unfinished_seen(self) -> list[str]:
        return list(dict.fromkeys(s for s in self.observed if s not in FINAL | {"gone"}))

    def describe(self) -> str:
        """The subjects judged, for the report: which statuses were tried and how it ended."""
        judged = ", ".join(self.statuses_judged) or "none"
        unjudged = [s for s in self.unfinished_seen if s not in self.statuses_judged]
        text = f"statuses judged: {judged}"
        if unjudged:
            text += f"; seen but not judged: {', '.join(unjudged)} (the task finished first)"
        return text


def _read_status(response: httpx.Response) -> str | None:
    """The documented status a retrieve answer shows (another is TASK-SHAPE's finding)."""
    status = answer_json(response).get("status")
    return status if response.status_code == 200 and status in TASK_STATUSES else None


def probe_unfinished(api: ApiClient, task_id: str, *, deadline: float, interval: float,
                     bound: str = "ready", also: Callable[[str], Any] | None = None,
                     stranger: Callable[[dict[str, Any]], ForeignTries] | None = None,
                     ) -> UnfinishedDeletes:
    """Try a delete at every unfinished status ``task_id`` shows, until it is final or gone
    or ``deadline`` (monotonic) passes. ``api`` should be unchecked: answers are judged by
    the refusal tests. ``also`` (a client library's delete) and ``stranger`` (another
    account's tries, given the task as just read) get their one turn right after the first
    refusal that left the task unfinished."""
    found = UnfinishedDeletes(task_id, bound)
    tried: set[str] = set()
    # A new task may read 404 for a moment right after its create (contract.md).
    grace = time.monotonic() + NEW_TASK_GRACE
    while time.monotonic() < deadline:
        before = api.retrieve_task(task_id)
        status = _read_status(before)
        found.observed.append(status or ("gone" if is_gone(before) else "unreadable"))
        if status is not None:
            grace = 0.0
        if status is None and is_gone(before) and time.monotonic() >= grace:
            found.stopped = "the task was gone before a delete of it was judged"
            return found
        if status is None and before.status_code == 200:
            # Retrieve shows no documented status: the probe stops where the list shows the
            # task final instead of waiting out its deadline.
            index_id = answer_json(before).get("index_id")
            listed = listed_task(api, task_id, index_id if isinstance(index_id, str) else None)
            if listed is not None and listed.get("status") in FINAL:
                found.stopped = f"the task became {listed['status']}, as its index's list " \
                    "shows (retrieve shows no documented status: see TASK-SHAPE)"
                return found
        if status in FINAL:
            found.stopped = f"the task became {status}" if found.observed[:-1] else \
                f"the task was already {status} at its first read: no unfinished status to " \
                "judge"
            return found
        if status is None or status in tried:
            time.sleep(interval)
            continue
        tried.add(status)
        response = api.delete_task(task_id)
        after = api.retrieve_task(task_id)
        after_status = _read_status(after)
        found.observed.append(after_status or ("gone" if is_gone(after) else "unreadable"))
        attempt = Attempt(before.json(), response, after)
        found.attempts.append(attempt)
        if is_gone(after) and response.status_code != 404 and (
                bound == "ready" or not response.is_success):
            # A refusal that removed the task, or an accepted delete of a task that can only
            # have become ready (refused too, with its video): no race explains either. A
            # task bound for failed may have failed in between: that one is raced below; a
            # 404 says the task was gone before the delete came (the watch names the cause).
            found.judged.append(attempt)
            found.stopped = "the task was deleted while unfinished"
            return found
        if after_status is not None and after_status not in FINAL:
            found.judged.append(attempt)
            if after_status == status:  # documented (_read_status): a status to list by
                _look_by_status(api, found, after.json(), status)
            if response.is_success:
                continue  # accepted but still there: judged; nothing else to try on it
            if _others(api, found, task_id, after, after_status, also, stranger):
                return found
        else:
            found.raced.append(status)
            if is_gone(after):
                found.stopped = "the task was deleted as it became final (a race, unjudged)"
                return found
    found.stopped = "the deadline passed before the task became final"
    return found


def _others(api: ApiClient, found: UnfinishedDeletes, task_id: str, after: httpx.Response,
            status: str, also: Callable[[str], Any] | None,
            stranger: Callable[[dict[str, Any]], ForeignTries] | None) -> bool:
    """The other callers' one turn; True when the task is gone after it (the probe ends)."""
    if also is not None and found.other is None:
        outcome = also(task_id)
        read = api.retrieve_task(task_id)
        found.observed.append(_read_status(read) or ("gone" if is_gone(read) else "unreadable"))
        found.other = OtherTry(status, outcome, read)
        if is_gone(read):
            found.stopped = "the task was deleted while unfinished"
            return True
        after = read
    now = _read_status(after)
    if stranger is not None and found.stranger is None and now is not None and now not in FINAL:
        found.stranger = stranger(after.json())
        seen = found.stranger.after
        if seen is not None:
            found.observed.append(_read_status(seen) or
                                  ("gone" if is_gone(seen) else "unreadable"))
            if is_gone(seen):
                found.stopped = "another account's delete removed the unfinished task"
                return True
    return False
