"""Delete refusals: a task that is not final, or ready with its video, cannot be deleted.

The unfinished task is the pool's probe, deleted at every unfinished status it showed while
the other tasks indexed (``conformance.resources.probe``); the ready ones are the delete scenario's.
"""

from __future__ import annotations

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.deletions import Deletions
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.pool import Pool
from conformance.resources.probe import UnfinishedDeletes
from conformance.run.state import Subjects

pytestmark = pytest.mark.refusals


def _unfinished(pool: Pool) -> UnfinishedDeletes:
    found = pool.unfinished
    if found is None:
        raise ProvisioningError(f"no task to probe while unfinished: the pool's probe task "
                                f"{pool.why_not('probe')}")
    if not found.judged:
        raise ProvisioningError(
            f"could not provision a not-yet-final task: {found.stopped}; statuses read "
            f"{' '.join(found.observed) or 'none'}, raced with the task finishing at "
            f"{', '.join(found.raced) or 'no status'}")
    return found


@pytest.mark.clause("DEL-TERMINAL-ONLY")
def test_delete_of_a_task_that_is_not_final_is_refused_with_400_at_every_status_seen(
        pool: Pool, judged: Subjects, request: pytest.FixtureRequest) -> None:
    found = _unfinished(pool)
    judged.add("DEL-TERMINAL-ONLY", found.describe())
    request.node.user_properties += [("observed_statuses", " ".join(found.observed)),
                                     ("judged_at_statuses", " ".join(found.statuses_judged))]
    for attempt in found.judged:
        checks.answer_is_not_a_server_error(attempt.response)
        try:
            checks.delete_is_refused(attempt.response, "DEL-TERMINAL-ONLY")
            checks.task_is_unchanged(attempt.before, attempt.after, "DEL-TERMINAL-ONLY")
        except ContractViolation as exc:
            raise ContractViolation(
                "DEL-TERMINAL-ONLY", f"task {found.task_id} was {attempt.status!r} just "
                f"before the delete ({found.describe()}): {exc.message}",
                reproduce=exc.reproduce) from None


@pytest.mark.clause("DEL-REFUSAL-CODE")
def test_refused_delete_of_an_unfinished_task_carries_code_task_cannot_be_deleted(
        pool: Pool, judged: Subjects) -> None:
    refusals = [a for a in _unfinished(pool).judged if a.response.status_code == 400]
    if not refusals:
        raise SubjectDestroyed("no refused delete to judge: the unfinished task's delete was "
                               "not refused (see DEL-TERMINAL-ONLY)", "DEL-TERMINAL-ONLY")
    judged.add("DEL-REFUSAL-CODE", "refusals of an unfinished task at: "
               + ", ".join(a.status for a in refusals))
    for attempt in refusals:
        checks.refusal_code_is_task_cannot_be_deleted(attempt.response)


def _ready_refusal(deletions: Deletions) -> tuple[httpx.Response, httpx.Response]:
    if deletions.ready_refused is None or deletions.ready_after_refusal is None:
        raise ProvisioningError(f"the ready task's delete was not tried: the pool's "
                                f"doomed_ready task {deletions.ready_gone}")
    return deletions.ready_refused, deletions.ready_after_refusal


@pytest.mark.clause("DEL-VIDEO-FIRST")
def test_delete_of_a_ready_task_with_its_video_is_refused_and_changes_nothing(
        deletions: Deletions, judged: Subjects) -> None:
    refused, after = _ready_refusal(deletions)
    task = deletions.ready_task
    assert task is not None and task.final is not None
    checks.answer_is_not_a_server_error(refused)
    checks.delete_is_refused(refused, "DEL-VIDEO-FIRST")
    checks.task_is_unchanged(task.final, after, "DEL-VIDEO-FIRST")
    video = deletions.video_delete
    assert video is not None, "a refused delete is followed by the video's delete"
    if not video.is_success:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", "expected the video to survive the refused task delete and "
            f"its delete to succeed (204), got {checks.answers.what(video)}",
            reproduce=checks.reproduce_line(video))
    judged.add("DEL-VIDEO-FIRST", f"own video: task {task.task_id} refused while its video "
               "existed")


@pytest.mark.clause("DEL-VIDEO-FIRST")
def test_deleting_another_video_of_the_index_leaves_a_ready_task_undeletable(
        deletions: Deletions, judged: Subjects) -> None:
    task, refused, after = deletions.bystander, deletions.bystander_refused, \
        deletions.bystander_after
    if task is None or refused is None or after is None:
        reason = deletions.bystander_skipped or ("the scenario stopped before it: the pool's "
                                                 f"doomed_ready task {deletions.ready_gone}")
        raise ProvisioningError(f"no second ready task to judge: {reason}")
    assert task.final is not None
    checks.answer_is_not_a_server_error(refused)
    try:
        checks.delete_is_refused(refused, "DEL-VIDEO-FIRST")
        checks.task_is_unchanged(task.final, after, "DEL-VIDEO-FIRST")
    except ContractViolation as exc:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"ready task {task.task_id} still has its own video; another "
            f"video of its index was deleted: {exc.message}", reproduce=exc.reproduce) from None
    judged.add("DEL-VIDEO-FIRST", f"another video: task {task.task_id} stayed undeletable "
               "after a different video of its index was deleted")


@pytest.mark.clause("DEL-REFUSAL-CODE")
def test_refused_delete_of_a_ready_task_with_its_video_carries_the_refusal_code(
        deletions: Deletions, judged: Subjects) -> None:
    refused, _ = _ready_refusal(deletions)
    refusals = [r for r in (refused, deletions.bystander_refused)
                if r is not None and r.status_code == 400]
    if not refusals:
        raise SubjectDestroyed("the ready task's delete was not refused; nothing to judge "
                               "(see DEL-VIDEO-FIRST)", "DEL-VIDEO-FIRST")
    judged.add("DEL-REFUSAL-CODE", f"refusals of a ready task with its video: {len(refusals)}")
    for response in refusals:
        checks.refusal_code_is_task_cannot_be_deleted(response)


@pytest.mark.task
@pytest.mark.clause("TASK-LIFECYCLE")
def test_statuses_read_while_probing_an_unfinished_task_only_move_forward(pool: Pool) -> None:
    found = pool.unfinished
    if found is None:
        raise ProvisioningError(f"no probe task: it {pool.why_not('probe')}")
    checks.statuses_move_forward([s for s in found.observed if s not in ("gone", "unreadable")],
                                 subject=f"task {found.task_id} (probed while unfinished)")
