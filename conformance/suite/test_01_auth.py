"""AUTH-REQUIRED: without a key, or with an invalid one, every operation answers 401 and
changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import IMPOSSIBLE_PREFIX
from conformance.resources import media
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.run.state import Subjects
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.auth, pytest.mark.clause("AUTH-REQUIRED")]

# IDs no account can hold, for operations whose accidental success would destroy data the
# suite did not create (an index given with --index-id) or make stray resources.
NEVER_ISSUED = IMPOSSIBLE_PREFIX + "0c0ffee0c0ffee00"
Operation = Callable[[ApiClient, Any], httpx.Response]

OPERATIONS: dict[str, Operation] = {
    "create task": lambda c, pool: c.create_task(
        pool.index_id, video_file=("auth.mp4", media.undecodable_bytes())),
    "list tasks": lambda c, pool: c.list_tasks(index_id=pool.index_id),
    "retrieve task": lambda c, pool: c.retrieve_task(pool["shared_ready"].task_id),
    # The failed task is deletable, so a target that ignores the key would really delete it.
    "delete task": lambda c, pool: c.delete_task(pool["doomed_failed"].task_id),
    "delete video": lambda c, pool: c.delete_video(pool.index_id,
                                                   pool["doomed_ready"].video_id),
    "create index": lambda c, pool: c.create_index("conformance-auth-probe"),
    "delete index": lambda c, pool: c.delete_index(NEVER_ISSUED),
}


def _remember_accidents(ledger: Ledger, operation: str, response: httpx.Response,
                        index_id: str) -> None:
    """A create accepted without a valid key still made something: cleanup must remove it."""
    try:
        body = response.json() if response.is_success else None
    except ValueError:
        return
    if not isinstance(body, dict) or not isinstance(body.get("_id"), str):
        return
    if operation == "create index":
        ledger.add("index", body["_id"], name="conformance-auth-probe")
    elif operation == "create task":
        ledger.add("task", body["_id"], index_id=index_id)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("key", ["missing", "invalid"])
def test_every_operation_without_a_valid_key_answers_401_and_changes_nothing(
        operation: str, key: str, api: ApiClient, anonymous_api: ApiClient,
        invalid_key_api: ApiClient, pool: Pool, ledger: Ledger, listing: Listing,
        judged: Subjects) -> None:
    caller = (anonymous_api if key == "missing" else invalid_key_api).unchecked()
    # A task an earlier broken answer already destroyed is not blamed on this operation.
    watched = [task for task in pool.tasks.values() if pool.usable(task.role)]
    before_ids = listing.ids(api, index_id=pool.index_id)

    response = OPERATIONS[operation](caller, pool)
    _remember_accidents(ledger, operation, response, pool.index_id)

    reads = [(task, pool.read(task.role)) for task in watched]
    for task, read in reads:
        if read.status_code in (400, 404):
            # Later tests that needed it report an error citing this clause.
            pool.destroyed(task.role, "AUTH-REQUIRED")
    checks.answer_is_not_a_server_error(response)
    checks.answer_is_unauthorized(response)
    for task, read in reads:
        assert task.final is not None, "usable tasks were read final"
        checks.task_is_unchanged(task.final, read, "AUTH-REQUIRED")
    after_ids = listing.ids(api, index_id=pool.index_id)
    if after_ids != before_ids:
        raise ContractViolation(
            "AUTH-REQUIRED", f"{operation} with a {key} key answered "
            f"{response.status_code} but the index's tasks changed: added "
            f"{sorted(after_ids - before_ids)}, removed {sorted(before_ids - after_ids)}",
            reproduce=checks.reproduce_line(response))
    judged.add("AUTH-REQUIRED", f"{key} key: {operation}")
