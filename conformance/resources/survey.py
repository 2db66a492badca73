"""The list survey: every filter, sort and page walk the list tests judge, read once while the
pool's tasks all exist (before any delete: the delete scenario depends on it).

Each filter is read whole (one page of 50, or every page) for what it shows, and walked in
small pages for paging, so a paging fault is never blamed on a filter. What the run knows of
its own tasks (index, final status, times) says what each filter must show (recall) and leave
out (precision); a filter with nothing of the run's to show or to leave out could not have
failed, and is reported as not judged. A task a filter missed is read again at once: one that
vanished meanwhile is DEL-ONLY-THAT's business, not the filter's.

Each task of the run is read once more when the lists are read: one whose final status did not
stay (TASK-LIFECYCLE's finding) may have joined or left a list by status between two of its
reads, so a list agreeing with the status it reads now is right. Such a task is not counted in
the filter and paging comparisons of the lists its change can move it in or out of (each says
so), and those lists are walked again once the change was seen; a status that changes again
while they are walked leaves their paging not judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.checks.listing import unreadable_items
from conformance.checks.tasks import TASK_STATUSES, is_date_time, parse_time
from conformance.resources.account_list import AccountList, read_account_list
from conformance.resources.cleanup import answer_json
from conformance.resources.errors import SubjectDestroyed
from conformance.resources.pages import Listing, Walk, page_size_for
from conformance.resources.pool import Pool
from conformance.wire.client import ApiClient

__all__ = ["SORTS", "Changed", "FilenameFilter", "Known", "Query", "Survey",
           "sort_cannot_tell", "take_survey"]

SORTS = [(by, option) for by in ("created_at", "updated_at") for option in ("asc", "desc")]
WHOLE = 50


@dataclass(frozen=True)
class Known:
    """A task of the run whose index and final status the run knows."""

    role: str
    task_id: str
    index_id: str
    status: str
    created_at: str
    updated_at: str
    filename: str | None


@dataclass
class Query:
    """One filtered listing, read whole and walked in small pages."""

    key: str
    """A short name, for test ids."""
    name: str
    params: dict[str, Any]
    subjects: list[tuple[str, str]]
    """(head, item) of LIST-FILTER-SORT this query judges."""
    index_id: str | None
    statuses: list[str] | None
    whole: Walk
    paged: Walk | None = None
    shown: set[str] = field(default_factory=set)
    """The run's tasks it must show (recall)."""
    left_out: set[str] = field(default_factory=set)
    """The run's tasks it must leave out (precision)."""
    missed: dict[str, str] = field(default_factory=dict)
    """Tasks it should have shown and did not, read again at once and still matching."""
    excused: dict[str, str] = field(default_factory=dict)
    """Tasks it did not show that are no subject any more (vanished, changed), and why."""
    changed: dict[str, str] = field(default_factory=dict)
    """Tasks whose final status did not stay, so that they may have joined or left this list
    between its reads: counted neither for nor against it, and why."""
    unsettled: str | None = None
    """Why its pages are not judged: a task's status changed again while they were walked."""

    def matches(self, task: Known) -> bool:
        return (self.index_id in (None, task.index_id)
                and (self.statuses is None or task.status in self.statuses))


@dataclass(frozen=True)
class Changed:
    """A task of the run whose final status did not stay: what it reads now, and why it is
    not counted."""

    status: str | None
    """As read now (None: not a status of the enum)."""
    why: str


@dataclass
class FilenameFilter:
    """Whether ``filename`` finds a task of the run, and nothing else of it: only then can a
    create be looked for by its unique filename anywhere in the account."""

    works: bool
    why: str

    def created(self, client: ApiClient, filename: str) -> tuple[list[dict[str, Any]],
                                                                httpx.Response]:
        """The tasks ``client``'s account lists under ``filename`` (items that name another
        file are the target's filter at fault, not a find)."""
        response = client.list_tasks(filename=filename, page_limit=WHOLE)
        body = answer_json(response)
        items = body.get("data") if response.status_code == 200 else None
        found = [i for i in items or [] if isinstance(i, dict) and
                 (i.get("system_metadata") or {}).get("filename", filename) == filename]
        return found, response


@dataclass
class Survey:
    known: list[Known]
    queries: list[Query]
    sorts: dict[tuple[str, str], httpx.Response]
    sort_index: str | None
    past_ends: dict[str, httpx.Response]
    """Per query key, a page just past the end of that filtered list."""
    filename: FilenameFilter
    account: AccountList
    """The account's unfiltered list, read for what churn cannot explain."""
    not_there: dict[str, str] = field(default_factory=dict)
    """Pool roles that were not there to survey, and why."""
    changed: dict[str, Changed] = field(default_factory=dict)
    """Tasks of the run whose final status did not stay while the lists were read."""

    def known_in(self, index_id: str | None) -> list[Known]:
        return [k for k in self.known if k.index_id == index_id]

    def query(self, key: str) -> Query | None:
        return next((q for q in self.queries if q.key == key), None)


