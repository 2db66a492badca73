"""Client checks: the delete scenarios, list iteration and task parsing through a client library.

The library is the configured adapter (default: the official ``twelvelabs`` SDK, see
``conformance.clientlib``). It spends no task of its own: it tried its delete of the pool's
probe task while that was unfinished (in the pool's indexing time), and now deletes the same
task, ready with its video, the documented way.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from itertools import islice

import httpx
import pytest

from conformance.clientlib import ClientAdapter
from conformance.clientlib import checks as client_checks
from conformance.clientlib.checks import Outcome, call
from conformance.properties.strategies import IMPOSSIBLE_PREFIX
from conformance.resources.cleanup import is_gone
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool, PoolTask
from conformance.resources.provisioning import Provisioner
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

pytestmark = pytest.mark.client

MAX_RETRIEVES = 10
"""Tasks of the run's index retrieved through the client for TASK-SHAPE."""


@pytest.fixture(autouse=True)
def _names_the_client(request: pytest.FixtureRequest, client_adapter: ClientAdapter) -> None:
    request.node.user_properties += [("client", client_adapter.name),
                                     ("client_version", client_adapter.version)]


@dataclass
class ClientDeletes:
    """The delete scenario through the client, run once and judged by several tests."""

    task: PoolTask | None
    with_video: Outcome | None = None
    video: Outcome | None = None
    delete: Outcome | None = None
    retrieve_after: Outcome | None = None
    second_delete: Outcome | None = None
    stopped: str = ""
    """Why the scenario stopped early (a step the contract needs went otherwise)."""

    def needs(self, step: Outcome | None, what: str) -> Outcome:
        if step is None:
            raise ProvisioningError(f"nothing to judge: {what} was not tried "
                                    f"({self.stopped or 'an earlier step failed'})")
        return step


@pytest.fixture(scope="module")
def client_deletes(client_adapter: ClientAdapter, transcript: Transcript, pool: Pool,
                   provisioner: Provisioner) -> ClientDeletes:
    """The probe task, ready with its video: refused, video deleted, deleted, then looked for
    again, each step through the client."""
    adapter = client_adapter
    if not pool.usable("probe"):
        return ClientDeletes(None, stopped=f"the pool's probe task {pool.why_not('probe')}")
    task = pool.tasks["probe"]
    scenario = ClientDeletes(task)
    assert task.video_id is not None, "a usable ready task has a video_id"
    try:
        pool.read("probe")  # still there? (a task that vanished meanwhile is no subject)
    except SubjectDestroyed as exc:
        return ClientDeletes(None, stopped=str(exc))
    scenario.with_video = call(adapter, transcript, adapter.delete_task, task.task_id)
    deleted = scenario.with_video.error is None
    if not deleted:
        scenario.video = call(adapter, transcript, adapter.delete_video, task.index_id,
                              task.video_id)
        if scenario.video.error is None:
            provisioner.note_deleted("video", task.video_id)
        scenario.delete = call(adapter, transcript, adapter.delete_task, task.task_id)
        deleted = scenario.delete.error is None
    if not deleted:
        scenario.stopped = "the ready task was not deleted (see DEL-VIDEO-FIRST)"
        return scenario
    if scenario.with_video.error is None:
        pool.destroyed("probe", "DEL-VIDEO-FIRST")
    task.deleted = True
    provisioner.note_deleted("task", task.task_id)
    scenario.retrieve_after = call(adapter, transcript, adapter.retrieve_task, task.task_id)
    scenario.second_delete = call(adapter, transcript, adapter.delete_task, task.task_id)
    return scenario


def _total_results(response: httpx.Response) -> int:
    try:
        total = response.json()["page_info"]["total_results"]
    except (ValueError, KeyError, TypeError):
        total = None
    if not isinstance(total, int):
        # The list's own shape is judged by the list tests; here it is only a precondition.
        raise ProvisioningError(f"could not read total_results of the index's task list: "
                                f"GET /tasks answered {response.status_code}")
    return total


def _no_server_error(adapter: ClientAdapter, outcome: Outcome) -> None:
    error = outcome.error
    if error is not None and error.status is not None and error.status >= 500:
        client_checks.fail("NO-5XX", adapter, f"the client {outcome.shown()}: "
                           f"{error.detail}", outcome)


