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
from conformance.subjects import subject

pytestmark = pytest.mark.refusals


PROBES = {"probe": "bound for ready", "kept_failed": "bound for failed"}


def _probed(pool: Pool, judged: Subjects) -> list[UnfinishedDeletes]:
    """What probing found on each task that was probed and judged; the others are reported
    as not judged; a ProvisioningError when none was."""
    found, why = [], []
    for role, head in PROBES.items():
        probe = pool.probes.get(role)
        text = subject("DEL-TERMINAL-ONLY", head, "...")
        if probe is None:
            reason = f"the pool's {role} task {pool.why_not(role)}"
        elif not probe.judged:
            reason = (f"{probe.stopped}; statuses read {' '.join(probe.observed) or 'none'}, "
                      f"raced with the task finishing at {', '.join(probe.raced) or 'none'}")
        else:
            found.append(probe)
            continue
        judged.not_judged("DEL-TERMINAL-ONLY", text, reason)
        why.append(f"{head}: {reason}")
    if not found:
        raise ProvisioningError("could not provision a not-yet-final task: " + " | ".join(why))
    return found


@pytest.mark.clause("DEL-TERMINAL-ONLY")
def test_delete_of_a_task_that_is_not_final_is_refused_with_400_at_every_status_seen(
        pool: Pool, judged: Subjects, request: pytest.FixtureRequest) -> None:
    for found in _probed(pool, judged):
        head = PROBES["probe" if found.bound == "ready" else "kept_failed"]
        for status in found.statuses_judged:
            judged.add("DEL-TERMINAL-ONLY", subject("DEL-TERMINAL-ONLY", head, status))
        request.node.user_properties += [
            (f"observed_statuses ({head})", " ".join(found.observed)),
            (f"judged_at_statuses ({head})", " ".join(found.statuses_judged))]
        for attempt in found.judged:
            checks.answer_is_not_a_server_error(attempt.response)
            try:
                checks.delete_is_refused(attempt.response, "DEL-TERMINAL-ONLY")
                checks.task_is_unchanged(attempt.before, attempt.after, "DEL-TERMINAL-ONLY")
            except ContractViolation as exc:
                raise ContractViolation(
                    "DEL-TERMINAL-ONLY", f"task {found.task_id} ({head}) was "
                    f"{attempt.status!r} just before the delete ({found.describe()}): "
                    f"{exc.message}", reproduce=exc.reproduce) from None


@pytest.mark.clause("DEL-TERMINAL-ONLY")
def test_a_refused_delete_leaves_the_task_to_end_like_its_siblings_from_the_same_video(
        pool: Pool, judged: Subjects) -> None:
    found = pool.unfinished
    text = subject("DEL-TERMINAL-ONLY", "after a refusal",
                   "the task ends like its siblings from the same video")
    if found is None or not found.refused:
        why = "no refused delete of the task bound for ready" + (
            f" ({found.stopped})" if found is not None else "")
        judged.not_judged("DEL-TERMINAL-ONLY", text, why)
        pytest.skip(f"not judged: {why}")
    task = pool.tasks["probe"]
    if "probe" in pool.damaged:
        last = found.attempts[-1]
        raise ContractViolation(
            "DEL-TERMINAL-ONLY", f"task {task.task_id} was refused a delete while "
            f"{last.status!r} and then ended failed, although every other task made from the "
            "same video became ready: the refusal changed the task",
            reproduce=checks.reproduce_line(last.response))
    if task.final is None or task.final.get("status") != "ready":
        why = f"the task did not end ready: it {pool.why_not('probe')}"
        judged.not_judged("DEL-TERMINAL-ONLY", text, why)
        pytest.skip(f"not judged: {why}")
    judged.add("DEL-TERMINAL-ONLY", text)


@pytest.mark.clause("DEL-REFUSAL-CODE")
def test_refused_delete_of_an_unfinished_task_carries_code_task_cannot_be_deleted(
        pool: Pool, judged: Subjects) -> None:
    found = [p for p in pool.probes.values() if p.judged]
    refusals = [a for p in found for a in p.judged if a.response.status_code == 400]
    if not refusals:
        if not found:
            raise ProvisioningError("no delete of an unfinished task was judged, so no "
                                    "refusal either (see DEL-TERMINAL-ONLY)")
        raise SubjectDestroyed("no refused delete to judge: the unfinished task's delete was "
                               "not refused (see DEL-TERMINAL-ONLY)", "DEL-TERMINAL-ONLY")
    judged.add("DEL-REFUSAL-CODE", subject("DEL-REFUSAL-CODE", "refusal",
                                           "an unfinished task"))
    for attempt in refusals:
        checks.refusal_code_is_task_cannot_be_deleted(attempt.response)


def _ready_refusal(deletions: Deletions) -> tuple[httpx.Response, httpx.Response]:
    if deletions.ready_refused is None or deletions.ready_after_refusal is None:
        raise deletions.cannot("doomed_ready", "the ready task's delete was not tried: the "
                               f"pool's doomed_ready task {deletions.ready_gone}")
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
    again = deletions.ready_refused_again
    if again is not None and again.is_success:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", f"ready task {task.task_id}'s delete was refused while its "
            f"video existed, yet a second delete right after answered {again.status_code}: "
            "the refused delete took its video", reproduce=checks.reproduce_line(refused))
    judged.add("DEL-VIDEO-FIRST", subject("DEL-VIDEO-FIRST", "a ready task",
                                          "refused while its own video exists"))
    video = deletions.video_delete
    if video is None:
        raise deletions.cannot("doomed_ready", "the video was not deleted after the refusal, "
                               "so whether it survived is not judged: the ready task "
                               f"{deletions.ready_gone}")
    if not video.is_success:
        raise ContractViolation(
            "DEL-VIDEO-FIRST", "expected the video to survive the refused task delete and "
            f"its delete to succeed (204), got {checks.answers.what(video)}",
            reproduce=checks.reproduce_line(video))


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
    judged.add("DEL-VIDEO-FIRST", subject(
        "DEL-VIDEO-FIRST", "a ready task",
        "still refused once another video of its index was deleted"))


@pytest.mark.clause("DEL-REFUSAL-CODE")
def test_refused_delete_of_a_ready_task_with_its_video_carries_the_refusal_code(
        deletions: Deletions, judged: Subjects) -> None:
    refused, _ = _ready_refusal(deletions)
    refusals = [r for r in (refused, deletions.bystander_refused)
                if r is not None and r.status_code == 400]
    if not refusals:
        raise SubjectDestroyed("the ready task's delete was not refused; nothing to judge "
                               "(see DEL-VIDEO-FIRST)", "DEL-VIDEO-FIRST")
    judged.add("DEL-REFUSAL-CODE", subject("DEL-REFUSAL-CODE", "refusal",
                                           "a ready task with its video"))
    for response in refusals:
        checks.refusal_code_is_task_cannot_be_deleted(response)


@pytest.mark.task
@pytest.mark.clause("TASK-LIFECYCLE")
def test_statuses_read_while_probing_an_unfinished_task_only_move_forward(
        pool: Pool, judged: Subjects) -> None:
    if not pool.probes:
        raise ProvisioningError(f"no probed task: the probe task {pool.why_not('probe')}")
    for found in pool.probes.values():
        checks.statuses_move_forward(
            [s for s in found.observed if s not in ("gone", "unreadable")],
            subject=f"task {found.task_id} (probed while unfinished, bound for {found.bound})")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "statuses",
                                         "of a task probed while unfinished"))
