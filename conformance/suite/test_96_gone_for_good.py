"""DEL-GONE "for good": near the end of the run, every task the run deleted is looked for
again in every view (a task that comes back some seconds after its 204 is not gone for good).
"""

from __future__ import annotations

import pytest

from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError
from conformance.resources.gone import VIEWS, Deleted, GoneLook, judge_view, look_for_gone
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.watch import Watch
from conformance.run.state import Subjects
from conformance.subjects import subject
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.gone, pytest.mark.clause("DEL-GONE")]
AT_THE_END = "at the end of the run"


def _deleted(pool: Pool, ledger: Ledger, watch: Watch) -> list[Deleted]:
    """Every task of the run a task delete of the run removed with 2xx: the pool's first (their
    last status known), then the others the run created (the property tests')."""
    removed = {d.target for d in watch.deletes if d.kind == "task" and d.succeeded}
    found = []
    for task in pool.tasks.values():
        if task.task_id in removed:
            status = (task.final or {}).get("status")
            found.append(Deleted(task.task_id, task.index_id,
                                 status if isinstance(status, str) else None,
                                 f"the pool's {task.role} task"))
    known = {t.task_id for t in found}
    for entry in ledger.entries("task"):
        if entry.id in removed and entry.id not in known:
            known.add(entry.id)
            found.append(Deleted(entry.id, entry.parents.get("index_id"), None,
                                 "a task of the run"))
    return found


@pytest.fixture(scope="module")
def end_look(deletions: Deletions, pool: Pool, ledger: Ledger, watch: Watch, api: ApiClient,
             listing: Listing) -> GoneLook:
    tasks = _deleted(pool, ledger, watch)
    if not tasks:
        raise ProvisioningError(
            "the run deleted no task of its own with 2xx, so nothing can be shown gone for "
            "good (see DEL-FAILED and DEL-VIDEO-FIRST): the failed task "
            f"{deletions.failed_gone or 'was not deleted'}; the ready task "
            f"{deletions.ready_gone or 'was not deleted'}")
    return look_for_gone(api.unchecked(), listing, tasks, AT_THE_END)


@pytest.mark.parametrize("view", VIEWS)
def test_at_the_end_of_the_run_every_task_it_deleted_is_still_gone_from_every_view(
        view: str, end_look: GoneLook, judged: Subjects) -> None:
    for note in judge_view(end_look, view):
        judged.partly("DEL-GONE", f"{AT_THE_END}: {note}")
    judged.add("DEL-GONE", subject("DEL-GONE", AT_THE_END, view))
