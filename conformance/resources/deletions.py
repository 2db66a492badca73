"""The suite's successful-delete scenario, run once and judged by several tests.

In the documented order: another account tries the failed task, the owner deletes it; the
owner's delete of the ready task is refused while its video exists, the video is deleted,
the *other* ready task of the index (the probe's) must still be refused, another account
tries the now deletable ready task, and the owner deletes it. Answers are kept unchecked:
each test judges the ones its clause is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from conformance.resources.errors import SubjectDestroyed
from conformance.resources.pool import Pool, PoolTask
from conformance.resources.provisioning import Provisioner
from conformance.wire.client import ApiClient, answer_lost

__all__ = ["Deletions", "StrangerTry", "delete_the_documented_way"]


@dataclass
class StrangerTry:
    """Another account's delete of a task its owner could delete, and the owner's read after."""

    what: str
    task: PoolTask
    response: httpx.Response
    after: httpx.Response | None
    """None when the read could not be judged (the task vanished for another reason)."""


@dataclass
class Deletions:
    failed_task: PoolTask | None
    ready_task: PoolTask | None
    failed_delete: httpx.Response | None = None
    failed_gone: str | None = None
    """Why the failed task's delete was not tried (None: it was)."""
    ready_refused: httpx.Response | None = None
    ready_after_refusal: httpx.Response | None = None
    video_delete: httpx.Response | None = None
    ready_delete: httpx.Response | None = None
    ready_gone: str | None = None
    """Why the ready task's scenario stopped early (None: it ran to the end)."""
    bystander: PoolTask | None = None
    bystander_refused: httpx.Response | None = None
    bystander_after: httpx.Response | None = None
    bystander_skipped: str | None = None
    stranger: list[StrangerTry] = field(default_factory=list)
    deleted: dict[str, PoolTask] = field(default_factory=dict)
    """The tasks whose delete answered 2xx: the subjects of the gone-for-good tests."""


def delete_the_documented_way(api: ApiClient, pool: Pool, provisioner: Provisioner,
                              stranger: ApiClient | None) -> Deletions:
    raw = api.unchecked()
    outsider = stranger.unchecked() if stranger is not None else None
    found = Deletions(pool.tasks.get("doomed_failed"), pool.tasks.get("doomed_ready"))
    _failed(raw, outsider, pool, provisioner, found)
    _ready(raw, outsider, pool, provisioner, found)
    return found


def _failed(raw: ApiClient, outsider: ApiClient | None, pool: Pool, provisioner: Provisioner,
            found: Deletions) -> None:
    if not pool.usable("doomed_failed"):
        found.failed_gone = pool.why_not("doomed_failed")
        return
    task = pool.tasks["doomed_failed"]
    if outsider is not None:
        _stranger_tries(outsider, pool, provisioner, found, task, "a failed task")
        if not pool.usable("doomed_failed"):
            found.failed_gone = pool.why_not("doomed_failed")
            return
    try:
        read = pool.read("doomed_failed", raw)
    except SubjectDestroyed as exc:
        found.failed_gone = str(exc)
        return
    if read.status_code != 200:
        found.failed_gone = f"could not be read before its delete (answered {read.status_code})"
        return
    found.failed_delete = raw.delete_task(task.task_id)
    if answer_lost(found.failed_delete):  # its own answer is lost: nothing to judge it by
        _note(found, pool, provisioner, task, found.failed_delete)
        found.failed_delete, found.failed_gone = None, _LOST
        return
    _note(found, pool, provisioner, task, found.failed_delete)