def sort_cannot_tell(tasks: list[Known], sort_by: str) -> str | None:
    """Why ``tasks`` cannot tell a list sorted by ``sort_by`` from a wrong one (None: they
    can): reversed needs two distinct keys, sorted by the other time field needs a pair the
    two fields order differently."""
    other = "updated_at" if sort_by == "created_at" else "created_at"
    times = [(getattr(t, sort_by), getattr(t, other)) for t in tasks]
    if not all(is_date_time(a) and is_date_time(b) for a, b in times):
        return "the run's tasks were not read with both times"
    keys = [(parse_time(a), parse_time(b)) for a, b in times]
    if len({key for key, _ in keys}) < 2:
        return f"no two tasks of the run's index differ in {sort_by}"
    if not any(a[0] < b[0] and a[1] > b[1] for a in keys for b in keys):
        return (f"the run's tasks are in the same order by {sort_by} and by {other}: no task "
                f"to tell them apart")
    return None


def _known(pool: Pool) -> tuple[list[Known], dict[str, str]]:
    known, missing = [], {}
    for role, task in pool.tasks.items():
        final = task.final
        if not pool.usable(role) or final is None:
            missing[role] = pool.why_not(role)
            continue
        known.append(Known(role, task.task_id, task.index_id, str(final.get("status")),
                           str(final.get("created_at")), str(final.get("updated_at")),
                           task.filename))
    for role, why in pool.missing.items():
        missing[role] = f"could not be created: {why}"
    return known, missing


QueryRow = tuple[str, str, dict[str, Any], list[tuple[str, str]]]
ALONE, COMBINED = "filter alone", "filters combined"
QUERY_KEYS = ("index-run", "index-second", "status-ready", "status-failed", "run-ready",
              "run-failed", "run-both", "run-failed-queued", "second-failed", "second-ready")
PAST_END = ("index-run", "run-ready")
"""The filtered lists walked past their end: one by index_id, one by status."""


def _queries(a: str, b: str | None) -> list[QueryRow]:
    found: list[QueryRow] = [
        ("index-run", "the list by index_id of the run's index", {"index_id": a},
         [(ALONE, "index_id")]),
        ("status-ready", "the list by status ready", {"status": "ready"},
         [(ALONE, "status"), ("status", "ready")]),
        ("status-failed", "the list by status failed", {"status": "failed"},
         [(ALONE, "status"), ("status", "failed")]),
        ("run-ready", "the run's index's list by status ready",
         {"index_id": a, "status": "ready"}, [(COMBINED, "index_id and status"),
                                              ("status", "ready")]),
        ("run-failed", "the run's index's list by status failed",
         {"index_id": a, "status": "failed"}, [(COMBINED, "index_id and status"),
                                               ("status", "failed")]),
        ("run-both", "the run's index's list by status ready and status failed",
         {"index_id": a, "status": ["ready", "failed"]}, [(COMBINED, "repeated status keys")]),
        # Repeated keys that leave the index's ready tasks out: ignoring them shows.
        ("run-failed-queued", "the run's index's list by status failed and status queued",
         {"index_id": a, "status": ["failed", "queued"]}, [(COMBINED, "repeated status keys")]),
    ]
    if b is not None:
        found += [
            ("index-second", "the list by index_id of the second index", {"index_id": b},
             [(ALONE, "index_id")]),
            ("second-failed", "the second index's list by status failed",
             {"index_id": b, "status": "failed"}, [(COMBINED, "index_id and status"),
                                                   ("status", "failed")]),
            ("second-ready", "the second index's list by status ready",
             {"index_id": b, "status": "ready"}, [(COMBINED, "index_id and status"),
                                                  ("status", "ready")]),
        ]
    return found


def take_survey(api: ApiClient, pool: Pool, listing: Listing) -> Survey:
    raw = api.unchecked()
    known, missing = _known(pool)
    queries = [_read_query(raw, listing, pool, known, row)
               for row in _queries(pool.index_id, pool.second_index)]
    sorts = {(by, option): raw.list_tasks(index_id=pool.index_id, page_limit=WHOLE,
                                          sort_by=by, sort_option=option)
             for by, option in SORTS}
    past_ends = {q.key: r for q in queries if (r := _past_end(raw, q)) is not None}
    changed = _changed(pool, known)
    if changed:
        _walk_again(raw, listing, pool, known, queries, past_ends, changed)
    return Survey(known, queries, sorts, pool.index_id, past_ends,
                  _filename_filter(raw, known), read_account_list(raw), missing, changed)


def _read_query(raw: ApiClient, listing: Listing, pool: Pool, known: list[Known],
                row: QueryRow) -> Query:
    key, name, params, subjects = row
    statuses = params.get("status")
    query = Query(key, name, params, subjects, params.get("index_id"),
                  [statuses] if isinstance(statuses, str) else statuses,
                  listing.walk(raw, WHOLE, **params))
    query.shown = {k.task_id for k in known if query.matches(k)}
    query.left_out = {k.task_id for k in known if not query.matches(k)}
    total = _total(query.whole)
    if total is not None and total <= WHOLE:
        query.paged = listing.walk(raw, page_size_for(total), **params)
    _confirm_misses(query, pool, known)
    return query


