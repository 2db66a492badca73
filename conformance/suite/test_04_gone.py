"""DEL-GONE: after a 204 the task is gone for good, whichever way it is looked for."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.provisioning import ProvisioningError

pytestmark = [pytest.mark.gone, pytest.mark.clause("DEL-GONE")]


def _deleted(deletions: Any) -> list[Any]:
    # The tasks deleted by the delete-success scenario: no new tasks are spent here.
    if not deletions.deleted:
        raise ProvisioningError("no task was deleted with 2xx, so nothing can be shown gone "
                                "(see DEL-FAILED and DEL-VIDEO-FIRST)")
    return list(deletions.deleted.values())


def test_a_deleted_task_can_no_longer_be_retrieved(deletions: Any, api: ApiClient) -> None:
    for task in _deleted(deletions):
        checks.answer_says_task_is_gone(api.retrieve_task(task.task_id))


def test_a_deleted_task_is_absent_from_every_list_page(deletions: Any, api: ApiClient,
                                                       listing: Any) -> None:
    for task in _deleted(deletions):
        # Every page of its own index, and the newest page of the whole account (a live
        # account may hold far more tasks than a run should walk).
        newest = checks.list_body(api.list_tasks(page_limit=50), "DEL-GONE")
        bodies = [*listing.bodies(api, index_id=task.index_id), newest]
        checks.list_does_not_show(bodies, task.task_id, "DEL-GONE", "it was deleted")


def test_a_second_delete_of_a_deleted_task_is_never_accepted(deletions: Any,
                                                             api: ApiClient) -> None:
    for task in _deleted(deletions):
        checks.second_delete_is_not_accepted(api.delete_task(task.task_id))
