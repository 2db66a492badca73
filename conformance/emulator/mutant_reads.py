"""Mutants of the decisions about what is seen: what each view shows after a delete, what a
successful delete answers, the task object's fields per view, the lifecycle, filters, sort
order and pages, and the error envelope. Each family is rule x subject x kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from conformance.emulator.asks import Answer, Plan
from conformance.emulator.mutant_acts import DELETABLE, Mutant, made
from conformance.emulator.patches import (
    after,
    answer,
    last_window,
    unfiltered_totals,
    when,
    without,
)

LIST_VIEWS = ("list", "list-by-index", "list-by-status", "list-by-statuses")
PAGED_VIEWS = ("list", "list-by-index", "list-by-status")
STATUSES = ("validating", "pending", "queued", "indexing", "ready", "failed")


def views_after_delete() -> Iterator[Mutant]:
    for view in ("retrieve", *LIST_VIEWS):
        yield made("shown", "deleted-still-shown", view, "DEL-GONE",
                   f"A deleted task is still shown in {view} (every other view treats it as "
                   "gone).",
                   when("shown", lambda a, v=view: a.view == v and a.deleted_at is not None,
                        answer(True)))
    yield made("shown", "deleted-shown-again-after-3s", "list", "DEL-GONE",
               "A deleted task shows again in every list from 3 s after its delete.",
               when("shown", lambda a: a.view.startswith("list") and a.deleted_at is not None
                    and a.now >= a.deleted_at + 3.0, answer(True)))
    pages: dict[str, Callable[[Any], bool]] = {
        "page 1": lambda a: a.query.page == 1,
        "page 2": lambda a: a.query.page == 2,
        "last page": lambda a: a.query.page > 1
        and a.query.page == -(-a.total // a.query.page_limit),
    }
    for page, test in pages.items():
        yield made("page_items", "deleted-on-page", page, "DEL-GONE",
                   f"The unfiltered list's {page} ends with the most recently deleted task.",
                   after("page_items", lambda a, items: [*items, a.last_deleted],
                         lambda a, t=test: a.view == "list" and a.last_deleted is not None
                         and t(a)))


def delete_answers() -> Iterator[Mutant]:
    kinds: dict[str, tuple[str, Answer]] = {
        "200-empty-object": ("DEL-204", Answer(200, {})),
        "202": ("DEL-204", Answer(202)),
        "200-no-body": ("DEL-204", Answer(200, b"")),
        "204-announcing-a-body": ("DEL-EMPTY", Answer(204, headers={"content-length": "2"})),
    }
    for subject in DELETABLE:
        for kind, (clause, given) in kinds.items():
            yield made("deleted_answer", kind, subject, clause,
                       f"A successful delete of a {subject} task answers {kind}.",
                       when("deleted_answer", lambda a, s=subject: a.operation == "delete_task"
                            and a.subject == s, answer(given)))
    for kind in ("200-empty-object", "204-announcing-a-body"):
        clause, given = kinds[kind]
        yield made("deleted_answer", kind, "video", clause,
                   f"A successful video delete answers {kind}.",
                   when("deleted_answer", lambda a: a.operation == "delete_video",
                        answer(given)))


def _set(path: str, value: Any) -> Callable[[Any, dict[str, Any]], dict[str, Any]]:
    """A change of a task object: the field at ``path`` (a.b) set to ``value`` (when there)."""
    head, _, leaf = path.rpartition(".")

    def change(ask: Any, body: dict[str, Any]) -> dict[str, Any]:
        if not head:
            return {**body, leaf: value} if leaf in body else body
        inner = body.get(head)
        if not isinstance(inner, dict) or leaf not in inner:
            return body
        return {**body, head: {**inner, leaf: value}}

    return change


REQUIRED = ("_id", "index_id", "video_id", "status", "created_at", "updated_at")
WRONG_TYPES: dict[str, Any] = {
    "_id": 12345, "index_id": 12345, "video_id": 12345, "status": 3, "created_at": 1700000000,
    "updated_at": 1700000000, "system_metadata": "none", "system_metadata.filename": 7,
    "system_metadata.duration": "5.0", "system_metadata.width": "480",
    "system_metadata.height": 360.5, "hls": ["stream"], "hls.video_url": 1,
    "hls.thumbnail_urls": "thumbnail.jpg", "hls.status": 2, "hls.updated_at": 1700000000,
}
OUT_OF_ENUM = {"status": "done", "hls.status": "FINISHED"}
BAD_FORMAT = {"created_at": "yesterday", "updated_at": "2024-01-01T10:00:00"}  # no offset


def fields() -> Iterator[Mutant]:
    for view, clause in (("retrieve", "TASK-SHAPE"), ("list", "LIST-SHAPE")):
        viewed: Callable[..., bool] = lambda a, v=view: a.view == v  # noqa: E731
        for name in REQUIRED:
            yield made("task_fields", "missing", f"{name} in {view}", clause,
                       f"Task objects in {view} lack {name}.",
                       after("task_fields", without(name), viewed))
        for path, value in WRONG_TYPES.items():
            if view == "list" and path.startswith("hls"):
                continue  # list items carry no hls
            yield made("task_fields", "wrong-type", f"{path} in {view}", clause,
                       f"Task objects in {view} carry {path} = {value!r}.",
                       after("task_fields", _set(path, value), viewed))
        for table, kind in ((OUT_OF_ENUM, "out-of-enum"), (BAD_FORMAT, "bad-format")):
            for path, value in table.items():
                if view == "list" and path.startswith("hls"):
                    continue
                yield made("task_fields", kind, f"{path} in {view}", clause,
                           f"Task objects in {view} carry {path} = {value!r}.",
                           after("task_fields", _set(path, value), viewed))
        yield made("task_fields", "updated-before-created", view, "TASK-LIFECYCLE",
                   f"Task objects in {view} show updated_at a second before created_at.",
                   after("task_fields", lambda a, b: {**b, "updated_at": "2000-01-01T00:00:00"
                                                      ".000Z"}, viewed))
    for status in STATUSES:
        view = "retrieve" if status not in ("ready", "failed") else "list"
        clause = "TASK-SHAPE" if view == "retrieve" else "LIST-SHAPE"
        yield made("task_fields", "out-of-enum-at", f"status {status} in {view}", clause,
                   f"Task objects in {view} show status 'in_progress' while {status}.",
                   after("task_fields", _set("status", "in_progress"),
                         lambda a, v=view, s=status: a.view == v and a.status == s))
    yield made("task_fields", "hls-in-list", "list", "LIST-SHAPE",
               "List items carry the hls object of streamable tasks.",
               after("task_fields", lambda a, b: b if a.hls is None else {**b, "hls": a.hls},
                     lambda a: a.view == "list"))


def _revisit(at: int, back: str) -> Callable[[Any, Plan], Plan]:
    """A ready-bound plan that goes back to ``back`` after phase ``at``, then on again."""
    def change(ask: Any, plan: Plan) -> Plan:
        if plan.final != "ready" or len(plan.phases) <= at:
            return plan
        phases = plan.phases
        return Plan((*phases[:at + 1], (back, 0.4), *phases[at:]), plan.final)
    return change


def _then(final: str, later: str) -> Callable[[Any, Plan], Plan]:
    """A plan that reaches ``final`` and moves to ``later`` a second after (and, when that
    is not final, back to ``final`` half a second later)."""
    def change(ask: Any, plan: Plan) -> Plan:
        if plan.final != final:
            return plan
        if later in ("ready", "failed"):
            return Plan((*plan.phases, (final, 1.0)), later)
        return Plan((*plan.phases, (final, 1.0), (later, 0.5)), final)
    return change


def lifecycles() -> Iterator[Mutant]:
    for at, back in ((3, "queued"), (2, "pending"), (1, "validating")):
        name = dict(STATUSES_AT)[at]
        yield made("schedule", "revisits", f"{back} after {name}", "TASK-LIFECYCLE",
                   f"Tasks bound for ready go back to {back} after {name} (0.4 s), then on.",
                   after("schedule", _revisit(at, back)))
    for final, later in (("ready", "failed"), ("failed", "ready"), ("ready", "indexing")):
        yield made("schedule", "final-changes", f"{final} then {later}", "TASK-LIFECYCLE",
                   f"A {final} task turns {later} a second later.",
                   after("schedule", _then(final, later)))


STATUSES_AT = ((0, "validating"), (1, "pending"), (2, "queued"), (3, "indexing"))


def _statuses(test: Callable[[str], bool]) -> Callable[[Any], bool]:
    return lambda a: a.name == "status" and test(a.status)


NEIGHBOUR_STATUS = {"validating": "pending", "pending": "queued", "queued": "indexing",
                    "indexing": "queued", "ready": "failed", "failed": "ready"}
"""The status a filter for a status lets through too (a precision mutant)."""


def filters() -> Iterator[Mutant]:
    index: Callable[..., bool] = lambda a: a.name == "index_id"  # noqa: E731
    yield made("matches", "ignored", "index_id", "LIST-FILTER-SORT",
               "The index_id filter is ignored (every index's tasks are listed).",
               when("matches", index, answer(True)))
    for status in ("failed", "ready"):
        yield made("matches", f"drops-{status}", "index_id", "LIST-FILTER-SORT",
                   f"The index_id filter leaves out the index's {status} tasks.",
                   when("matches", lambda a, s=status: a.name == "index_id" and a.status == s,
                        answer(False)))
    for status in STATUSES:
        asked: Callable[..., bool] = (  # noqa: E731
            lambda a, s=status: a.name == "status" and a.query.statuses == frozenset({s}))
        other = NEIGHBOUR_STATUS[status]
        yield made("matches", "also-keeps", f"status={status}", "LIST-FILTER-SORT",
                   f"status={status} also lists {other} tasks.",
                   when("matches", lambda a, s=status, o=other: a.name == "status"
                        and a.query.statuses == frozenset({s}) and a.status == o,
                        answer(True)))
        yield made("matches", "drops-all", f"status={status}", "LIST-FILTER-SORT",
                   f"status={status} lists none of the {status} tasks.",
                   when("matches", asked, answer(False)))
        if status in ("ready", "failed"):  # statuses many tasks share at once
            yield made("matches", "drops-half", f"status={status}", "LIST-FILTER-SORT",
                       f"status={status} leaves out the {status} tasks created at an even "
                       "count.", when("matches", lambda a, f=asked: f(a) and a.task.seq % 2 == 0,
                                      answer(False)))
    repeated: Callable[..., bool] = (  # noqa: E731
        lambda a: a.name == "status" and len(a.query.statuses) > 1)
    yield made("matches", "first-only", "repeated status", "LIST-FILTER-SORT",
               "Of repeated status keys only the first in sort order counts.",
               when("matches", repeated,
                    lambda d, a: a.status == min(a.query.statuses)))
    yield made("matches", "ignored", "repeated status", "LIST-FILTER-SORT",
               "Repeated status keys are ignored (every status is listed).",
               when("matches", repeated, answer(True)))
    orders: dict[str, tuple[str, Callable[..., Any], Callable[[Any], bool]]] = {
        "updated-as-created": ("sort_by=updated_at is served in created_at order",
                               lambda q, o: ("created_at", o[1]), lambda q: True),
        "asc-ignored": ("sort_option=asc is served descending",
                        lambda q, o: (o[0], True), lambda q: True),
        "inverted": ("sort_option runs the other way", lambda q, o: (o[0], not o[1]),
                     lambda q: True),
        "updated-as-created-within-index": (
            "sort_by=updated_at within an index_id filter is served in created_at order",
            lambda q, o: ("created_at", o[1]), lambda q: q.index_id is not None),
    }
    for kind, (text, change, test) in orders.items():
        yield made("order", kind, "sort", "LIST-FILTER-SORT", f"{text[0].upper()}{text[1:]}.",
                   after("order", change, test))


def pages() -> Iterator[Mutant]:
    for view in PAGED_VIEWS:
        seen: Callable[..., bool] = lambda a, v=view: a.view == v  # noqa: E731
        later: Callable[..., bool] = (  # noqa: E731
            lambda a, v=view: a.view == v and a.query.page > 1)
        yield made("window", "repeats-last-item", view, "LIST-PAGING",
                   f"In {view}, every page after the first starts with the last item of the "
                   "page before.", after("window", lambda a, w: (w[0] - 1, w[1] - 1), later))
        yield made("window", "skips-an-item", view, "LIST-PAGING",
                   f"In {view}, every page after the first skips one item.",
                   after("window", lambda a, w: (w[0] + 1, w[1] + 1), later))
        yield made("window", "never-empty", view, "LIST-PAGING",
                   f"In {view}, a page past the end repeats the last page instead of empty "
                   "data.", when("window", lambda a, v=view: a.view == v and a.total > 0
                                 and (a.query.page - 1) * a.query.page_limit >= a.total,
                                 last_window))
        for name in ("page", "total_page", "total_results"):
            for step in (1, -1):
                yield made("page_info", f"{name}{step:+d}", view, "LIST-PAGING",
                           f"In {view}, page_info.{name} is off by {step:+d}.",
                           after("page_info", lambda a, i, n=name, d=step: {**i, n: i[n] + d},
                                 seen))
        if view != "list":
            yield made("page_info", "unfiltered-totals", view, "LIST-PAGING",
                       f"In {view}, total_results and total_page count the unfiltered set.",
                       after("page_info", unfiltered_totals, seen))
    yield made("page_info", "page-always-1", "list", "LIST-PAGING",
               "page_info.page is 1 whatever page was asked for.",
               after("page_info", lambda a, i: {**i, "page": 1}))
    yield made("page_info", "limit_per_page-51", "page_limit=50", "LIST-SHAPE",
               "page_info.limit_per_page is 51 when 50 was asked for.",
               after("page_info", lambda a, i: {**i, "limit_per_page": 51},
                     lambda a: a.query.page_limit == 50))
    yield made("query_policy", "no-cap", "page_limit above 50", "LIST-FILTER-SORT LIST-SHAPE",
               "page_limit above 50 is served as asked (neither refused nor clamped).",
               after("query_policy", lambda p: replace(p, limit_cap=None)))


ERROR_KINDS = {"auth": "401 (no valid key)", "unknown-id": "404 (unknown task)",
               "refusal": "400 (refused delete)", "bad-query": "400 (bad list query)",
               "malformed-id": "400 (malformed ID)", "create": "400 (rejected create)",
               "route": "404 (unknown path)"}


def envelopes() -> Iterator[Mutant]:
    changes: dict[str, Callable[[Any, Answer], Answer]] = {
        "without-message": without("message"),
        "without-code": without("code"),
        "code-a-number": lambda a, r: replace(r, body={**r.body, "code": 400}),
        "html": lambda a, r: replace(r, body=b"<html><body>Error</body></html>",
                                     media_type="text/html"),
    }
    for kind, what in ERROR_KINDS.items():
        for name, change in changes.items():
            # a refusal without its code (or with another) breaks the code's clause as well
            clauses = "ERR-ENVELOPE" + (" DEL-REFUSAL-CODE" if kind == "refusal"
                                        and name != "without-message" else "")
            yield made("envelope", name, kind, clauses,
                       f"Error answers {what} come {name}.",
                       after("envelope", change, lambda a, k=kind: a.kind == k
                             or (k == "bad-query" and a.kind == "bad-number")))
