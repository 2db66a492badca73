"""The run's shared tasks, created together at the start and waited for together.

Five roles, chosen so that every list check has something to tell a right answer from a wrong
one: ``shared_ready`` (read by many tests, never deleted by them), ``doomed_ready`` and
``doomed_failed`` (the delete scenario's subjects), ``probe`` (bound for ready, deleted at each
unfinished status while the others index, then the second ready task of the index), and
``kept_failed`` (bound for failed, probed the same way, in a second temporary index, and kept
failed until cleanup: an index filter then has a task to leave out, a status filter a second
status, and the failed task finishes before ready tasks made earlier, so ``updated_at`` order
differs from ``created_at`` order). A target that indexes for minutes costs one indexing time
per run. A role that cannot be provisioned, or whose task an answer destroyed, makes only the
tests that need it report why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from conformance.resources.cleanup import answer_json, is_gone
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.isolation import ForeignTries, foreign_tries
from conformance.resources.probe import UnfinishedDeletes, probe_unfinished
from conformance.resources.provisioning import CreatedTask, Provisioner
from conformance.resources.watch import Watch
from conformance.settings import Settings
from conformance.wire.client import ApiClient

__all__ = ["PROBED", "ROLES", "Pool", "PoolTask"]

Kind = Literal["ready", "failed"]
ROLES: dict[str, Kind] = {"shared_ready": "ready", "doomed_ready": "ready",
                          "doomed_failed": "failed", "probe": "ready", "kept_failed": "failed"}
"""Created in this order: the oldest task of the index is the read-only one."""
PROBED = ("probe", "kept_failed")
"""Deleted at each unfinished status they show, while the others are waited for."""
SECOND_INDEX = frozenset({"kept_failed"})
"""Roles made in the run's second temporary index."""


@dataclass
class PoolTask:
    role: str
    kind: str
    task_id: str
    video_id: str | None
    index_id: str
    create_answer: httpx.Response | None
    """None: the create's connection dropped and the task was found by its filename."""
    final: dict[str, Any] | None
    """The task as last read final (None: it never was, see ``unavailable``)."""
    filename: str | None = None
    """The uploaded file's name (None: made from a URL)."""
    reads: list[str] = field(default_factory=list)
    """Statuses the tests read after provisioning, in order."""
    deleted: bool = False
    destroyed_by: str | None = None
    """The clause whose violation destroyed the task (None: the suite deleted it itself)."""
    gone_why: str | None = None
    """Why a task deleted by none of the tests is gone (a race while probing it)."""
    unavailable: str | None = None
    """Why the task cannot serve its role: it did not end as meant, or vanished."""
    unavailable_clause: str | None = None
    refused_with_video: tuple[httpx.Response, httpx.Response, httpx.Response | None] | None = None
    """The owner's first delete of this ready task while its video exists, the read after
    it, and a second delete right after (None: not sent), made once by whichever test needs
    it first (``deletions.first_refusal``)."""