def _ready(raw: ApiClient, outsider: ApiClient | None, pool: Pool, provisioner: Provisioner,
           found: Deletions) -> None:
    if not pool.usable("doomed_ready"):
        found.ready_gone = pool.why_not("doomed_ready")
        return
    task = pool.tasks["doomed_ready"]
    try:
        found.ready_refused, found.ready_after_refusal = _delete_between_reads(raw, pool,
                                                                               "doomed_ready")
    except SubjectDestroyed as exc:
        found.ready_gone = str(exc)
        return
    if found.ready_refused.is_success:
        pool.destroyed("doomed_ready", "DEL-VIDEO-FIRST")
        _note(found, pool, provisioner, task, found.ready_refused)
        found.ready_gone = pool.gone_reason("doomed_ready")
        return
    assert task.video_id is not None, "usable ready tasks have a video_id"
    found.video_delete = raw.delete_video(task.index_id, task.video_id)
    if answer_lost(found.video_delete):
        found.video_delete, found.ready_gone = None, _LOST.replace("delete's", "video delete's")
        return
    if found.video_delete.is_success:
        provisioner.note_deleted("video", task.video_id)
    _bystander(raw, pool, provisioner, found)
    if outsider is not None and found.video_delete.is_success:
        _stranger_tries(outsider, pool, provisioner, found, task,
                        "a ready task whose video was deleted")
    if not pool.usable("doomed_ready"):
        found.ready_gone = pool.why_not("doomed_ready")
        return
    found.ready_delete = raw.delete_task(task.task_id)
    if answer_lost(found.ready_delete):
        _note(found, pool, provisioner, task, found.ready_delete)
        found.ready_delete, found.ready_gone = None, _LOST
        return
    _note(found, pool, provisioner, task, found.ready_delete)


def _bystander(raw: ApiClient, pool: Pool, provisioner: Provisioner, found: Deletions) -> None:
    """Another ready task of the index, its own video still there, stays undeletable once a
    different video is deleted (DEL-VIDEO-FIRST: only a task's own video unlocks it)."""
    if found.video_delete is None or not found.video_delete.is_success:
        found.bystander_skipped = "the first ready task's video was not deleted" + (
            f": it {found.ready_gone}" if found.ready_gone else " (see DEL-VIDEO-FIRST)")
        return
    if not pool.usable("probe"):
        found.bystander_skipped = f"the probe task {pool.why_not('probe')}"
        return
    task = pool.tasks["probe"]
    found.bystander = task
    try:
        found.bystander_refused, found.bystander_after = _delete_between_reads(raw, pool,
                                                                               "probe")
    except SubjectDestroyed as exc:
        found.bystander_skipped = str(exc)
        return
    if found.bystander_refused.is_success:
        pool.destroyed("probe", "DEL-VIDEO-FIRST")
        provisioner.note_deleted("task", task.task_id)


def _delete_between_reads(raw: ApiClient, pool: Pool,
                          role: str) -> tuple[httpx.Response, httpx.Response]:
    """The owner's delete of a pool task, with a read before it and the read after it that
    judges it (SubjectDestroyed when the task vanished meanwhile)."""
    pool.read(role, raw)
    response = raw.delete_task(pool.tasks[role].task_id)
    return response, pool.read(role, raw)


def _stranger_tries(outsider: ApiClient, pool: Pool, provisioner: Provisioner,
                    found: Deletions, task: PoolTask, what: str) -> None:
    response = outsider.delete_task(task.task_id)
    after: httpx.Response | None
    try:
        after = pool.read(task.role)
    except SubjectDestroyed:
        after = None
    found.stranger.append(StrangerTry(what, task, response, after))
    if response.is_success:
        pool.destroyed(task.role, "TENANT-ISOLATION")
        _note(found, pool, provisioner, task, response)


_LOST = ("lost its delete's answer: the connection dropped before it, and sent again the "
         "delete read as gone (the first send may have deleted it), so there is no answer "
         "to judge")


def _note(found: Deletions, pool: Pool, provisioner: Provisioner, task: PoolTask,
          response: httpx.Response) -> None:
    if response.is_success or answer_lost(response):
        task.deleted = True
        found.deleted[task.role] = task
        provisioner.note_deleted("task", task.task_id)
