"""One account's clock-dependent task orders, moved forward as the clock passes transitions.

A task's status and `updated_at` change only at the instants its schedule fixed at creation,
so status buckets (creation order) and the `updated_at` order are kept here and each task is
moved when the clock passes its next transition, instead of every list scanning the account.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.emulator.store import Task

# Catching up more transitions than this share of the account rebuilds every order at once:
# one sort beats as many list insertions far from the tail.
REBUILD_SHARE = 32
REBUILD_MINIMUM = 64


def _seq(task: Task) -> int:
    return task.seq


def _next_transition(task: Task, now: float) -> float | None:
    starts = task.schedule.starts
    i = bisect_right(starts, now)
    return starts[i] if i < len(starts) else None


class Timeline:
    """Status buckets and `updated_at` order of one account's live tasks, as of ``at``."""

    def __init__(self) -> None:
        self.at = -math.inf
        self._tasks: dict[str, Task] = {}  # insertion order is creation order
        self._state: dict[str, tuple[str, float]] = {}  # status and updated_at as filed
        self._by_status: dict[str, list[Task]] = {}  # each in creation order
        self._by_updated: list[Task] = []  # by (updated_at, creation)
        self._upcoming: list[tuple[float, int, Task]] = []  # next transition of each task
        self._stale = False

    def __len__(self) -> int:
        return len(self._tasks)

    def _updated_key(self, task: Task) -> tuple[float, int]:
        return self._state[task.id][1], task.seq

    # --- membership ------------------------------------------------------------------------
    def add(self, task: Task) -> None:
        self._tasks[task.id] = task
        if self._stale:
            return
        moment = max(self.at, task.created_at)
        self._file(task, task.status_at(moment))
        self._schedule(task, moment)

    def remove(self, tasks: Iterable[Task]) -> None:
        gone = [t for t in tasks if self._tasks.pop(t.id, None) is not None]
        if len(gone) > REBUILD_MINIMUM:
            self._stale = True  # one rebuild beats many removals from the middle
        if self._stale:
            return
        for task in gone:
            self._unfile(task)
            del self._state[task.id]
        # their pending transitions are skipped when they come due

    # --- reading ---------------------------------------------------------------------------
    def advance(self, now: float) -> float:
        """Move every task past the transitions due by ``now``; the instant now filed."""
        now = max(now, self.at)
        if self._stale:
            self._rebuild(now)
            return now
        due: list[Task] = []
        most = max(REBUILD_MINIMUM, len(self._tasks) // REBUILD_SHARE)
        while self._upcoming and self._upcoming[0][0] <= now:
            task = heapq.heappop(self._upcoming)[2]
            if task.id in self._tasks:
                due.append(task)
                if len(due) > most:  # the rebuild recomputes the rest: stop popping
                    self._rebuild(now)
                    return now
        for task in due:
            state = task.status_at(now)
            if state != self._state[task.id]:
                self._unfile(task)
                self._file(task, state)
            self._schedule(task, now)
        self.at = now
        return now

    def state(self, task: Task) -> tuple[str, float]:
        """Status and `updated_at` as of the last ``advance``."""
        return self._state[task.id]

    def with_status(self, status: str) -> list[Task]:
        """The tasks in this status, in creation order (do not modify)."""
        return self._by_status.get(status, [])

    def by_updated(self) -> list[Task]:
        """Every task by `updated_at`, ties in creation order (do not modify)."""
        return self._by_updated

    def sorted_by_updated(self, tasks: Iterable[Task]) -> list[Task]:
        return sorted(tasks, key=self._updated_key)

    # --- keeping the orders ----------------------------------------------------------------
    def _file(self, task: Task, state: tuple[str, float]) -> None:
        self._state[task.id] = state
        insort(self._by_status.setdefault(state[0], []), task, key=_seq)
        insort(self._by_updated, task, key=self._updated_key)

    def _unfile(self, task: Task) -> None:
        bucket = self._by_status[self._state[task.id][0]]
        del bucket[bisect_left(bucket, task.seq, key=_seq)]
        del self._by_updated[bisect_left(self._by_updated, self._updated_key(task),
                                         key=self._updated_key)]

    def _schedule(self, task: Task, now: float) -> None:
        upcoming = _next_transition(task, now)
        if upcoming is not None:
            heapq.heappush(self._upcoming, (upcoming, task.seq, task))

    def _rebuild(self, now: float) -> None:
        state: dict[str, tuple[str, float]] = {}
        by_status: dict[str, list[Task]] = {}
        upcoming: list[tuple[float, int, Task]] = []
        keyed: list[tuple[float, int, Task]] = []
        for task in self._tasks.values():
            schedule = task.schedule
            if now >= schedule.starts[-1]:  # final: most tasks, and nothing more to come
                filed = schedule.statuses[-1], schedule.starts[-1]
            else:
                filed = task.status_at(now)
                upcoming.append((_next_transition(task, now) or now, task.seq, task))
            state[task.id] = filed
            bucket = by_status.get(filed[0])
            if bucket is None:
                bucket = by_status[filed[0]] = []
            bucket.append(task)
            keyed.append((filed[1], task.seq, task))
        heapq.heapify(upcoming)
        keyed.sort(key=_first_two)
        self._state, self._by_status, self._upcoming = state, by_status, upcoming
        self._by_updated = [entry[2] for entry in keyed]
        self.at, self._stale = now, False


def _first_two(entry: tuple[float, int, Task]) -> tuple[float, int]:
    return entry[0], entry[1]
