"""The suite's successful-delete scenario, run once and judged by several tests.

In the documented order: another account tries the failed task, the owner deletes it; the
owner's delete of the ready task is refused while its video exists, another account tries it
(its video included: the owner's delete must still be refused after), the video is deleted,
the *other* ready task of the index (the probe's) must still be refused, another account tries
the now deletable ready task, and the owner deletes it. Right after each successful delete the
task is looked for in every view (DEL-GONE). Answers are kept unchecked: each test judges the
ones its clause is about.

Each subject is read right before it is acted on: one whose final status did not stay is no
subject any more (SubjectDestroyed citing TASK-LIFECYCLE, or the clause the watch names).
The owner's deletes are sent inside the watch's bracket (``Watch.bracket``): what changes in
another task between the reads around one is that delete's doing (DEL-ONLY-THAT).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.checks import TASK_STATUSES
from conformance.resources.cleanup import answer_json, is_gone
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.gone import Deleted, GoneLook, look_for_gone
from conformance.resources.isolation import ForeignTries, foreign_tries
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool, PoolTask
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import Watch
from conformance.wire.client import ApiClient, answer_lost

__all__ = ["Deletions", "as_it_was", "delete_the_documented_way", "first_refusal"]

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
    ready_refused_again: httpx.Response | None = None
    """A second delete right after the refusal: refused again, the video survived it."""
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
    stopped_by: dict[str, str] = field(default_factory=dict)
    """Per role, the clause whose violation stopped the scenario's work on its task."""
    deleted: dict[str, PoolTask] = field(default_factory=dict)
    """The tasks whose delete answered 2xx: the subjects of the gone-for-good tests."""
    gone: dict[str, GoneLook] = field(default_factory=dict)
    """Per deleted role, every view of it read right after its delete."""

    def cannot(self, role: str, message: str) -> ProvisioningError:
        """What a test raises when the scenario could not give it its subject: SubjectDestroyed
        citing the clause that destroyed the role's task, when one did."""
        task = self.failed_task if role == "doomed_failed" else self.ready_task
        clause = self.stopped_by.get(role) or (
            (task.destroyed_by or task.unavailable_clause) if task is not None else None)
        return SubjectDestroyed(message, clause) if clause else ProvisioningError(message)


def _stopped(found: Deletions, role: str, exc: ProvisioningError) -> None:
    if isinstance(exc, SubjectDestroyed):
        found.stopped_by.setdefault(role, exc.clause_id)


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
    try:
        before = as_it_was(pool, "doomed_failed", run.raw)
        if run.outsider is not None and not _stranger(run, task, "failed", before):
            found.failed_gone = pool.why_not("doomed_failed")
            return
        as_it_was(pool, "doomed_failed", run.raw)
    except ProvisioningError as exc:
        _stopped(found, "doomed_failed", exc)
        found.failed_gone = str(exc)
        return
    with _bracket(run.provisioner.watch):
        found.failed_delete = run.raw.delete_task(task.task_id)
    _note(run, task, found.failed_delete)
    if answer_lost(found.failed_delete):  # its own answer is lost: nothing to judge it by
        found.failed_delete, found.failed_gone = None, _LOST


def _ready(run: _Scenario) -> None:
    pool, found, raw = run.pool, run.found, run.raw
    task = pool.tasks.get("doomed_ready")
    if task is None or (task.refused_with_video is None and not pool.usable("doomed_ready")):
        found.ready_gone = pool.why_not("doomed_ready")
        return
    try:
        found.ready_refused, found.ready_after_refusal, found.ready_refused_again = \
            first_refusal(raw, pool, run.provisioner, "doomed_ready")
        removed = [r for r in (found.ready_refused, found.ready_refused_again)
                   if r is not None and r.is_success]
        if removed:
            _note(run, task, removed[0], look=False)
        if not pool.usable("doomed_ready"):
            found.ready_gone = pool.why_not("doomed_ready")
            return
        before = as_it_was(pool, "doomed_ready", raw)
    except ProvisioningError as exc:
        _stopped(found, "doomed_ready", exc)
        found.ready_gone = str(exc)
        return
    if run.outsider is not None:
        if found.ready_refused.status_code != 400:
            found.foreign_skipped["ready with its video"] = (
                "its owner's own delete was not refused with 400, so a video that another "
                "account deleted would not show (see DEL-VIDEO-FIRST)")
        elif not _stranger(run, task, "ready with its video", before):
            found.ready_gone = pool.why_not("doomed_ready")
            return
    assert task.video_id is not None, "usable ready tasks have a video_id"
    with _bracket(run.provisioner.watch):
        found.video_delete = raw.delete_video(task.index_id, task.video_id)
    if answer_lost(found.video_delete):
        found.video_delete, found.ready_gone = None, _LOST.replace("delete's", "video delete's")
        return
    if found.video_delete.is_success:
        run.provisioner.note_deleted("video", task.video_id)
    _bystander(raw, pool, run.provisioner, found)
    if not _without_video(run, task):
        return
    with _bracket(run.provisioner.watch):
        found.ready_delete = raw.delete_task(task.task_id)
    _note(run, task, found.ready_delete)
    if answer_lost(found.ready_delete):
        found.ready_delete, found.ready_gone = None, _LOST


