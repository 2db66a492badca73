"""The run's shared tasks, created together at the start and waited for together.

Four roles: ``shared_ready`` (read by many tests, never deleted by them), ``doomed_ready`` and
``doomed_failed`` (the delete scenario's subjects) and ``probe`` (deleted at each unfinished
status while the others index, then the second ready task of the index). A target that
indexes for minutes costs one indexing time per run. A role that cannot be provisioned, or
whose task an answer destroyed, makes only the tests that need it report why.
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
from conformance.resources.probe import UnfinishedDeletes, probe_unfinished
from conformance.resources.provisioning import CreatedTask, Provisioner
from conformance.resources.watch import Watch
from conformance.settings import Settings
from conformance.wire.client import ApiClient

__all__ = ["ROLES", "Pool", "PoolTask"]

Kind = Literal["ready", "failed"]
ROLES: dict[str, Kind] = {"shared_ready": "ready", "doomed_ready": "ready",
                          "doomed_failed": "failed", "probe": "ready"}
"""Created in this order: the oldest task of the index is the read-only one."""


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
    reads: list[str] = field(default_factory=list)
    """Statuses the tests read after provisioning, in order."""
    deleted: bool = False
    destroyed_by: str | None = None
    """The clause whose violation destroyed the task (None: the suite deleted it itself)."""
    unavailable: str | None = None
    """Why the task cannot serve its role: it did not end as meant, or vanished."""
    unavailable_clause: str | None = None


class Pool:
    """See the module docstring."""

    def __init__(self, api: ApiClient, provisioner: Provisioner, watch: Watch,
                 settings: Settings, progress: Callable[[str], None] | None = None,
                 also: Callable[[str], Any] | None = None) -> None:
        """``also``: a second caller's delete (a client library's) to try once on the probe
        task while it is unfinished, so the client category needs no task of its own."""
        self._also = also
        self._api = api
        self._provisioner = provisioner
        self._watch = watch
        self._lock = threading.Lock()
        self.tasks: dict[str, PoolTask] = {}
        self.missing: dict[str, str] = {}
        """Roles whose task could not even be created, and why."""
        created: dict[str, CreatedTask] = {}
        for role, kind in ROLES.items():
            try:
                created[role] = provisioner.start_task(kind)
            except ProvisioningError as exc:
                self.missing[role] = str(exc)
        self.unfinished = self._probe_while_waiting(created, settings)
        self._build(created)

    def _probe_while_waiting(self, created: dict[str, CreatedTask],
                             settings: Settings) -> UnfinishedDeletes | None:
        """Delete the probe task at each unfinished status while the others are waited for."""
        probe = created.get("probe")
        found: list[UnfinishedDeletes] = []
        failure: list[BaseException] = []

        def run() -> None:
            assert probe is not None
            try:
                found.append(probe_unfinished(
                    self._api.unchecked(), probe.task_id, interval=settings.probe_interval,
                    deadline=time.monotonic() + settings.wait_timeout, also=self._also,
                    not_shown_yet=self._watch.not_shown_yet))
            except BaseException as exc:  # re-raised in the caller's thread below
                failure.append(exc)

        thread = threading.Thread(target=run, name="unfinished-probe", daemon=True)
        if probe is not None:
            thread.start()
        others = [t for role, t in created.items() if role != "probe"]
        self._settled = self._provisioner.settle(others)
        if probe is not None:
            thread.join()
            if failure:
                raise failure[0]
            self._settled.update(self._provisioner.settle([probe]))
        return found[0] if found else None

    def _build(self, created: dict[str, CreatedTask]) -> None:
        for role, task in created.items():
            settled = self._settled[task.task_id]
            final = settled.final
            # A create answer without video_id is CREATE-OK's failure; the task object has it.
            video_id = task.video_id or (final or {}).get("video_id")
            entry = PoolTask(role, ROLES[role], task.task_id,
                             video_id if isinstance(video_id, str) else None, task.index_id,
                             task.response, final, unavailable=settled.problem,
                             unavailable_clause=settled.clause)
            if settled.problem is None and ROLES[role] == "ready" and entry.video_id is None:
                entry.unavailable = (f"task {task.task_id} has no video_id, neither in its "
                                     "create answer nor in the task object")
            self.tasks[role] = entry
            self._watch.track(task.task_id, task.index_id, entry.video_id, role=role)
        found = self.unfinished
        if found is not None and (found.removed or (found.other is not None and
                                                    is_gone(found.other.after))):
            # Its delete while unfinished removed it: that delete's clause, nothing else's.
            self.destroyed("probe", "DEL-TERMINAL-ONLY")
            self._provisioner.note_deleted("task", found.task_id)

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
        that vanished without the run deleting it is no subject any more: SubjectDestroyed
        citing DEL-ONLY-THAT, instead of an answer a test would misjudge."""
        task = self.tasks[role]
        response = (api or self._api.unchecked()).retrieve_task(task.task_id)
        self._watch.saw(task.task_id, response)
        finding = self._watch.destroyed(task.task_id)
        if finding is not None:
            self.destroyed(role, "DEL-ONLY-THAT")
            raise SubjectDestroyed(f"the pool's {role} task {finding.what} (see DEL-ONLY-THAT)",
                                   "DEL-ONLY-THAT")
        body = answer_json(response)
        if response.status_code == 200 and "status" in body:
            with self._lock:
                task.reads.append(str(body["status"]))
        return response

    def history(self, role: str) -> list[str]:
        """Every status seen of this task: provisioning's polls, then the tests' reads."""
        task = self.tasks[role]
        seen = self._provisioner.observed_statuses(task.task_id)
        if role == "probe" and self.unfinished is not None:
            probed = [s for s in self.unfinished.observed if s not in ("gone", "unreadable")]
            seen = [*probed, *seen]
        return [*seen, *task.reads]