@pytest.mark.clause("DEL-TERMINAL-ONLY")
def test_the_client_s_delete_of_an_unfinished_task_raises_a_400_error(
        client_adapter: ClientAdapter, pool: Pool) -> None:
    found = pool.unfinished
    other = found.other if found is not None else None
    if found is None or other is None:
        why = found.stopped if found is not None else f"the probe task {pool.why_not('probe')}"
        raise ProvisioningError(f"nothing to judge: the client's delete of an unfinished task "
                                f"was not tried ({why})")
    if not other.judged:
        raise ProvisioningError(f"nothing to judge: the task became final around the client's "
                                f"delete (raced), statuses read {' '.join(found.observed)}")
    outcome = other.outcome
    _no_server_error(client_adapter, outcome)
    what = f"deleting task {found.task_id} in status {other.status!r}"
    client_checks.delete_was_refused(client_adapter, outcome, what, "DEL-TERMINAL-ONLY")
    if is_gone(other.after):
        client_checks.fail("DEL-TERMINAL-ONLY", client_adapter, f"expected {what} to change "
                           "nothing, but the task is gone after the refusal", outcome)


@pytest.mark.clause("DEL-VIDEO-FIRST")
def test_the_client_s_delete_of_a_ready_task_with_its_video_raises_a_400_error(
        client_adapter: ClientAdapter, client_deletes: ClientDeletes) -> None:
    outcome = client_deletes.needs(client_deletes.with_video, "a delete of the ready task")
    assert client_deletes.task is not None
    _no_server_error(client_adapter, outcome)
    client_checks.delete_was_refused(
        client_adapter, outcome, f"deleting the ready task {client_deletes.task.task_id} "
        "while its video exists", "DEL-VIDEO-FIRST")


@pytest.mark.clause("DEL-REFUSAL-CODE")
def test_the_client_s_refusal_error_carries_code_task_cannot_be_deleted(
        client_adapter: ClientAdapter, client_deletes: ClientDeletes, pool: Pool) -> None:
    other = pool.unfinished.other if pool.unfinished is not None else None
    tries = (("an unfinished task", other.outcome if other is not None else None),
             ("a ready task with its video", client_deletes.with_video))
    refusals = [(what, o) for what, o in tries
                if o is not None and o.error is not None and o.error.status == 400]
    if not refusals:
        raise ProvisioningError("no refused delete to judge (see DEL-TERMINAL-ONLY and "
                                "DEL-VIDEO-FIRST)")
    for what, outcome in refusals:
        client_checks.refusal_carries_task_cannot_be_deleted(
            client_adapter, outcome, f"the delete of {what}")


@pytest.mark.clause("DEL-204", "DEL-VIDEO-FIRST")
def test_the_client_s_delete_returns_none_once_the_video_is_deleted(
        client_adapter: ClientAdapter, client_deletes: ClientDeletes) -> None:
    if client_deletes.with_video is not None and client_deletes.with_video.error is None:
        raise ProvisioningError("the ready task was deleted while its video existed "
                                "(see DEL-VIDEO-FIRST); nothing left to delete")
    assert client_deletes.task is not None
    what = f"the ready task {client_deletes.task.task_id}"
    video = client_deletes.needs(client_deletes.video, f"the delete of {what}'s video")
    _no_server_error(client_adapter, video)
    client_checks.delete_returned_none(client_adapter, video, f"deleting {what}'s video",
                                       "DEL-VIDEO-FIRST")
    delete = client_deletes.needs(client_deletes.delete, f"the delete of {what}")
    _no_server_error(client_adapter, delete)
    client_checks.delete_returned_none(client_adapter, delete,
                                       f"deleting {what} once its video was deleted",
                                       "DEL-VIDEO-FIRST")


