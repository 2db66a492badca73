"""The task object: documented shape on retrieve, and a lifecycle that only moves forward."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.errors import SubjectDestroyed
from conformance.resources.pool import Pool, PoolTask
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


def _undamaged(pool: Pool, watch: Watch, judged: Subjects) -> list[PoolTask]:
    """The pool's tasks no delete of something else changed: a status another delete changed
    is DEL-ONLY-THAT's finding, not this task's lifecycle (SubjectDestroyed when none is left).
    """
    kept, damaged = [], []
    for task in pool.tasks.values():
        finding = watch.destroyed(task.task_id)
        if finding is None:
            kept.append(task)
        else:
            damaged.append(finding.sentence())
            judged.partly("TASK-LIFECYCLE", f"the {task.role} task not judged: a delete of "
                          "something else changed it (see DEL-ONLY-THAT)")
    if damaged and not kept:
        raise SubjectDestroyed("every pool task was changed by a delete of something else: "
                               + " | ".join(damaged[:2]), "DEL-ONLY-THAT")
    return kept


@pytest.mark.clause("TASK-LIFECYCLE")
def test_observed_statuses_only_move_forward_and_final_states_stay_final(
        pool: Pool, watch: Watch, judged: Subjects) -> None:
    pool["shared_ready"]  # a shared task that is gone says why here
    pool.read("shared_ready")  # one more read, so a final state is seen again
    for task in _undamaged(pool, watch, judged):
        role = task.role
        if task.final is None:
            continue  # never final: nothing to hold it to (see why_not)
        history = pool.history(role)
        checks.statuses_move_forward(history, subject=f"task {task.task_id} ({role})")
        if task.reads and task.reads[-1] != task.final["status"]:
            raise ContractViolation(
                "TASK-LIFECYCLE", f"task {task.task_id}: expected the final status "
                f"{task.final['status']!r} to stay, read {task.reads[-1]!r} later "
                f"(history {history})")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "statuses",
                                         "of every task of the pool"))


@pytest.mark.clause("TASK-LIFECYCLE")
def test_updated_at_is_never_before_created_at(pool: Pool, watch: Watch,
                                               judged: Subjects) -> None:
    pool["shared_ready"]  # a shared task that is gone says why here
    response = pool.read("shared_ready")
    if response.status_code == 200:  # any other answer is TASK-SHAPE's to judge
        checks.task_timestamps_are_ordered(response.json(), response)
    for task in _undamaged(pool, watch, judged):
        if task.final is not None:
            checks.task_timestamps_are_ordered(task.final)
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "timestamps",
                                         "updated_at not before created_at"))
