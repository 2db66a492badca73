"""One account's task orders, per account and per index, moved forward as the clock passes.

A task's status and `updated_at` change only at the instants its schedule fixed at creation,
so status buckets and `updated_at` orders (each kept per account and per index) are kept here
and each task is moved when the clock passes its next transition, instead of every list
scanning the account. Metadata fixed at creation is indexed by value beside them.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from typing import Any

from conformance.emulator.model import Task

# Catching up more transitions than this share of the account rebuilds every order at once:
# one sort beats as many list insertions far from the tail.
REBUILD_SHARE = 32
REBUILD_MINIMUM = 64


CREATED, UPDATED = "created_at", "updated_at"
# equality filters on metadata fixed at creation, served from per-value indexes
VALUE_FIELDS = ("filename", "duration", "width", "height")

Scope = tuple[str | None, str | None, str]
"""Which order: index ID (None: the account), status (None: any), sort key."""


def _seq(task: Task) -> int:
    return task.seq


def _next_transition(task: Task, now: float) -> float | None:
    starts = task.schedule.starts
    i = bisect_right(starts, now)
    return starts[i] if i < len(starts) else None


class Timeline:
    """Status buckets and `updated_at` orders of one account's live tasks, as of ``at``.

    Kept orders, by scope (index or None, status or None, sort key): (any, status, created_at)
    and (any, any, updated_at); creation order of all tasks or one index's is the store's.
    """

    def __init__(self) -> None:
        self.at = -math.inf
        self._tasks: dict[str, Task] = {}  # insertion order is creation order
        self._state: dict[str, tuple[str, float]] = {}  # status and updated_at as filed
        self._orders: dict[Scope, list[Task]] = {}
        self._upcoming: list[tuple[float, int, Task]] = []  # next transition of each task
        self._stale = False
        # value -> tasks in creation order; fixed at creation, so never stale
        self._by_value: dict[tuple[str, Any], dict[str, Task]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def updated_key(self, task: Task) -> tuple[float, int]:
        """Sort key of the `updated_at` order: as filed, ties in creation order."""
        return self._state[task.id][1], task.seq

    # --- membership ------------------------------------------------------------------------
    def add(self, task: Task) -> None:
        self._tasks[task.id] = task
        for name in VALUE_FIELDS:
            self._by_value.setdefault((name, getattr(task, name)), {})[task.id] = task
        if self._stale:
            return
        moment = max(self.at, task.created_at)
        self._file(task, task.status_at(moment))
        self._schedule(task, moment)

    def remove(self, tasks: Iterable[Task]) -> None:
        gone = [t for t in tasks if self._tasks.pop(t.id, None) is not None]
        for task in gone:
            for name in VALUE_FIELDS:
                key = (name, getattr(task, name))
                same = self._by_value[key]
                del same[task.id]
                if not same:
                    del self._by_value[key]
        if len(gone) > REBUILD_MINIMUM:
            self._stale = True  # one rebuild beats many removals from the middle
        if self._stale:
            return
        for task in gone:
            self._unfile(task)
            del self._state[task.id]
        # their pending transitions are skipped when they come due

    def relabel(self, tasks: Iterable[Task], name: str, value: object) -> None:
        """Set metadata ``name`` of live ``tasks`` to ``value``. Metadata is fixed at creation
        (a fault renames tasks), and the value indexes must stay in creation order."""
        moved = [t for t in tasks if t.id in self._tasks]
        for task in moved:
            key = (name, getattr(task, name))
            same = self._by_value[key]
            del same[task.id]
            if not same:
                del self._by_value[key]
            setattr(task, name, value)
        if moved:
            merged = [*self._by_value.get((name, value), {}).values(), *moved]
            merged.sort(key=_seq)
            self._by_value[(name, value)] = {t.id: t for t in merged}

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

    def order(self, index_id: str | None, status: str | None, sort_by: str) -> list[Task]:
        """The tasks of an index (None: all) in a status (None: any), ascending by ``sort_by``
        (ties in creation order); creation order without a status is not kept here. Do not
        modify."""
        assert status is not None or sort_by == UPDATED
        return self._orders.get((index_id, status, sort_by), [])

    def with_value(self, name: str, value: object) -> dict[str, Task]:
        """The tasks whose metadata ``name`` equals ``value``, in creation order (read only)."""
        return self._by_value.get((name, value), {})

    # --- keeping the orders ----------------------------------------------------------------
    @staticmethod
    def _scopes(task: Task, status: str) -> tuple[tuple[Scope, Scope], tuple[Scope, ...]]:
        index = task.index_id
        return (((None, status, CREATED), (index, status, CREATED)),
                ((None, None, UPDATED), (None, status, UPDATED), (index, None, UPDATED),
                 (index, status, UPDATED)))

    def _file(self, task: Task, state: tuple[str, float]) -> None:
        self._state[task.id] = state
        by_created, by_updated = self._scopes(task, state[0])
        for scope in by_created:
            insort(self._orders.setdefault(scope, []), task, key=_seq)
        for scope in by_updated:
            insort(self._orders.setdefault(scope, []), task, key=self.updated_key)

    def _unfile(self, task: Task) -> None:
        by_created, by_updated = self._scopes(task, self._state[task.id][0])
        for scope in by_created:
            tasks = self._orders[scope]
            del tasks[bisect_left(tasks, task.seq, key=_seq)]
        key = self.updated_key(task)
        for scope in by_updated:
            tasks = self._orders[scope]
            del tasks[bisect_left(tasks, key, key=self.updated_key)]

    def _schedule(self, task: Task, now: float) -> None:
        upcoming = _next_transition(task, now)
        if upcoming is not None:
            heapq.heappush(self._upcoming, (upcoming, task.seq, task))

    def _rebuild(self, now: float) -> None:
        state: dict[str, tuple[str, float]] = {}
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
            keyed.append((filed[1], task.seq, task))
        heapq.heapify(upcoming)
        orders: dict[Scope, list[Task]] = {}
        # appending in creation order, then in updated order, leaves every list sorted
        for task in self._tasks.values():
            for scope in self._scopes(task, state[task.id][0])[0]:
                _append(orders, scope, task)
        keyed.sort(key=_first_two)
        for entry in keyed:
            task = entry[2]
            for scope in self._scopes(task, state[task.id][0])[1]:
                _append(orders, scope, task)
        self._state, self._orders, self._upcoming = state, orders, upcoming
        self.at, self._stale = now, False


def _append(orders: dict[Scope, list[Task]], scope: Scope, task: Task) -> None:
    tasks = orders.get(scope)
    if tasks is None:
        tasks = orders[scope] = []
    tasks.append(task)


def _first_two(entry: tuple[float, int, Task]) -> tuple[float, int]:
    return entry[0], entry[1]