@pytest.mark.clause("DEL-GONE")
def test_the_client_raises_404_or_400_for_a_deleted_task(
        client_adapter: ClientAdapter, client_deletes: ClientDeletes) -> None:
    if client_deletes.task is None:
        raise ProvisioningError(f"nothing to judge: {client_deletes.stopped}")
    task_id = client_deletes.task.task_id
    for outcome, what in ((client_deletes.retrieve_after, f"retrieving the deleted task {task_id}"),
                          (client_deletes.second_delete, f"deleting the deleted task {task_id} "
                           "again")):
        outcome = client_deletes.needs(outcome, what)
        _no_server_error(client_adapter, outcome)
        client_checks.lookup_raised_not_found(client_adapter, outcome, what, "DEL-GONE")


@pytest.mark.clause("DEL-UNKNOWN")
def test_the_client_s_delete_of_an_id_that_never_existed_raises_404_or_400(
        client_adapter: ClientAdapter, transcript: Transcript) -> None:
    task_id = IMPOSSIBLE_PREFIX + secrets.token_hex(8)  # never issued: safe on a live account
    outcome = call(client_adapter, transcript, client_adapter.delete_task, task_id)
    _no_server_error(client_adapter, outcome)
    client_checks.lookup_raised_not_found(
        client_adapter, outcome, f"deleting the never-issued task ID {task_id}", "DEL-UNKNOWN")


@pytest.mark.clause("LIST-PAGING", "LIST-SHAPE")
def test_the_client_s_list_iteration_ends_and_shows_each_task_of_the_index_once(
        client_adapter: ClientAdapter, transcript: Transcript, api: ApiClient,
        run_index: str, listing: Listing) -> None:
    total = _total_results(api.list_tasks(index_id=run_index, page_limit=50))
    expected = listing.ids(api, index_id=run_index)
    # Several small pages for the run's few tasks; about ten for a big configured index.
    limit = 1 if total <= 10 else min(50, math.ceil(total / 10))
    bound = max(total, len(expected)) + 2 * limit
    seen: list[str] = []
    unreadable: list[object] = []

    def iterate() -> None:
        items = client_adapter.iter_tasks(index_id=run_index, page_limit=limit)
        # One item past the bound is enough to know the pager does not stop.
        for item in islice(items, bound + 1):
            task_id = item.get("_id")
            seen.append(str(task_id))
            if not isinstance(task_id, str) or not task_id:
                unreadable.append(task_id)

    outcome = call(client_adapter, transcript, iterate)
    _no_server_error(client_adapter, outcome)
    client_checks.parsed_without_error(client_adapter, outcome,
                                       "a page of tasks.list", "LIST-SHAPE")
    if outcome.error is not None:
        client_checks.fail("LIST-PAGING", client_adapter, f"iterating tasks.list "
                           f"{outcome.shown()}: {outcome.error.detail}", outcome)
    if unreadable and len(seen) <= bound:
        # Items without their _id cannot be counted: LIST-SHAPE's finding (every list answer).
        pytest.skip(f"not judged: tasks.list yielded {len(unreadable)} item(s) without a "
                    "readable _id (see LIST-SHAPE)")
    client_checks.iteration_saw_each_task_once(client_adapter, seen, expected, bound=bound,
                                               outcome=outcome)


@pytest.mark.clause("TASK-SHAPE")
def test_the_client_parses_every_task_of_the_index_into_documented_types(
        client_adapter: ClientAdapter, transcript: Transcript, api: ApiClient,
        run_index: str, pool: Pool, listing: Listing) -> None:
    shared = pool["shared_ready"].task_id  # ready and streamable: carries hls
    others = sorted(listing.ids(api, index_id=run_index) - {shared})
    for task_id in [shared, *others][:MAX_RETRIEVES]:
        outcome = call(client_adapter, transcript, client_adapter.retrieve_task, task_id)
        _no_server_error(client_adapter, outcome)
        client_checks.parsed_without_error(client_adapter, outcome, f"the task {task_id}",
                                           "TASK-SHAPE")
        if outcome.error is not None and task_id != shared:
            continue  # listed but gone by now: the list tests judge that, not this one
        if outcome.error is not None:
            raise ProvisioningError(f"the pool's ready task {task_id} could not be retrieved "
                                    f"through the client: it {outcome.shown()}")
        client_checks.delivered_task_is_well_formed(client_adapter, outcome, task_id)