class Pool:
    """See the module docstring."""

    def __init__(self, api: ApiClient, provisioner: Provisioner, watch: Watch,
                 settings: Settings, progress: Callable[[str], None] | None = None,
                 also: Callable[[str], Any] | None = None,
                 stranger: ApiClient | None = None) -> None:
        """``also``: a second caller's delete (a client library's) to try once on the probe
        task while it is unfinished, so the client category needs no task of its own;
        ``stranger``: another account, whose tries at the unfinished probe task go with it."""
        self._also = also
        self._stranger = stranger.unchecked() if stranger is not None else None
        self._api = api
        self._provisioner = provisioner
        self._watch = watch
        self._lock = threading.Lock()
        self.tasks: dict[str, PoolTask] = {}
        self.missing: dict[str, str] = {}
        """Roles whose task could not even be created, and why."""
        self.second_index: str | None = None
        """The run's second temporary index (None: it could not be made)."""
        self.damaged: list[str] = []
        """Probed roles that ended otherwise than their siblings from the same video after
        refused deletes (a DEL-TERMINAL-ONLY finding)."""
        created: dict[str, CreatedTask] = {}
        for role, kind in ROLES.items():
            try:
                created[role] = provisioner.start_task(kind, self._index_for(role))
            except ProvisioningError as exc:
                self.missing[role] = str(exc)
        self.probes = self._probe_while_waiting(created, settings)
        self._build(created)

    def _index_for(self, role: str) -> str | None:
        if role not in SECOND_INDEX:
            return None
        if self.second_index is None:
            self.second_index = self._provisioner.temporary_index("second")
        return self.second_index

    @property
    def unfinished(self) -> UnfinishedDeletes | None:
        """What probing the task bound for ready found (the client category's try included)."""
        return self.probes.get("probe")

    def _probe_while_waiting(self, created: dict[str, CreatedTask],
                             settings: Settings) -> dict[str, UnfinishedDeletes]:
        """Delete the probed tasks at each unfinished status while the others are waited for."""
        found: dict[str, UnfinishedDeletes] = {}
        failure: list[BaseException] = []
        raw = self._api.unchecked()

        def run(role: str, task: CreatedTask) -> None:
            ready = ROLES[role] == "ready"
            try:
                found[role] = probe_unfinished(
                    raw, task.task_id, interval=settings.probe_interval, bound=ROLES[role],
                    deadline=time.monotonic() + settings.wait_timeout,
                    also=self._also if ready else None,
                    stranger=self._stranger_tries(task) if ready else None)
            except BaseException as exc:  # re-raised in the caller's thread below
                failure.append(exc)

        # Every task seen once before the probe's first delete: what that delete changes in
        # another task shows at its next read (DEL-ONLY-THAT).
        self._watch.check()
        probed = [(role, created[role]) for role in PROBED if role in created]
        threads = [threading.Thread(target=run, args=entry, name=f"unfinished-{entry[0]}",
                                    daemon=True) for entry in probed]
        for thread in threads:
            thread.start()
        others = [t for role, t in created.items() if role not in PROBED]
        self._settled = self._provisioner.settle(others)
        for thread in threads:
            thread.join()
        if failure:
            raise failure[0]
        self._settled.update(self._provisioner.settle([task for _, task in probed]))
        return found

    def _stranger_tries(self, task: CreatedTask) -> Callable[[dict[str, Any]],
                                                             ForeignTries] | None:
        outsider = self._stranger
        if outsider is None:
            return None

        def owner_read() -> httpx.Response:
            response = self._api.unchecked().retrieve_task(task.task_id)
            self._watch.saw(task.task_id, response)
            return response

        def tries(before: dict[str, Any]) -> ForeignTries:
            return foreign_tries(outsider, owner_read, "unfinished", before,
                                 index_id=task.index_id, video_id=task.video_id)

        return tries

    def _build(self, created: dict[str, CreatedTask]) -> None:
        for role, task in created.items():
            settled = self._settled[task.task_id]
            final = settled.final
            # A create answer without video_id is CREATE-OK's failure; the task object has it.
            video_id = task.video_id or (final or {}).get("video_id")
            entry = PoolTask(role, ROLES[role], task.task_id,
                             video_id if isinstance(video_id, str) else None, task.index_id,
                             task.response, final, filename=task.filename,
                             unavailable=settled.problem, unavailable_clause=settled.clause)
            if settled.problem is None and ROLES[role] == "ready" and entry.video_id is None:
                entry.unavailable = (f"task {task.task_id} has no video_id, neither in its "
                                     "create answer nor in the task object")
            self.tasks[role] = entry
            self._watch.track(task.task_id, task.index_id, entry.video_id, role=role)
        for role, found in self.probes.items():
            self._after_probe(role, found)

    def _after_probe(self, role: str, found: UnfinishedDeletes) -> None:
        """What the probe did to its task: removed it (by a delete the clause forbids, by
        another account's, or in a race), or left it to end unlike its siblings."""
        stranger = found.stranger
        if found.removed or (found.other is not None and is_gone(found.other.after)):
            # Its delete while unfinished removed it: that delete's clause, nothing else's.
            self.destroyed(role, "DEL-TERMINAL-ONLY")
            self._provisioner.note_deleted("task", found.task_id)
        elif stranger is not None and stranger.removed:
            self.destroyed(role, "TENANT-ISOLATION")
            self._provisioner.note_deleted("task", found.task_id)
        elif found.observed and found.observed[-1] == "gone" and found.raced:
            task = self.tasks[role]
            task.deleted = True
            task.gone_why = ("was deleted by the probe's delete as it became final (a race, "
                             "judged by nothing)")
            self._provisioner.note_deleted("task", found.task_id)
        elif found.refused and self._ended_unlike_siblings(role):
            task = self.tasks[role]
            self.damaged.append(role)
            task.unavailable = (f"task {task.task_id} ended {(task.final or {}).get('status')} "
                                "after its refused deletes, though tasks made from the same "
                                "video became ready (see DEL-TERMINAL-ONLY)")
            task.unavailable_clause = "DEL-TERMINAL-ONLY"

    def _ended_unlike_siblings(self, role: str) -> bool:
        """A task bound for ready that ended failed while every other task made from the same
        video became ready: the refused deletes damaged it (else the video is the cause)."""
        task = self.tasks[role]
        if task.kind != "ready" or (task.final or {}).get("status") != "failed":
            return False
        siblings = [t for r, t in self.tasks.items() if r != role and t.kind == "ready"
                    and r not in PROBED]
        return bool(siblings) and all((t.final or {}).get("status") == "ready"
                                      for t in siblings)

    # -- access ----------------------------------------------------------------------------

    def usable(self, role: str) -> bool:
        task = self.tasks.get(role)
        return task is not None and not task.deleted and task.unavailable is None

    def why_not(self, role: str) -> str:
        """Why ``role`` cannot be used, as the end of a sentence about its task."""
        if role in self.missing:
            return f"could not be created: {self.missing[role]}"
        task = self.tasks[role]
        if task.deleted:
            return self.gone_reason(role)
        if task.unavailable_clause:
            return f"is not there to judge: {task.unavailable}"
        return f"could not be provisioned: {task.unavailable}"

    def __getitem__(self, role: str) -> PoolTask:
        if not self.usable(role):
            clause = self.tasks[role].destroyed_by or self.tasks[role].unavailable_clause \
                if role in self.tasks else None
            message = f"the pool's {role} task {self.why_not(role)}"
            raise SubjectDestroyed(message, clause) if clause else ProvisioningError(message)
        return self.tasks[role]

    def destroyed(self, role: str, clause_id: str) -> None:
        """An answer that broke ``clause_id`` destroyed this task: later tests that needed it
        report an error citing that clause, not a failure of their own."""
        with self._lock:
            task = self.tasks[role]
            task.deleted = True
            task.destroyed_by = task.destroyed_by or clause_id

    def gone_reason(self, role: str) -> str:
        """Why a deleted pool task is gone, as the end of a sentence about it."""
        if self.tasks[role].gone_why is not None:
            return str(self.tasks[role].gone_why)
        clause_id = self.tasks[role].destroyed_by
        if clause_id is not None:
            return (f"was destroyed by an earlier answer that broke {clause_id}; nothing "
                    f"left to judge here (see {clause_id})")
        return "was already deleted by an earlier test; run the suite in its file order"

    @property
    def index_id(self) -> str:
        for task in self.tasks.values():
            return task.index_id
        return self._provisioner.index_id()

    def read(self, role: str, api: ApiClient | None = None) -> httpx.Response:
        """Retrieve a pool task and remember the status seen, for the lifecycle check. A task
        that vanished without the run deleting it, or whose final status did not stay, is no
        subject any more: SubjectDestroyed citing DEL-ONLY-THAT or TASK-LIFECYCLE (the watch
        says which), instead of an answer a test would misjudge."""
        task = self.tasks[role]
        response = self.look(role, api)
        finding = self._watch.destroyed(task.task_id)
        if finding is not None:
            self.destroyed(role, finding.clause)
            raise SubjectDestroyed(f"the pool's {role} task {finding.what} (see "
                                   f"{finding.clause})", finding.clause)
        body = answer_json(response)
        if response.status_code == 200 and "status" in body:
            with self._lock:
                task.reads.append(str(body["status"]))
        return response

    def look(self, role: str, api: ApiClient | None = None) -> httpx.Response:
        """Retrieve a pool task for what it reads now, whatever became of it (the watch sees
        the read; ``read`` says when the task is no subject any more)."""
        response = (api or self._api.unchecked()).retrieve_task(self.tasks[role].task_id)
        self._watch.saw(self.tasks[role].task_id, response)
        return response

    def history(self, role: str) -> list[str]:
        """Every status seen of this task: provisioning's polls, then the tests' reads."""
        task = self.tasks[role]
        seen = self._provisioner.observed_statuses(task.task_id)
        if role in self.probes:
            probed = [s for s in self.probes[role].observed if s not in ("gone", "unreadable")]
            seen = [*probed, *seen]
        return [*seen, *task.reads]
