"""TENANT-ISOLATION: another account can neither read, list nor delete this account's tasks,
which stay intact, including tasks their owner could delete."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError
from conformance.resources.pages import Listing, page_size_for
from conformance.resources.pool import Pool
from conformance.run.state import Subjects
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.isolation, pytest.mark.clause("TENANT-ISOLATION"),
              pytest.mark.requires("second_api_key")]


def _intact(pool: Pool, role: str) -> None:
    task = pool[role]
    assert task.final is not None
    read = pool.read(role)
    if read.status_code in (400, 404):
        pool.destroyed(role, "TENANT-ISOLATION")  # later tests cite this clause
    checks.task_is_unchanged(task.final, read, "TENANT-ISOLATION")


def test_another_account_cannot_retrieve_the_task(second_api: ApiClient, pool: Pool,
                                                  judged: Subjects) -> None:
    checks.foreign_access_is_refused(second_api.retrieve_task(pool["shared_ready"].task_id))
    _intact(pool, "shared_ready")
    judged.add("TENANT-ISOLATION", "retrieve: a ready task")


def test_another_account_does_not_see_the_tasks_in_any_list(
        second_api: ApiClient, pool: Pool, listing: Listing, judged: Subjects) -> None:
    ours = {t.task_id for t in pool.tasks.values()}
    first = second_api.list_tasks(page_limit=1)
    total = checks.list_body(first, "TENANT-ISOLATION")["page_info"]["total_results"]
    # Its own list, every page, and a listing filtered by the first account's index (which
    # may be refused with a 4xx, or answer with nothing of the first account).
    walks = {"its own list": listing.walk(second_api, page_size_for(total)),
             "a list filtered by the other account's index":
                 listing.walk(second_api, index_id=pool.index_id)}
    for name, walk in walks.items():
        bodies = [checks.list_body(r, "TENANT-ISOLATION") for r in walk.responses
                  if not 400 <= r.status_code < 500]
        for task_id in sorted(ours):
            checks.list_does_not_show(bodies, task_id, "TENANT-ISOLATION",
                                      "it belongs to another account")
        judged.add("TENANT-ISOLATION", f"list: {name} ({walk.extent()})")
        if not walk.complete:
            judged.partly("TENANT-ISOLATION", f"{name} was read up to the page budget")
    _intact(pool, "shared_ready")


def test_another_account_cannot_delete_a_task_nobody_could_delete(
        second_api: ApiClient, pool: Pool, judged: Subjects) -> None:
    task = pool["shared_ready"]
    checks.foreign_access_is_refused(second_api.delete_task(task.task_id))
    _intact(pool, "shared_ready")
    judged.add("TENANT-ISOLATION", "delete: a ready task with its video")


def test_another_account_cannot_delete_a_task_its_owner_could_delete(
        deletions: Deletions, judged: Subjects) -> None:
    if not deletions.stranger:
        raise ProvisioningError(
            "no deletable task was there to try: the failed task "
            f"{deletions.failed_gone or 'was deleted'}; the ready task "
            f"{deletions.ready_gone or 'was deleted'}")
    for attempt in deletions.stranger:
        checks.foreign_access_is_refused(attempt.response)
        if attempt.after is None:
            raise ProvisioningError(f"the {attempt.task.role} task could not be read after "
                                    "another account's delete (see DEL-ONLY-THAT)")
        assert attempt.task.final is not None
        checks.task_is_unchanged(attempt.task.final, attempt.after, "TENANT-ISOLATION")
        judged.add("TENANT-ISOLATION", f"delete: {attempt.what}")
