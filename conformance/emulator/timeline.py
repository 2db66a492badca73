"""One account's tasks in cohorts, so that status and `updated_at` orders need no upkeep as
the clock moves.

A task's schedule is fixed at its creation, and tasks of one plan (the same phases of the
same lengths) are created in clock order: at any instant, an older task of a plan is as far
along as a newer one, or further. So within a *cohort* (one scope's tasks of one plan, in
creation order) the tasks in each phase are one contiguous run, found by bisection, and a
run is already sorted both by creation and by `updated_at` (the start of its phase). A list
query merges a few runs; nothing is refiled when statuses change, and a burst of tasks that
all move on at once costs the next list nothing. Scopes: the account, each index, and each
value of the metadata fixed at creation (filename, duration, width, height).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from itertools import islice, pairwise
from typing import Any

from conformance.emulator.model import Task

CREATED, UPDATED = "created_at", "updated_at"
# equality filters on metadata fixed at creation, served from per-value scopes
VALUE_FIELDS = ("filename", "duration", "width", "height")

Scope = Any
"""None (the account), an index ID, or (metadata name, value)."""
Key = Callable[[Task], Any]


def _seq(task: Task) -> int:
    return task.seq


def in_order(tasks: dict[str, Task], task: Task) -> None:
    """Add ``task`` to a dict kept in creation order (a task brought back keeps its place)."""
    last = next(reversed(tasks.values()), None)
    tasks[task.id] = task
    if last is not None and last.seq > task.seq:
        ordered = sorted(tasks.values(), key=_seq)
        tasks.clear()
        tasks.update((t.id, t) for t in ordered)


def _start_of(phase: int) -> Callable[[Task], float]:
    return lambda t: t.schedule.starts[phase]


def plan_of(task: Task) -> tuple[Any, ...]:
    """A task's plan: its statuses and phase lengths (rounded: the starts are sums of floats,
    equal lengths differ in their last bits)."""
    starts = task.schedule.starts
    return (task.schedule.statuses,
            tuple(round(b - a, 6) for a, b in pairwise(starts)))


class Cohort:
    """One scope's tasks of one plan, in creation order."""

    __slots__ = ("statuses", "tasks")

    def __init__(self, statuses: tuple[str, ...]) -> None:
        self.statuses = statuses
        self.tasks: list[Task] = []

    def add(self, task: Task) -> None:
        if not self.tasks or self.tasks[-1].seq < task.seq:
            self.tasks.append(task)
        else:  # a task brought back keeps its place
            insort(self.tasks, task, key=_seq)

    def remove(self, task: Task) -> None:
        i = bisect_left(self.tasks, task.seq, key=_seq)
        if i < len(self.tasks) and self.tasks[i] is task:
            del self.tasks[i]

    def runs(self, now: float, statuses: frozenset[str] | None) -> Iterator[Run]:
        """The runs of tasks in each phase (of these statuses) at ``now``."""
        tasks, lo = self.tasks, 0
        for phase in range(len(self.statuses) - 1, -1, -1):
            # tasks [0, reached) have reached this phase by now; [lo, reached) are in it
            reached = bisect_right(tasks, now, key=_start_of(phase))
            if reached > lo and (statuses is None or self.statuses[phase] in statuses):
                yield Run(tasks, lo, reached, phase)
            lo = max(lo, reached)


class Run:
    """Tasks ``lo`` to ``hi`` of a cohort, all in ``phase``: sorted by creation, and by
    `updated_at` (the phase's start), ties in creation order."""

    __slots__ = ("hi", "lo", "phase", "tasks")

    def __init__(self, tasks: list[Task], lo: int, hi: int, phase: int) -> None:
        self.tasks, self.lo, self.hi, self.phase = tasks, lo, hi, phase

    def __len__(self) -> int:
        return self.hi - self.lo

    def key(self, sort_by: str) -> Key:
        if sort_by == CREATED:
            return _seq
        phase = self.phase
        return lambda t: (t.schedule.starts[phase], t.seq)

    def below(self, value: Any, key: Key) -> int:
        """How many of the run's tasks sort before ``value``."""
        return bisect_left(self.tasks, value, self.lo, self.hi, key=key) - self.lo


