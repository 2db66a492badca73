"""The task object: documented shape on retrieve, and a lifecycle that only moves forward."""

from __future__ import annotations

import contextlib

import pytest

from conformance import checks
from conformance.checks.tasks import is_date_time
from conformance.clauses import ContractViolation
from conformance.resources.errors import SubjectDestroyed
from conformance.resources.pool import Pool
from conformance.resources.watch import Watch
from conformance.run.state import Subjects
from conformance.subjects import subject

pytestmark = pytest.mark.task

# Not checked: whether system_metadata describes the uploaded sample (5 s, 480x360) and
# whether hls is absent for enable_video_stream=false. The contract documents the fields'
# types and says both objects may be absent; it states neither of those as a rule.


@pytest.mark.clause("TASK-SHAPE")
def test_retrieve_answers_200_with_a_well_formed_task_object(pool: Pool,
                                                            judged: Subjects) -> None:
    shared = pool["shared_ready"]
    body = checks.retrieve_answer_is_task(pool.read("shared_ready"), shared.task_id)
    if body.get("video_id") != shared.video_id:
        raise ContractViolation(
            "TASK-SHAPE", f"expected video_id {shared.video_id!r} (from the create answer), "
            f"got {body.get('video_id')!r}")
    # The final reads of every pool task, ready and failed, are retrieve answers as well.
    for task in pool.tasks.values():
        if task.final is not None:
            checks.task_object_is_well_formed(task.final)
            judged.add("TASK-SHAPE", subject("TASK-SHAPE", "retrieve", f"a {task.final['status']} "
                                                                        "task"))


def _read_again(pool: Pool) -> None:
    """One more read of each final pool task, so a final state is seen again (a task whose
    state did not stay is in the watch's records, judged below)."""
    for role, task in pool.tasks.items():
        if task.final is not None and pool.usable(role):
            with contextlib.suppress(SubjectDestroyed):
                pool.read(role)


@pytest.mark.clause("TASK-LIFECYCLE")
def test_observed_statuses_only_move_forward_and_final_states_stay_final(
        pool: Pool, watch: Watch, judged: Subjects) -> None:
    _read_again(pool)
    ours = {task.task_id for task in pool.tasks.values()}
    # A final status that did not stay, whether a delete of something else changed it
    # (DEL-ONLY-THAT's finding too) or nothing did: a lifecycle fact either way.
    changed = [f for f in (*watch.lifecycle, *watch.findings)
               if f.kind == "status" and f.task_id in ours]
    if changed:
        raise ContractViolation("TASK-LIFECYCLE", changed[0].sentence(),
                                reproduce=changed[0].reproduce)
    for task in pool.tasks.values():
        if task.final is None:
            continue  # never final: nothing to hold it to (see why_not)
        history = pool.history(task.role)
        checks.statuses_move_forward(history, subject=f"task {task.task_id} ({task.role})")
        # A status outside the enum is TASK-SHAPE's (judged on every read), not a change.
        if task.reads and task.reads[-1] in checks.TASK_STATUSES \
                and task.reads[-1] != task.final["status"]:
            raise ContractViolation(
                "TASK-LIFECYCLE", f"task {task.task_id}: expected the final status "
                f"{task.final['status']!r} to stay, read {task.reads[-1]!r} later "
                f"(history {history})")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "statuses",
                                         "of every task of the pool"))


@pytest.mark.clause("TASK-LIFECYCLE")
def test_updated_at_is_never_before_created_at(pool: Pool, judged: Subjects) -> None:
    # Judged between two RFC 3339 date-times only: a time missing or malformed is
    # TASK-SHAPE's finding (judged on every read), not an order.
    bodies = [t.final for t in pool.tasks.values() if t.final is not None]
    if pool.usable("shared_ready"):
        try:
            response = pool.read("shared_ready")
        except SubjectDestroyed:
            pass
        else:
            if response.status_code == 200:  # any other answer is TASK-SHAPE's to judge
                checks.task_timestamps_are_ordered(response.json(), response)
    for body in bodies:
        checks.task_timestamps_are_ordered(body)
    if not any(is_date_time(b.get("created_at")) and is_date_time(b.get("updated_at"))
               for b in bodies):
        pytest.skip("not judged: no task of the pool was read with both times as RFC 3339 "
                    "date-times (see TASK-SHAPE)")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "timestamps",
                                         "updated_at not before created_at"))
