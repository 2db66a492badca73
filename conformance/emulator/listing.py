"""Answering a list query from kept orders: a slice of creation order or of merged cohort runs
where one fits, a filtered walk of the smallest scope otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Reversible, Sequence
from itertools import islice
from typing import Any

from conformance.emulator.model import ListQuery, Task
from conformance.emulator.timeline import CREATED, Timeline, page, walk

Ordered = Sequence[Task] | Iterable[Task]
State = Callable[[Task], tuple[str, float]]


def answer(tasks: Mapping[str, Task], timeline: Timeline, q: ListQuery) -> tuple[list[Task], int]:
    """One page and the total; ``tasks`` (creation order) holds the index's or all live tasks,
    ``timeline`` the account's cohorts, already advanced to the instant the page shows."""
    start, end = q.window()
    # the smallest scope that satisfies a filter by itself: the account or index, or a value
    scope: Any = q.index_id
    size, chosen = len(tasks), None
    for name, value in _value_filters(q):
        same = timeline.with_value(name, value)
        if len(same) < size:
            scope, size, chosen = (name, value), len(same), same
    keep = _residual(q, timeline.state, index=chosen is not None,
                     skip=None if chosen is None else scope[0])
    if q.statuses is None and q.sort_by == CREATED and keep is None:
        ordered = tasks if chosen is None else chosen
        return _window(ordered.values(), q.descending, start, end), len(ordered)
    runs = timeline.runs(scope, q.statuses)
    if keep is None:
        return page(runs, q.sort_by, q.descending, start, end), sum(map(len, runs))
    found = [t for t in walk(runs, q.sort_by, q.descending) if keep(t)]
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


def _residual(q: ListQuery, state: State, *, index: bool, status: bool = False,
              skip: str | None = None) -> Callable[[Task], bool] | None:
    """The filters the starting set does not already satisfy, as one predicate (None: none);
    ``skip`` names a value filter the set satisfies."""
    checks: list[Callable[[Task], bool]] = []
    if index and q.index_id is not None:
        checks.append(lambda t: t.index_id == q.index_id)
    if status and q.statuses is not None:
        statuses = q.statuses
        checks.append(lambda t: state(t)[0] in statuses)
    if q.filename is not None and skip != "filename":
        checks.append(lambda t: t.filename == q.filename)
    if q.duration is not None and skip != "duration":
        checks.append(lambda t: t.duration == q.duration)
    if q.width is not None and skip != "width":
        checks.append(lambda t: t.width == q.width)
    if q.height is not None and skip != "height":
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
