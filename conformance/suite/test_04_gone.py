"""DEL-GONE: after a 204 the task is gone for good, whichever way it is looked for."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError
from conformance.resources.pages import Listing, page_size_for
from conformance.resources.pool import PoolTask
from conformance.run.state import Subjects
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.gone, pytest.mark.clause("DEL-GONE")]


def _deleted(deletions: Deletions) -> list[PoolTask]:
    # The tasks deleted by the delete-success scenario: no new tasks are spent here.
    if not deletions.deleted:
        raise ProvisioningError(
            "no task was deleted with 2xx, so nothing can be shown gone (see DEL-FAILED and "
            f"DEL-VIDEO-FIRST): the failed task {deletions.failed_gone or 'was not deleted'}; "
            f"the ready task {deletions.ready_gone or 'was not deleted'}")
    return list(deletions.deleted.values())


def test_a_deleted_task_can_no_longer_be_retrieved(deletions: Deletions, api: ApiClient,
                                                   judged: Subjects) -> None:
    for task in _deleted(deletions):
        checks.answer_says_task_is_gone(api.retrieve_task(task.task_id))
        judged.add("DEL-GONE", f"retrieve of the deleted task: {task.kind}")


def test_a_deleted_task_is_absent_from_every_page_of_the_account_s_list(
        deletions: Deletions, api: ApiClient, listing: Listing, judged: Subjects) -> None:
    tasks = _deleted(deletions)
    first = checks.list_body(api.list_tasks(page_limit=1), "DEL-GONE")
    # Pages small enough that even a small account's list spans several of them.
    account = listing.walk(api, page_size_for(first["page_info"]["total_results"]))
    walks = [("the account's list", account)]
    walks += [(f"index {index}'s list", listing.walk(api, index_id=index))
              for index in dict.fromkeys(t.index_id for t in tasks)]
    for name, walk in walks:
        # Read leniently: the list's own shape and paging are the list tests' business.
        bodies = walk.bodies()
        if len(bodies) < len(walk.responses):
            raise ProvisioningError(f"could not read {name}: page {len(bodies) + 1} answered "
                                    f"{walk.responses[len(bodies)].status_code}")
        for task in tasks:
            checks.list_does_not_show(bodies, task.task_id, "DEL-GONE", "it was deleted")
        judged.add("DEL-GONE", f"{name}: every page ({walk.extent()})")
        if not walk.complete:
            judged.partly("DEL-GONE", f"{name} was read up to the page budget: "
                          f"{walk.extent()}")


def test_a_second_delete_of_a_deleted_task_is_never_accepted(
        deletions: Deletions, api: ApiClient, judged: Subjects) -> None:
    for task in _deleted(deletions):
        checks.second_delete_is_not_accepted(api.delete_task(task.task_id))
        judged.add("DEL-GONE", f"second delete of the deleted task: {task.kind}")
