"""Delete success: a failed task, and a ready task once its video is gone, delete with 204."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.deletions import Deletions
from conformance.run.state import Subjects
from conformance.subjects import subject

pytestmark = pytest.mark.deletes


@pytest.mark.clause("DEL-FAILED", "DEL-204", "DEL-EMPTY")
def test_a_failed_task_deletes_with_204_and_no_body(deletions: Deletions,
                                                    judged: Subjects) -> None:
    response = deletions.failed_delete
    if response is None:
        raise deletions.cannot("doomed_failed", "the failed task's delete could not be tried: "
                               f"the pool's doomed_failed task {deletions.failed_gone}")
    assert deletions.failed_task is not None
    checks.answer_is_not_a_server_error(response)
    if response.status_code >= 400:
        raise ContractViolation(
            "DEL-FAILED", f"expected the failed task {deletions.failed_task.task_id} to "
            f"delete directly, got {checks.answers.what(response)}",
            reproduce=checks.reproduce_line(response))
    judged.add("DEL-FAILED", subject("DEL-FAILED", "a failed task", "deleted directly"))
    checks.delete_answer_is_204_without_body(response)
    _deleted(judged, "a failed task")


def _deleted(judged: Subjects, what: str) -> None:
    for clause_id in ("DEL-204", "DEL-EMPTY"):
        judged.add(clause_id, subject(clause_id, "successful delete", what))


@pytest.mark.clause("DEL-VIDEO-FIRST", "DEL-204", "DEL-EMPTY")
def test_a_ready_task_deletes_with_204_and_no_body_once_its_video_is_deleted(
        deletions: Deletions, judged: Subjects) -> None:
    video = deletions.video_delete
    if video is None:
        raise deletions.cannot("doomed_ready", "the ready task's video was never deleted: the "
                               f"pool's doomed_ready task {deletions.ready_gone}")
    checks.answer_is_not_a_server_error(video)
    if not video.is_success:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"expected the video delete to succeed (204), got "
            f"{checks.answers.what(video)}", reproduce=checks.reproduce_line(video))
    checks.delete_answer_is_204_without_body(video)
    _deleted(judged, "a video")
    response = deletions.ready_delete
    if response is None:
        raise deletions.cannot("doomed_ready", "the ready task's delete could not be tried "
                               f"once its video was deleted: it {deletions.ready_gone}")
    assert deletions.ready_task is not None
    checks.answer_is_not_a_server_error(response)
    if response.status_code >= 400:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"expected the ready task {deletions.ready_task.task_id} to "
            f"delete once its video was deleted, got {checks.answers.what(response)}",
            reproduce=checks.reproduce_line(response))
    judged.add("DEL-VIDEO-FIRST", subject("DEL-VIDEO-FIRST", "a ready task",
                                          "deleted once its own video was deleted"))
    checks.delete_answer_is_204_without_body(response)
    _deleted(judged, "a ready task whose video was deleted")
