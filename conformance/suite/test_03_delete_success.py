"""Delete success: a failed task, and a ready task once its video is gone, delete with 204."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.provisioning import ProvisioningError

pytestmark = pytest.mark.deletes


@pytest.mark.clause("DEL-FAILED", "DEL-204", "DEL-EMPTY")
def test_a_failed_task_deletes_with_204_and_no_body(deletions: Any) -> None:
    response = deletions.failed_delete
    if response is None:
        raise ProvisioningError("the failed task was gone before its delete could be tried: "
                                f"it {deletions.failed_gone}")
    checks.answer_is_not_a_server_error(response)
    if response.status_code >= 400:
        checks.error_answer_has_envelope(response)
        raise ContractViolation(
            "DEL-FAILED", f"expected the failed task {deletions.failed_task.task_id} to "
            f"delete directly, got {response.status_code}: {response.text[:300]}",
            reproduce=checks.reproduce_line(response))
    checks.delete_answer_is_204_without_body(response)


@pytest.mark.clause("DEL-VIDEO-FIRST", "DEL-204", "DEL-EMPTY")
def test_a_ready_task_deletes_with_204_and_no_body_once_its_video_is_deleted(
        deletions: Any) -> None:
    if deletions.ready_refused.is_success:
        raise ProvisioningError("the ready task was already deleted while its video existed "
                                "(see DEL-VIDEO-FIRST); nothing left to delete")
    video = deletions.video_delete
    checks.answer_is_not_a_server_error(video)
    if video.status_code != 204:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"expected the video delete to answer 204, got "
            f"{video.status_code}: {video.text[:300]}", reproduce=checks.reproduce_line(video))
    response = deletions.ready_delete
    checks.answer_is_not_a_server_error(response)
    if response.status_code >= 400:
        checks.error_answer_has_envelope(response)
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"expected the ready task {deletions.ready_task.task_id} to "
            f"delete once its video was deleted, got {response.status_code}: "
            f"{response.text[:300]}", reproduce=checks.reproduce_line(response))
    checks.delete_answer_is_204_without_body(response)
