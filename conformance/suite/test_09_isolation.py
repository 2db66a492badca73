"""TENANT-ISOLATION: another account can neither read, list nor delete this account's task."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient

pytestmark = [pytest.mark.isolation, pytest.mark.clause("TENANT-ISOLATION"),
              pytest.mark.requires("second_api_key")]


def _intact(pool: Any) -> None:
    task = pool["shared_ready"]
    read = pool.read("shared_ready")
    if read.status_code in (400, 404):
        pool.destroyed("shared_ready", "TENANT-ISOLATION")  # later tests cite this clause
    checks.task_is_unchanged(task.final, read, "TENANT-ISOLATION")


def test_another_account_cannot_retrieve_the_task(second_api: ApiClient, pool: Any) -> None:
    checks.foreign_access_is_refused(second_api.retrieve_task(pool["shared_ready"].task_id))
    _intact(pool)


def test_another_account_does_not_see_the_task_in_any_list(
        second_api: ApiClient, pool: Any, listing: Any) -> None:
    task = pool["shared_ready"]
    bodies = []
    # Its own newest tasks, and a listing filtered by the first account's index (which may be
    # refused with a 4xx, or answer with nothing of the first account).
    for response in [second_api.list_tasks(page_limit=50),
                     *listing.pages(second_api, index_id=task.index_id)]:
        if 400 <= response.status_code < 500:
            continue
        bodies.append(checks.list_body(response, "TENANT-ISOLATION"))
    checks.list_does_not_show(bodies, task.task_id, "TENANT-ISOLATION",
                              "it belongs to another account")
    _intact(pool)


def test_another_account_cannot_delete_the_task(second_api: ApiClient, pool: Any) -> None:
    task = pool["shared_ready"]
    checks.foreign_access_is_refused(second_api.delete_task(task.task_id))
    _intact(pool)
