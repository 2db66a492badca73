"""TENANT-ISOLATION: another account can neither read, list nor delete this account's tasks or
videos, nor create into its index, whatever state the task is in, and everything stays intact.

The tries were made when each state existed: at an unfinished status while the pool's probe
ran, at the failed task and at the ready one, with and without its video, during the delete
scenario. Every answer must be a 4xx (or a list showing none of the owner's tasks), and the
owner reads the task unchanged after; after the tries at a ready task with its video, the
owner's own delete of it must still be refused for its video's sake.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources import media
from conformance.resources.creates import create_that_must_make_nothing
from conformance.resources.deletions import Deletions
from conformance.resources.isolation import ForeignTries
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing, page_size_for
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import Survey
from conformance.run.state import Subjects
from conformance.subjects import ISOLATION_STATES, subject
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.isolation, pytest.mark.clause("TENANT-ISOLATION"),
              pytest.mark.requires("second_api_key")]
LIST_OPERATIONS = ("list", "list by the owner's index_id")


def _tries(state: str, pool: Pool, deletions: Deletions) -> ForeignTries:
    if state == "unfinished":
        found = pool.unfinished
        if found is not None and found.stranger is not None:
            return found.stranger
        why = found.stopped if found is not None else f"the probe task {pool.why_not('probe')}"
        why = f"no unfinished status was seen long enough to try it ({why})"
    else:
        tries = next((t for t in deletions.foreign if t.state == state), None)
        if tries is not None:
            return tries
        why = deletions.foreign_skipped.get(state) or (
            "the delete scenario stopped before it: the failed task "
            f"{deletions.failed_gone or 'was deleted'}; the ready task "
            f"{deletions.ready_gone or 'was deleted'}")
    pytest.skip(f"not judged: another account could not try a task {state}: {why}")


@pytest.mark.parametrize("subject_state", ISOLATION_STATES)
def test_another_account_can_neither_read_list_nor_delete_the_owner_s_task_in_any_state(
        subject_state: str, second_api: ApiClient, pool: Pool, deletions: Deletions,
        judged: Subjects) -> None:
    tries = _tries(subject_state, pool, deletions)
    for operation, response in tries.answers.items():
        if operation in LIST_OPERATIONS and response.status_code == 200:
            body = checks.list_body(response, "TENANT-ISOLATION")
            checks.list_does_not_show([body], tries.task_id, "TENANT-ISOLATION",
                                      f"it belongs to another account ({subject_state})")
        else:
            checks.foreign_access_is_refused(response)
    if tries.after is None:
        pytest.skip(f"not judged: {tries.unjudged}")
    checks.task_is_unchanged(tries.before, tries.after, "TENANT-ISOLATION")
    check = tries.video_check
    if check is not None and check.status_code != 400:
        raise ContractViolation(
            "TENANT-ISOLATION", f"after another account's tries (its delete of the video "
            f"answered {tries.answers['delete video'].status_code}), the owner's delete of "
            f"ready task {tries.task_id} was no longer refused for its video's sake: expected "
            f"400, got {checks.answers.what(check)}", reproduce=checks.reproduce_line(check))
    for operation in tries.answers:
        text = subject("TENANT-ISOLATION", operation, subject_state)
        if tries.unjudged is not None:
            judged.not_judged("TENANT-ISOLATION", text, tries.unjudged)
        else:
            judged.add("TENANT-ISOLATION", text)


def test_another_account_does_not_see_the_tasks_in_any_page_of_its_lists(
        second_api: ApiClient, pool: Pool, listing: Listing, judged: Subjects) -> None:
    ours = {t.task_id for t in pool.tasks.values()}
    first = second_api.list_tasks(page_limit=1)
    total = checks.list_body(first, "TENANT-ISOLATION")["page_info"]["total_results"]
    # Its own list, every page, and a listing filtered by the first account's index (which
    # may be refused with a 4xx, or answer with nothing of the first account).
    walks = {"list": listing.walk(second_api, page_size_for(total)),
             "list by the owner's index_id": listing.walk(second_api, index_id=pool.index_id)}
    states = {"shared_ready": "ready with its video", "kept_failed": "failed"}
    for operation, walk in walks.items():
        bodies = [checks.list_body(r, "TENANT-ISOLATION") for r in walk.responses
                  if not 400 <= r.status_code < 500]
        for task_id in sorted(ours):
            checks.list_does_not_show(bodies, task_id, "TENANT-ISOLATION",
                                      "it belongs to another account")
        for role, state in states.items():
            if pool.usable(role):
                judged.add("TENANT-ISOLATION", subject("TENANT-ISOLATION", operation, state))
        if not walk.complete:
            judged.partly("TENANT-ISOLATION", f"{operation} was read up to the page budget "
                          f"({walk.extent()})")


def test_another_account_cannot_create_a_task_in_the_owner_s_index(
        second_api: ApiClient, api: ApiClient, run_index: str, survey: Survey,
        provisioner: Provisioner, ledger: Ledger, judged: Subjects) -> None:
    outsider = second_api.unchecked()
    tried = create_that_must_make_nothing(
        lambda name: outsider.create_task(run_index, video_file=(name or "upload.mp4",
                                                                 media.undecodable_bytes())),
        provisioner.upload_name("failed"),
        [("the owner's list", api.unchecked()), ("the other account's list", outsider)],
        survey.filename, ledger, run_index)
    checks.answers.client_error(tried.response, "TENANT-ISOLATION",
                                "a 4xx (the index belongs to another account)")
    made = tried.made()
    if made is not None:
        raise ContractViolation(
            "TENANT-ISOLATION", f"another account's create into the owner's index answered "
            f"{tried.response.status_code}, but made a task: {made}",
            reproduce=checks.reproduce_line(tried.response))
    text = subject("TENANT-ISOLATION", "create into the owner's index", "the run's index")
    if tried.unlooked is not None:
        judged.partly("TENANT-ISOLATION", f"a create into the owner's index was judged by its "
                      f"answer only: {tried.unlooked}")
    judged.add("TENANT-ISOLATION", text)
