"""The suite's successful-delete scenario, run once and judged by several tests.

In the documented order: another account tries the failed task, the owner deletes it; the
owner's delete of the ready task is refused while its video exists, another account tries it
(its video included: the owner's delete must still be refused after), the video is deleted,
the *other* ready task of the index (the probe's) must still be refused, another account tries
the now deletable ready task, and the owner deletes it. Right after each successful delete the
task is looked for in every view (DEL-GONE). Answers are kept unchecked: each test judges the
ones its clause is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from conformance.resources.errors import SubjectDestroyed
from conformance.resources.gone import Deleted, GoneLook, look_for_gone
from conformance.resources.isolation import ForeignTries, foreign_tries
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool, PoolTask
from conformance.resources.provisioning import Provisioner
from conformance.wire.client import ApiClient, answer_lost

__all__ = ["Deletions", "delete_the_documented_way"]

RIGHT_AFTER = "right after the delete"


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
    foreign: list[ForeignTries] = field(default_factory=list)
    """Another account's tries at the failed task and at the ready one, with and without its
    video (empty without a second key)."""
    foreign_skipped: dict[str, str] = field(default_factory=dict)
    """States another account could not be tried in, and why."""
    deleted: dict[str, PoolTask] = field(default_factory=dict)
    """The tasks whose delete answered 2xx: the subjects of the gone-for-good tests."""
    gone: dict[str, GoneLook] = field(default_factory=dict)
    """Per deleted role, every view of it read right after its delete."""


@dataclass
class _Scenario:
    raw: ApiClient
    outsider: ApiClient | None
    pool: Pool
    provisioner: Provisioner
    listing: Listing
    found: Deletions


def delete_the_documented_way(api: ApiClient, pool: Pool, provisioner: Provisioner,
                              stranger: ApiClient | None, listing: Listing) -> Deletions:
    found = Deletions(pool.tasks.get("doomed_failed"), pool.tasks.get("doomed_ready"))
    run = _Scenario(api.unchecked(), stranger.unchecked() if stranger is not None else None,
                    pool, provisioner, listing, found)
    _failed(run)
    _ready(run)
    return found


def _failed(run: _Scenario) -> None:
    pool, found = run.pool, run.found
    if not pool.usable("doomed_failed"):
        found.failed_gone = pool.why_not("doomed_failed")
        return
    task = pool.tasks["doomed_failed"]
    if run.outsider is not None and not _stranger(run, task, "failed"):
        found.failed_gone = pool.why_not("doomed_failed")
        return
    try:
        read = pool.read("doomed_failed", run.raw)
    except SubjectDestroyed as exc:
        found.failed_gone = str(exc)
        return
    if read.status_code != 200:
        found.failed_gone = f"could not be read before its delete (answered {read.status_code})"
        return
    found.failed_delete = run.raw.delete_task(task.task_id)
    _note(run, task, found.failed_delete)
    if answer_lost(found.failed_delete):  # its own answer is lost: nothing to judge it by
        found.failed_delete, found.failed_gone = None, _LOST


def _ready(run: _Scenario) -> None:
    pool, found, raw = run.pool, run.found, run.raw
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
        _note(run, task, found.ready_refused, look=False)
        found.ready_gone = pool.gone_reason("doomed_ready")
        return
    if run.outsider is not None:
        if found.ready_refused.status_code != 400:
            found.foreign_skipped["ready with its video"] = (
                "its owner's own delete was not refused with 400, so a video that another "
                "account deleted would not show (see DEL-VIDEO-FIRST)")
        elif not _stranger(run, task, "ready with its video"):
            found.ready_gone = pool.why_not("doomed_ready")
            return
    assert task.video_id is not None, "usable ready tasks have a video_id"
    found.video_delete = raw.delete_video(task.index_id, task.video_id)
    if answer_lost(found.video_delete):
        found.video_delete, found.ready_gone = None, _LOST.replace("delete's", "video delete's")
        return
    if found.video_delete.is_success:
        run.provisioner.note_deleted("video", task.video_id)
    _bystander(raw, pool, run.provisioner, found)
    if run.outsider is not None and found.video_delete.is_success:
        if not _stranger(run, task, "ready without its video"):
            found.ready_gone = pool.why_not("doomed_ready")
            return
    elif run.outsider is not None:
        found.foreign_skipped["ready without its video"] = "its video was not deleted (see " \
            "DEL-VIDEO-FIRST)"
    if not pool.usable("doomed_ready"):
        found.ready_gone = pool.why_not("doomed_ready")
        return
    found.ready_delete = raw.delete_task(task.task_id)
    _note(run, task, found.ready_delete)
    if answer_lost(found.ready_delete):
        found.ready_delete, found.ready_gone = None, _LOST


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


def _stranger(run: _Scenario, task: PoolTask, state: str) -> bool:
    """Another account's tries at ``task`` in ``state``; False when they destroyed it (the
    scenario cannot go on with it)."""
    assert run.outsider is not None and task.final is not None
    pool = run.pool

    def owner_read() -> httpx.Response | None:
        try:
            return pool.read(task.role, run.raw)
        except SubjectDestroyed:
            return None

    tries = foreign_tries(run.outsider, owner_read, state, task.final, index_id=task.index_id,
                          video_id=task.video_id)
    run.found.foreign.append(tries)
    if tries.answers["delete task"].is_success or tries.removed:
        pool.destroyed(task.role, "TENANT-ISOLATION")
        _note(run, task, tries.answers["delete task"], look=False)
        return False
    if state == "ready with its video":
        # Its owner's delete was refused just before: refused again, the video is still there.
        tries.video_check = run.raw.delete_task(task.task_id)
        if tries.video_check.is_success:
            pool.destroyed(task.role, "TENANT-ISOLATION")
            _note(run, task, tries.video_check, look=False)
            return False
    return pool.usable(task.role)


_LOST = ("lost its delete's answer: the connection dropped before it, and sent again the "
         "delete read as gone (the first send may have deleted it), so there is no answer "
         "to judge")


def _note(run: _Scenario, task: PoolTask, response: httpx.Response, *,
          look: bool = True) -> None:
    """A delete that answered 2xx (or whose answer was lost, ``answer_lost``) removed
    ``task``; the owner's own (``look``) is followed by a look at every view of it, right
    away."""
    if not (response.is_success or answer_lost(response)):
        return
    task.deleted = True
    run.found.deleted[task.role] = task
    run.provisioner.note_deleted("task", task.task_id)
    if look:
        status = (task.final or {}).get("status")
        gone = Deleted(task.task_id, task.index_id, status if isinstance(status, str) else None,
                       f"the {task.kind} task")
        run.found.gone[task.role] = look_for_gone(run.raw, run.listing, [gone], RIGHT_AFTER)
