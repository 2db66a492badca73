"""DEL-GONE: right after its 204 a task is gone, whichever way it is looked for.

Every view (retrieve, every page of the account's list, its index's list, the list by the
status it had, a second delete) was read right after each delete of the scenario; the same
views are read again near the end of the run (``test_96_gone_for_good.py``).
"""

from __future__ import annotations

import pytest

from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError
from conformance.resources.gone import VIEWS, GoneLook, judge_view
from conformance.run.state import Subjects
from conformance.subjects import subject

pytestmark = [pytest.mark.gone, pytest.mark.clause("DEL-GONE")]


def _looks(deletions: Deletions) -> list[GoneLook]:
    # The tasks deleted by the delete-success scenario: no new tasks are spent here.
    if not deletions.gone:
        raise ProvisioningError(
            "no task was deleted with 2xx, so nothing can be shown gone (see DEL-FAILED and "
            f"DEL-VIDEO-FIRST): the failed task {deletions.failed_gone or 'was not deleted'}; "
            f"the ready task {deletions.ready_gone or 'was not deleted'}")
    return list(deletions.gone.values())


@pytest.mark.parametrize("view", VIEWS)
def test_right_after_its_delete_a_task_is_gone_from_every_view(
        view: str, deletions: Deletions, judged: Subjects) -> None:
    for look in _looks(deletions):
        for note in judge_view(look, view):
            judged.partly("DEL-GONE", f"{look.moment}: {note}")
    judged.add("DEL-GONE", subject("DEL-GONE", "right after the delete", view))