def _past_end(raw: ApiClient, query: Query) -> httpx.Response | None:
    """A page just past the end of the small-page walk of a list in ``PAST_END``."""
    if query.key not in PAST_END or query.paged is None or not query.paged.responses:
        return None
    pages = query.paged.total_pages or len(query.paged.responses)
    return raw.list_tasks(page=pages + 1, page_limit=query.paged.limit, **query.params)


def _status_now(pool: Pool, task: Known) -> tuple[bool, str | None]:
    """Whether ``task`` reads now (200), and its status as read (None: not of the enum)."""
    response = pool.look(task.role)
    status = answer_json(response).get("status")
    return response.status_code == 200, status if status in TASK_STATUSES else None


def _changed(pool: Pool, known: list[Known]) -> dict[str, Changed]:
    """The run's tasks whose final status reads otherwise now, after the lists (one that no
    longer reads at all is the filters' miss to confirm, or DEL-ONLY-THAT's)."""
    found = {}
    for task in known:
        read, status = _status_now(pool, task)
        if read and status != task.status:
            found[task.task_id] = Changed(status, (
                f"its final status was {task.status!r} and reads {status!r} after the lists "
                "were read: it did not stay (see TASK-LIFECYCLE), so these lists may show it "
                "at either status"))
    return found


def _moves_in(query: Query, task: Known, change: Changed) -> bool:
    """Whether ``task``'s status change can move it into or out of ``query``'s set."""
    return query.index_id in (None, task.index_id) and query.statuses is not None \
        and bool({task.status, change.status} & set(query.statuses))


def _walk_again(raw: ApiClient, listing: Listing, pool: Pool, known: list[Known],
                queries: list[Query], past_ends: dict[str, httpx.Response],
                changed: dict[str, Changed]) -> None:
    """The lists a changed task may have joined or left are walked again in small pages (and
    past their end) now that the change was seen, and judged without that task; a task whose
    status changed again meanwhile leaves their paging unjudged."""
    tasks = [k for k in known if k.task_id in changed]
    moved = [q for q in queries if any(_moves_in(q, k, changed[k.task_id]) for k in tasks)]
    for query in moved:
        query.changed = {k.task_id: changed[k.task_id].why for k in tasks
                         if _moves_in(query, k, changed[k.task_id])}
        if query.paged is not None:
            query.paged = listing.walk(raw, query.paged.limit, **query.params)
        if query.key in past_ends and (again := _past_end(raw, query)) is not None:
            past_ends[query.key] = again
    for task in tasks:
        read, status = _status_now(pool, task)
        if not read or status != changed[task.task_id].status:
            for query in moved:
                if task.task_id in query.changed:
                    query.unsettled = (f"task {task.task_id} read {changed[task.task_id].status!r}"
                                       f" before its pages were walked again and "
                                       f"{status!r} after: its status keeps changing")


def _total(walk: Walk) -> int | None:
    bodies = walk.bodies()
    info = bodies[0].get("page_info") if bodies else None
    total = info.get("total_results") if isinstance(info, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _confirm_misses(query: Query, pool: Pool, known: list[Known]) -> None:
    """Read again each task of the run the filter should have shown and did not: only one
    that still exists and still matches is the filter's miss."""
    if not query.whole.complete:
        return  # what lies past the page budget is not judged (the tests say "in part")
    if unreadable_items(query.whole.bodies(), ("_id",)) is not None:
        return  # items without their _id: LIST-SHAPE's, and the test says "not judged"
    shown = query.whole.ids()
    for task in known:
        if task.task_id not in query.shown or task.task_id in shown:
            continue
        try:
            read = pool.read(task.role)
        except SubjectDestroyed as exc:
            query.excused[task.task_id] = str(exc)
            continue
        body = answer_json(read)
        if read.status_code != 200:
            query.excused[task.task_id] = f"it reads {read.status_code} now"
        elif body.get("index_id") != task.index_id or body.get("status") != task.status:
            query.excused[task.task_id] = "its index or status reads otherwise now"
        else:
            query.missed[task.task_id] = f"it still exists as {task.status} in its index"


def _filename_filter(raw: ApiClient, known: list[Known]) -> FilenameFilter:
    named = next((k for k in known if k.filename), None)
    if named is None or named.filename is None:
        return FilenameFilter(False, "no task of the run was uploaded under a filename")
    found, response = FilenameFilter(True, "").created(raw, named.filename)
    ids = {str(i.get("_id")) for i in found}
    others = {k.task_id for k in known if k.filename != named.filename}
    if response.status_code != 200 or named.task_id not in ids or ids & others:
        return FilenameFilter(False, f"the filename filter did not find exactly task "
                              f"{named.task_id} by its filename (GET /tasks answered "
                              f"{response.status_code} with {sorted(ids)})")
    return FilenameFilter(True, f"the filename filter found task {named.task_id} alone")
