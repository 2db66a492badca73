"""Answering a list query from kept orders: a slice where one fits, a filtered walk otherwise."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Reversible, Sequence
from itertools import islice

from conformance.emulator.model import ListQuery, Task
from conformance.emulator.timeline import UPDATED, Timeline

Ordered = Sequence[Task] | Iterable[Task]
State = Callable[[Task], tuple[str, float]]


def answer(tasks: Mapping[str, Task], timeline: Timeline, q: ListQuery) -> tuple[list[Task], int]:
    """One page and the total; ``tasks`` (creation order) holds the index's or all live tasks,
    ``timeline`` the account's orders, already advanced to the instant the page shows."""
    start, end = q.window()
    updated = q.sort_by == UPDATED
    # the kept order that satisfies the index and status filters at once, already sorted
    if q.statuses is not None:
        lists = [timeline.order(q.index_id, s, q.sort_by) for s in sorted(q.statuses)]
        lists = [kept for kept in lists if kept]
    elif updated:
        lists = [timeline.order(q.index_id, None, UPDATED)]
    else:
        lists = [tasks.values()]  # type: ignore[list-item]
    size = sum(map(len, lists))
    values = [timeline.with_value(name, value) for name, value in _value_filters(q)]
    smallest = min(values, key=len, default=None)
    if smallest is not None and len(smallest) < size:
        # fewer tasks share the value than pass index and status: walk those, then sort
        only_value = (len(values) == 1 and q.index_id is None and q.statuses is None
                      and q.created_at is None and q.updated_at is None)
        if only_value and not updated:  # that value was the only filter: a slice of it
            return _window(smallest.values(), q.descending, start, end), len(smallest)
        if only_value and len(smallest) * 8 > size:  # common value: its count is the total,
            keep = _residual(q, timeline.state, index=False, status=False)  # stop at the page
            assert keep is not None
            page = islice(filter(keep, _directed(lists[0], q.descending)), start, end)
            return list(page), len(smallest)
        keep = _residual(q, timeline.state, index=True, status=True)
        found = [t for t in smallest.values() if keep is None or keep(t)]
        if updated:
            found.sort(key=timeline.updated_key)
        if q.descending:
            found.reverse()
        return found[start:end], len(found)
    keep = _residual(q, timeline.state, index=False, status=False)
    ordered: Ordered
    descending = q.descending
    if len(lists) == 1:
        ordered = lists[0]
    else:  # merged already in the requested direction
        ordered = heapq.merge(*(reversed(b) if descending else b for b in lists),
                              key=timeline.updated_key if updated else _seq, reverse=descending)
        descending = False
    if keep is None:
        return _window(ordered, descending, start, end), size
    found = [t for t in _directed(ordered, descending) if keep(t)]
    return found[start:end], len(found)


def _value_filters(q: ListQuery) -> list[tuple[str, object]]:
    given = (("filename", q.filename), ("duration", q.duration), ("width", q.width),
             ("height", q.height))
    return [(name, value) for name, value in given if value is not None]


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
