"""Answering a list query from kept orders: a slice where one fits, a filtered walk otherwise."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Reversible, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from conformance.emulator.timeline import Timeline

if TYPE_CHECKING:
    from conformance.emulator.store import Task


@dataclass(frozen=True, slots=True)
class ListQuery:
    page: int = 1
    page_limit: int = 10
    sort_by: str = "created_at"
    descending: bool = True
    index_id: str | None = None
    statuses: frozenset[str] | None = None
    filename: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    created_at: float | None = None
    updated_at: float | None = None
    offset: int | None = None
    """Where the page starts, when not at ``(page - 1) * page_limit`` (a fault shifts it)."""

    def only_index_filter(self) -> bool:
        return (self.statuses is None and self.filename is None and self.duration is None
                and self.width is None and self.height is None and self.created_at is None
                and self.updated_at is None)

    def window(self) -> tuple[int, int]:
        start = (self.page - 1) * self.page_limit if self.offset is None else self.offset
        return start, start + self.page_limit


Ordered = Sequence["Task"] | Iterable["Task"]
State = Callable[["Task"], tuple[str, float]]


def answer(tasks: Mapping[str, Task], timeline: Timeline, q: ListQuery) -> tuple[list[Task], int]:
    """One page and the total; ``tasks`` (creation order) holds the index's or all live tasks,
    ``timeline`` the account's orders, already advanced to the instant the page shows."""
    start, end = q.window()
    buckets = [timeline.with_status(s) for s in sorted(q.statuses)] if q.statuses else None
    # start from the smallest set that already satisfies one filter; check the rest per task
    # (buckets also win without an index filter: their lengths give the total without a walk)
    from_buckets = buckets is not None and (q.index_id is None
                                            or sum(map(len, buckets)) < len(tasks))
    check_index = from_buckets or (q.sort_by == "updated_at" and len(tasks) == len(timeline))
    keep = _residual(q, timeline.state, index=check_index, status=not from_buckets)
    ordered: Ordered
    descending = q.descending
    if from_buckets and q.sort_by == "created_at":
        assert buckets is not None
        if len(buckets) == 1:
            ordered = buckets[0]
        else:  # merged already in the requested direction
            ordered = heapq.merge(*(reversed(b) if descending else b for b in buckets),
                                  key=_seq, reverse=descending)
            descending = False
            if keep is None:
                return (list(islice(ordered, start, end)), sum(map(len, buckets)))
    elif from_buckets:
        assert buckets is not None
        ordered = timeline.sorted_by_updated(t for b in buckets for t in b)
    elif q.sort_by == "created_at":
        ordered = tasks.values()
    elif check_index:
        ordered = timeline.by_updated()  # every live task: the kept order serves as it is
    else:
        ordered = timeline.sorted_by_updated(tasks.values())
    if keep is None:
        return _window(ordered, descending, start, end), len(ordered)  # type: ignore[arg-type]
    found = [t for t in _directed(ordered, descending) if keep(t)]
    return found[start:end], len(found)


def scan(candidates: Iterable[Task], state: State, q: ListQuery) -> tuple[list[Task], int]:
    """Every candidate checked against the query: for sets no order is kept for."""
    start, end = q.window()
    keep = _residual(q, state, index=True, status=True)
    found = [t for t in sorted(candidates, key=_seq) if keep is None or keep(t)]
    if q.sort_by == "updated_at":
        found.sort(key=lambda t: (state(t)[1], t.seq))
    if q.descending:
        found.reverse()
    return found[start:end], len(found)


def _seq(task: Task) -> int:
    return task.seq


def _directed(ordered: Ordered, descending: bool) -> Iterator[Task]:
    if not descending:
        return iter(ordered)
    assert isinstance(ordered, Reversible)  # lists and dict views reverse without a copy
    return reversed(ordered)


def _window(ordered: Ordered, descending: bool, start: int, end: int) -> list[Task]:
    if isinstance(ordered, Sequence):
        n = len(ordered)
        if descending:
            return [ordered[i] for i in range(n - 1 - start, max(n - 1 - end, -1), -1)]
        return list(ordered[start:end])
    return list(islice(_directed(ordered, descending), start, end))


def _residual(q: ListQuery, state: State, *, index: bool,
              status: bool) -> Callable[[Task], bool] | None:
    """The filters the starting set does not already satisfy, as one predicate (None: none)."""
    checks: list[Callable[[Task], bool]] = []
    if index and q.index_id is not None:
        checks.append(lambda t: t.index_id == q.index_id)
    if status and q.statuses is not None:
        statuses = q.statuses
        checks.append(lambda t: state(t)[0] in statuses)
    if q.filename is not None:
        checks.append(lambda t: t.filename == q.filename)
    if q.duration is not None:
        checks.append(lambda t: t.duration == q.duration)
    if q.width is not None:
        checks.append(lambda t: t.width == q.width)
    if q.height is not None:
        checks.append(lambda t: t.height == q.height)
    if q.created_at is not None:
        created = q.created_at
        checks.append(lambda t: t.created_at >= created)
    if q.updated_at is not None:
        updated = q.updated_at
        checks.append(lambda t: state(t)[1] >= updated)
    if not checks:
        return None
    return lambda t: all(check(t) for check in checks)