def _without_video(run: _Scenario, task: PoolTask) -> bool:
    """Another account's tries at the ready task once its video is deleted; False when the
    scenario cannot go on to the owner's delete. A task its video delete took along is tried
    by nobody else (that delete's finding, DEL-VIDEO-FIRST's: the owner's delete then says
    it), and its owner's delete is sent all the same."""
    pool, found = run.pool, run.found
    try:
        before = pool.read(task.role, run.raw)
    except ProvisioningError as exc:
        _stopped(found, "doomed_ready", exc)
        found.ready_gone = str(exc)
        return False
    if is_gone(before):
        if run.outsider is not None:
            found.foreign_skipped["ready without its video"] = (
                f"the video delete took the task along: it reads {before.status_code} (see "
                "DEL-VIDEO-FIRST)")
        return True
    if run.outsider is not None and found.video_delete is not None \
            and found.video_delete.is_success:
        try:
            body = as_it_was(pool, task.role, run.raw, before)
        except ProvisioningError as exc:
            _stopped(found, "doomed_ready", exc)
            found.ready_gone = str(exc)
            return False
        if not _stranger(run, task, "ready without its video", body):
            found.ready_gone = pool.why_not("doomed_ready")
            return False
    elif run.outsider is not None:
        found.foreign_skipped["ready without its video"] = "its video was not deleted (see " \
            "DEL-VIDEO-FIRST)"
    if not pool.usable("doomed_ready"):
        found.ready_gone = pool.why_not("doomed_ready")
        return False
    return True


def first_refusal(raw: ApiClient, pool: Pool, provisioner: Provisioner,
                  role: str) -> tuple[httpx.Response, httpx.Response, httpx.Response | None]:
    """The owner's delete of a ready pool task while its video exists, the read after it, and
    a second delete right after (refused again: the refusal left the video): sent once, by
    whichever test needs it first (the authentication trials, or the delete scenario), so
    that a refusal which changed its task is judged as DEL-VIDEO-FIRST's finding wherever it
    was sent. A refusal that removed or changed the task, or took its video, destroys it
    (DEL-VIDEO-FIRST)."""
    task = pool.tasks[role]
    if task.refused_with_video is not None:
        return task.refused_with_video
    as_it_was(pool, role, raw)
    with _bracket(provisioner.watch):
        refused = raw.delete_task(task.task_id)
        after = raw.retrieve_task(task.task_id)
        again = raw.delete_task(task.task_id) if refused.status_code == 400 \
            and after.status_code == 200 else None
    task.refused_with_video = (refused, after, again)
    removed = [r for r in (refused, again) if r is not None and r.is_success]
    if removed:
        provisioner.note_deleted("task", task.task_id)
    final = (task.final or {}).get("status")
    if removed or is_gone(after) or answer_json(after).get("status") != final:
        pool.destroyed(role, "DEL-VIDEO-FIRST")
    return task.refused_with_video


def as_it_was(pool: Pool, role: str, raw: ApiClient,
              read: httpx.Response | None = None) -> dict[str, Any]:
    """The pool task read now (or ``read``), still in the final status it was provisioned
    in; SubjectDestroyed otherwise: a status that did not stay is TASK-LIFECYCLE's (or the
    clause the watch names), a task that cannot be read is no subject."""
    response = read if read is not None else pool.read(role, raw)
    body = answer_json(response)
    final = (pool.tasks[role].final or {}).get("status")
    if response.status_code != 200:
        raise ProvisioningError(f"the pool's {role} task could not be read before it was "
                                f"acted on: it answered {response.status_code}")
    if body.get("status") not in TASK_STATUSES:
        pool.destroyed(role, "TASK-SHAPE")
        raise SubjectDestroyed(f"the pool's {role} task reads no documented status "
                               f"({body.get('status')!r}): no status clause can be judged on "
                               "it (see TASK-SHAPE)", "TASK-SHAPE")
    if body.get("status") != final:
        pool.destroyed(role, "TASK-LIFECYCLE")
        raise SubjectDestroyed(f"the pool's {role} task was {final!r} and reads "
                               f"{body.get('status')!r} now: its final status did not stay "
                               "(see TASK-LIFECYCLE)", "TASK-LIFECYCLE")
    return body


@contextmanager
def _bracket(watch: Watch | None) -> Iterator[None]:
    if watch is None:
        yield
        return
    with watch.bracket():
        yield


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
        found.bystander_refused, found.bystander_after = _delete_between_reads(
            raw, pool, provisioner, "probe")
    except ProvisioningError as exc:
        found.bystander_skipped = str(exc)
        return
    if found.bystander_refused.is_success:
        pool.destroyed("probe", "DEL-VIDEO-FIRST")
        provisioner.note_deleted("task", task.task_id)


def _delete_between_reads(raw: ApiClient, pool: Pool, provisioner: Provisioner,
                          role: str) -> tuple[httpx.Response, httpx.Response]:
    """The owner's delete of a pool task, with a read before it (the task as provisioned, see
    ``as_it_was``) and the read after it that judges it (SubjectDestroyed when the task
    vanished meanwhile)."""
    as_it_was(pool, role, raw)
    with _bracket(provisioner.watch):
        response = raw.delete_task(pool.tasks[role].task_id)
    return response, pool.read(role, raw)


def _stranger(run: _Scenario, task: PoolTask, state: str, before: dict[str, Any]) -> bool:
    """Another account's tries at ``task`` in ``state`` (``before``: its owner's read just
    before them); False when they destroyed it (the scenario cannot go on with it)."""
    assert run.outsider is not None
    pool = run.pool

    def owner_read() -> httpx.Response | None:
        try:
            return pool.read(task.role, run.raw)
        except SubjectDestroyed:
            return None

    tries = foreign_tries(run.outsider, owner_read, state, before, index_id=task.index_id,
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
