"""Deleting a task while it is not final yet, at every unfinished status it is seen in.

DEL-TERMINAL-ONLY holds for each non-final status, not for the first one caught: the probe
reads the task, and at each status it has not tried yet sends a delete and reads again. An
attempt is judged only when the read after it shows the task unfinished still, or gone (a
refusal that removed the task breaks the clause as surely as an accepted delete); a read
after it that shows the task final is a race, unjudged (contract.md, "Provisioning").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources.cleanup import FINAL, answer_json, is_gone
from conformance.wire.client import ApiClient

__all__ = ["Attempt", "OtherTry", "UnfinishedDeletes", "probe_unfinished"]


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
class UnfinishedDeletes:
    """What the probe of one task found; ``stopped`` says why it ended."""

    task_id: str
    judged: list[Attempt] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    """Every status read, in order ("gone" when a read found no task)."""
    raced: list[str] = field(default_factory=list)
    """Statuses whose attempt raced with the task becoming final."""
    other: OtherTry | None = None
    stopped: str = ""

    @property
    def removed(self) -> bool:
        """A delete of the unfinished task removed it (accepted, or refused but carried out)."""
        return bool(self.judged) and (self.judged[-1].response.is_success
                                      or is_gone(self.judged[-1].after))

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
    status = answer_json(response).get("status")
    return status if response.status_code == 200 and isinstance(status, str) else None


def probe_unfinished(api: ApiClient, task_id: str, *, deadline: float, interval: float,
                     also: Callable[[str], Any] | None = None,
                     not_shown_yet: Callable[[str, httpx.Response], bool] | None = None,
                     ) -> UnfinishedDeletes:
    """Try a delete at every unfinished status ``task_id`` shows, until it is final or gone
    or ``deadline`` (monotonic) passes. ``api`` should be unchecked: answers are judged by
    the refusal tests. ``also`` (a client library's delete) gets its one try right after the
    first refusal that left the task unfinished. ``not_shown_yet`` (the watch's rule): a new
    task that reads as gone for a moment after its create is read again, not given up."""
    found = UnfinishedDeletes(task_id)
    tried: set[str] = set()
    while time.monotonic() < deadline:
        before = api.retrieve_task(task_id)
        if not_shown_yet is not None and not_shown_yet(task_id, before):
            time.sleep(interval)
            continue
        status = _read_status(before)
        found.observed.append(status or ("gone" if is_gone(before) else "unreadable"))
        if status is None and is_gone(before):
            found.stopped = "the task was gone before a delete of it was judged"
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
        if response.is_success or is_gone(after):
            # Made from a valid video, the task can only have become ready, and a ready task
            # with its video is refused too: no race explains a delete that removed it.
            found.judged.append(attempt)
            found.stopped = "the task was deleted while unfinished"
            return found
        if after_status is not None and after_status not in FINAL:
            found.judged.append(attempt)
            if also is not None and found.other is None:
                outcome = also(task_id)
                read = api.retrieve_task(task_id)
                found.observed.append(_read_status(read) or
                                      ("gone" if is_gone(read) else "unreadable"))
                found.other = OtherTry(after_status, outcome, read)
                if is_gone(read):
                    found.stopped = "the task was deleted while unfinished"
                    return found
        else:
            found.raced.append(status)
    found.stopped = "the deadline passed before the task became final"
    return found