class Timeline:
    """Cohorts of one account's live tasks by scope; statuses are read off the clock."""

    def __init__(self) -> None:
        self.at = -math.inf
        self._tasks: dict[str, Task] = {}
        self._plans: dict[str, tuple[Any, ...]] = {}
        self._cohorts: dict[Scope, dict[tuple[Any, ...], Cohort]] = {}
        # value -> tasks in creation order; fixed at creation (a rule may rename)
        self._by_value: dict[tuple[str, Any], dict[str, Task]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    @staticmethod
    def _scopes(task: Task) -> list[Scope]:
        return [None, task.index_id, *((n, getattr(task, n)) for n in VALUE_FIELDS)]

    # --- membership ------------------------------------------------------------------------
    def add(self, task: Task) -> None:
        plan = self._plans[task.id] = plan_of(task)
        self._tasks[task.id] = task
        for scope in self._scopes(task):
            self._cohort(scope, plan, task).add(task)
        for name in VALUE_FIELDS:
            in_order(self._by_value.setdefault((name, getattr(task, name)), {}), task)

    def _cohort(self, scope: Scope, plan: tuple[Any, ...], task: Task) -> Cohort:
        cohorts = self._cohorts.setdefault(scope, {})
        cohort = cohorts.get(plan)
        if cohort is None:
            cohort = cohorts[plan] = Cohort(task.schedule.statuses)
        return cohort

    def remove(self, tasks: Iterable[Task]) -> None:
        for task in tasks:
            if self._tasks.pop(task.id, None) is None:
                continue
            plan = self._plans.pop(task.id)
            for scope in self._scopes(task):
                self._drop(scope, plan, task)
            for name in VALUE_FIELDS:
                self._unvalue(task, name)

    def _drop(self, scope: Scope, plan: tuple[Any, ...], task: Task) -> None:
        cohorts = self._cohorts[scope]
        cohorts[plan].remove(task)
        if not cohorts[plan].tasks:
            del cohorts[plan]
            if not cohorts:
                del self._cohorts[scope]

    def _unvalue(self, task: Task, name: str) -> None:
        key = (name, getattr(task, name))
        same = self._by_value[key]
        del same[task.id]
        if not same:
            del self._by_value[key]

    def relabel(self, tasks: Iterable[Task], name: str, value: object) -> None:
        """Set metadata ``name`` of live ``tasks`` to ``value`` (a rule renames tasks; the
        scopes of a value stay in creation order)."""
        moved = [t for t in tasks if t.id in self._tasks]
        for task in moved:
            plan = self._plans[task.id]
            self._drop((name, getattr(task, name)), plan, task)
            self._unvalue(task, name)
            setattr(task, name, value)
            self._cohort((name, value), plan, task).add(task)
        if moved:
            merged = [*self._by_value.get((name, value), {}).values(), *moved]
            merged.sort(key=_seq)
            self._by_value[(name, value)] = {t.id: t for t in merged}

    # --- reading ---------------------------------------------------------------------------
    def advance(self, now: float) -> float:
        """The instant the next page shows (never earlier than the last one)."""
        self.at = max(now, self.at)
        return self.at

    def state(self, task: Task) -> tuple[str, float]:
        """Status and `updated_at` as of the last ``advance``."""
        return task.status_at(self.at)

    def count(self, scope: Scope) -> int:
        return sum(len(c.tasks) for c in self._cohorts.get(scope, {}).values())

    def runs(self, scope: Scope, statuses: frozenset[str] | None) -> list[Run]:
        """The runs of a scope's tasks in these statuses (None: any) as of the last advance."""
        return [run for cohort in self._cohorts.get(scope, {}).values()
                for run in cohort.runs(self.at, statuses)]

    def with_value(self, name: str, value: object) -> dict[str, Task]:
        """The tasks whose metadata ``name`` equals ``value``, in creation order (read only)."""
        return self._by_value.get((name, value), {})


def page(runs: list[Run], sort_by: str, descending: bool, start: int, end: int) -> list[Task]:
    """Items ``start`` to ``end`` of the runs merged in the order asked for."""
    total = sum(map(len, runs))
    start, end = max(0, min(start, total)), max(0, min(end, total))
    if start >= end:
        return []
    if descending:  # the same items, counted from the other end
        return page(runs, sort_by, False, total - end, total - start)[::-1]
    keys = [run.key(sort_by) for run in runs]
    cuts = _cuts(runs, keys, start)
    merged = heapq.merge(*(_tail(run, cut, key) for run, cut, key in
                           zip(runs, cuts, keys, strict=True)))
    return [task for _, task in islice(merged, end - start)]


def walk(runs: list[Run], sort_by: str, descending: bool) -> Iterator[Task]:
    """Every task of the runs, merged in the order asked for."""
    keys = [run.key(sort_by) for run in runs]
    if descending:
        merged = heapq.merge(*(_backwards(run, key) for run, key in zip(runs, keys, strict=True)),
                             reverse=True)
    else:
        merged = heapq.merge(*(_tail(run, 0, key) for run, key in zip(runs, keys, strict=True)))
    return (task for _, task in merged)


def _backwards(run: Run, key: Key) -> Iterator[tuple[Any, Task]]:
    return ((key(run.tasks[i]), run.tasks[i]) for i in range(run.hi - 1, run.lo - 1, -1))


def _tail(run: Run, cut: int, key: Key) -> Iterator[tuple[Any, Task]]:
    return ((key(t), t) for t in islice(run.tasks, run.lo + cut, run.hi))


def _cuts(runs: list[Run], keys: list[Key], k: int) -> list[int]:
    """How many of each run's tasks come before item ``k`` of the merge (keys are unique:
    ties are broken by creation order)."""
    if len(runs) == 1:
        return [k]
    for run, key in zip(runs, keys, strict=True):
        lo, hi = run.lo, run.hi
        while lo < hi:  # the k-th item, if it is in this run: exactly k items sort before it
            mid = (lo + hi) // 2
            value = key(run.tasks[mid])
            before = sum(other.below(value, other_key)
                         for other, other_key in zip(runs, keys, strict=True))
            if before == k:
                return [other.below(value, other_key)
                        for other, other_key in zip(runs, keys, strict=True)]
            if before < k:
                lo = mid + 1
            else:
                hi = mid
    return [len(run) for run in runs]  # k is the total: everything comes before
