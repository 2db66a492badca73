"""A list page as the rules decide it: which tasks the view shows, which pass its filters, in
which order, which window is the page, what the page holds and what its page_info says.

While the view, filter and reach decisions are the defaults, the page comes from the kept
orders (listing.py, fast at any size); once a rule changes one of them, every candidate task
is asked about (the accounts a fault or mutant runs against are small).
"""

from __future__ import annotations

from dataclasses import replace

from conformance.emulator import listing
from conformance.emulator.asks import ItemsAsk, MatchAsk, PageAsk
from conformance.emulator.model import ListQuery, Task
from conformance.emulator.store import Store

FILTERS = ("index_id", "status", "filename", "duration", "width", "height", "created_at",
           "updated_at")


def view_of(q: ListQuery) -> str:
    """The view a list query asks for, by the contract's filters (status first)."""
    if q.statuses is not None:
        return "list-by-statuses" if len(q.statuses) > 1 else "list-by-status"
    if q.index_id is not None:
        return "list-by-index"
    return "list" if q.unfiltered() else "list-by-other"


def list_page(store: Store, account: str, query: ListQuery) -> tuple[list[Task], dict[str, int],
                                                                     float]:
    """One page, its page_info, and the instant whose statuses the page shows."""
    rules = store.rules
    with store.lock:
        store.tick()
        acc = store.account(account)
        sort_by, descending = rules.order(query)
        q = replace(query, sort_by=sort_by, descending=descending)
        view = view_of(q)
        now = acc.timeline.advance(store.clock.now())
        source = acc.tasks if q.index_id is None else acc.by_index.get(q.index_id, {})
        found: list[Task] | None = None
        if rules.pristine("shown", "matches", "reach"):
            page, total = listing.answer(source, acc.timeline, q)
        else:
            found = _scan(store, account, q, view, now)
            total = len(found)
        ask = PageAsk(q, view, total, lambda: len(acc.tasks))
        if found is not None or not rules.pristine("window"):
            start, end = rules.window(ask)
            start, end = max(start, 0), max(end, 0)
            if found is not None:
                page = found[start:end]
            else:
                page, _ = listing.answer(source, acc.timeline,
                                         replace(q, offset=start, span=max(end - start, 0)))
        last = next(reversed(acc.tombstones.values()), None)
        page = rules.page_items(ItemsAsk(q, view, total, page, last))
        return page, rules.page_info(ask), now


def _scan(store: Store, account: str, q: ListQuery, view: str, now: float) -> list[Task]:
    """Every task the view shows and the filters keep, sorted as asked."""
    rules = store.rules
    operation = "list_tasks" if q.index_id is None else "list_tasks_by_index"
    names = [n for n in FILTERS if getattr(q, "statuses" if n == "status" else n) is not None]
    found: list[Task] = []
    for key, acc in store.accounts.items():
        own = key == account
        for task in acc.tasks.values():
            if not own and not store.reaches(operation, account, key, store.subject(task, now)):
                continue
            if store.shows(view, task, None, now):
                found.append(task)
        if own:
            found.extend(t for t in acc.tombstones.values()
                         if store.shows(view, t, acc.deleted_at.get(t.id, 0.0), now))

    def kept(task: Task) -> bool:
        status, updated = task.status_at(now)
        return all(rules.matches(MatchAsk(name, q, task, status, updated)) for name in names)

    found = [t for t in found if kept(t)]
    if q.sort_by == "updated_at":
        found.sort(key=lambda t: (t.status_at(now)[1], t.seq))
    else:
        found.sort(key=lambda t: t.seq)
    if q.descending:
        found.reverse()
    return found
