"""DEL-GONE "for good": near the end of the run, every task the run deleted is looked for
again in every view, at least ``GONE_GAP`` seconds after the scenario's deletes (a task that
comes back some seconds after its 204 is not gone for good; the run waits for what remains
of the gap, and tasks deleted later than that are looked for too but counted apart).

The same look reads the list by status failed and the account's list: every failed task of
the run it shows must be in the list by status failed (LIST-FILTER-SORT's recall on more
failed tasks than the survey had, the property tests' included).
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import httpx
import pytest

from conformance import checks
from conformance.resources.cleanup import answer_json
from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError
from conformance.resources.gone import VIEWS, Deleted, GoneLook, judge_view, look_for_gone
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.watch import Watch
from conformance.run.state import Subjects
from conformance.subjects import GONE_AGAIN, GONE_GAP, subject
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

pytestmark = pytest.mark.gone
_TASK = re.compile(r"/tasks/([^/?#]+)$")
FAILED = "the list by status failed"


def _deleted(pool: Pool, ledger: Ledger, watch: Watch) -> tuple[list[Deleted], list[Deleted]]:
    """Every task of the run a task delete of the run removed with 2xx: the pool's (their
    last status known), and the others the run created (the property tests')."""
    removed = {d.target for d in watch.deletes if d.kind == "task" and d.succeeded}
    pooled = []
    for task in pool.tasks.values():
        if task.task_id in removed:
            status = (task.final or {}).get("status")
            pooled.append(Deleted(task.task_id, task.index_id,
                                  status if isinstance(status, str) else None,
                                  f"the pool's {task.role} task"))
    known = {t.task_id for t in pooled}
    others = []
    for entry in ledger.entries("task"):
        if entry.id in removed and entry.id not in known:
            known.add(entry.id)
            others.append(Deleted(entry.id, entry.parents.get("index_id"), None,
                                  "a task of the run"))
    return pooled, others


def _deleted_at(transcript: Transcript) -> dict[str, float]:
    """When the run's last delete of each task was answered (time.monotonic())."""
    found = {}
    for exchange in transcript.since(0):
        named = _TASK.search(urlsplit(exchange.url).path)
        if exchange.method == "DELETE" and named and exchange.status is not None:
            found[named.group(1)] = exchange.received_at
    return found


class EndLook:
    """The look at the end of the run, and which of its tasks were deleted long enough
    before it to judge "for good"."""

    def __init__(self, look: GoneLook, recent: list[Deleted]) -> None:
        self.look = look
        self.recent = recent


@pytest.fixture(scope="module")
def end_look(deletions: Deletions, pool: Pool, ledger: Ledger, watch: Watch, api: ApiClient,
             listing: Listing, transcript: Transcript) -> EndLook:
    pooled, others = _deleted(pool, ledger, watch)
    if not pooled and not others:
        raise ProvisioningError(
            "the run deleted no task of its own with 2xx, so nothing can be shown gone for "
            "good (see DEL-FAILED and DEL-VIDEO-FIRST): the failed task "
            f"{deletions.failed_gone or 'was not deleted'}; the ready task "
            f"{deletions.ready_gone or 'was not deleted'}")
    times = _deleted_at(transcript)
    # Wait only for what remains of the gap after the delete scenario's deletes (those seen
    # gone right after): a live run's indexing time has long passed it, a quick run against
    # an emulator waits a moment. Later deletes (the client's, the property tests') are
    # looked for as well, and counted apart when they are more recent than the gap.
    scenario = {task.task_id for task in deletions.deleted.values()}
    last = max((times[t] for t in scenario if t in times), default=None)
    if last is not None:
        time.sleep(max(0.0, last + GONE_GAP - time.monotonic()))
    start = time.monotonic()
    recent = [t for t in [*pooled, *others] if times.get(t.task_id, start) > start - GONE_GAP]
    look = look_for_gone(api.unchecked(), listing, [*pooled, *others], GONE_AGAIN,
                         statuses=("failed",))
    return EndLook(look, recent)


@pytest.mark.clause("DEL-GONE")
@pytest.mark.parametrize("view", VIEWS)
def test_at_the_end_of_the_run_every_task_it_deleted_is_still_gone_from_every_view(
        view: str, end_look: EndLook, judged: Subjects) -> None:
    look = end_look.look
    for note in judge_view(look, view):
        judged.partly("DEL-GONE", f"{GONE_AGAIN}: {note}")
    if len(end_look.recent) == len(look.tasks):
        why = (f"every task it looked for was deleted less than {GONE_GAP:g} s before the "
               "look")
        judged.not_judged("DEL-GONE", subject("DEL-GONE", GONE_AGAIN, view), why)
        pytest.skip(f"not judged: {why}")
    judged.add("DEL-GONE", subject("DEL-GONE", GONE_AGAIN, view))
    settled = len(look.tasks) - len(end_look.recent)
    # Said once for all views (no ": " and no ", ": the report would join it as items).
    judged.add("DEL-GONE", f"{settled} task(s) looked for again {GONE_GAP:g} s or more after "
               f"their delete" + (f" and {len(end_look.recent)} deleted since (seen gone "
                                  "then, not yet for good)" if end_look.recent else ""))


def _failed_of_the_run(look: GoneLook, pool: Pool, ledger: Ledger,
                       watch: Watch) -> dict[str, str]:
    """The run's live tasks the look saw failed (in the account's list or an index's), and
    the pool's task kept failed: task -> where it was seen failed."""
    ours = {entry.id for entry in ledger.entries("task")} | {t.task_id for t in
                                                              pool.tasks.values()}
    found = {}
    if pool.usable("kept_failed") and (pool.tasks["kept_failed"].final or {}).get(
            "status") == "failed":
        found[pool.tasks["kept_failed"].task_id] = "the pool's task kept failed"
    for view in ("every page of the list", "list by index_id"):
        for name, walk in look.walks.get(view, []):
            for body in walk.bodies():
                for item in body["data"]:
                    task_id = item.get("_id")
                    if task_id in ours and item.get("status") == "failed" \
                            and not watch.expected_gone(str(task_id)):
                        found.setdefault(str(task_id), f"{name} shows it failed")
    return found


def _still_failed(raw: ApiClient, watch: Watch, task_id: str) -> bool:
    read = raw.retrieve_task(task_id)
    watch.saw(task_id, read)
    return read.status_code == 200 and answer_json(read).get("status") == "failed"


@pytest.mark.clause("LIST-FILTER-SORT")
def test_at_the_end_of_the_run_the_list_by_status_failed_shows_every_failed_task_of_the_run(
        end_look: EndLook, pool: Pool, ledger: Ledger, watch: Watch, api: ApiClient,
        listing: Listing, judged: Subjects) -> None:
    look = end_look.look
    text = subject("LIST-FILTER-SORT", "at the end of the run",
                   "status failed shows every failed task of the run")
    walk = next(w for name, w in look.walks["list by status"] if name == FAILED)
    bodies = [checks.list_body(r, "LIST-FILTER-SORT") for r in walk.responses]
    unreadable = checks.unreadable_items(bodies, ("_id", "status"))
    failed = _failed_of_the_run(look, pool, ledger, watch)
    if unreadable is not None or not failed:
        why = unreadable or "the run holds no failed task at its end"
        judged.not_judged("LIST-FILTER-SORT", text, f"{FAILED}: {why}")
        pytest.skip(f"not judged: {FAILED}: {why}")
    first: httpx.Response = walk.responses[0]
    for body, response in zip(bodies, walk.responses, strict=True):
        checks.list_items_match(body, statuses=["failed"], response=response)
    missing = set(failed) - walk.ids()
    if missing and not walk.complete:
        judged.partly("LIST-FILTER-SORT", f"{FAILED} was read up to the page budget "
                      f"({walk.extent()}): {len(missing)} failed task(s) of the run not "
                      "looked for past it")
        missing = set()
    raw = api.unchecked()
    # Others' work may move a task over a page boundary between two pages: a miss counts
    # only when the task still reads failed and a second walk leaves it out as well.
    missing = {t for t in missing if _still_failed(raw, watch, t)}
    if missing:
        again = listing.walk(raw, status="failed")
        missing = missing - again.ids() if again.complete else set()
        first = again.responses[0] if again.responses else first
    checks.filtered_list_shows_every_match(
        {t: f"{failed[t]}, still reads failed, and a second walk left it out too"
         for t in missing}, FAILED, first)
    judged.add("LIST-FILTER-SORT", text)
