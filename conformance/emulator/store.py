"""Accounts, indexes, videos and tasks with every domain rule; no HTTP types in here."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.emulator import listing
from conformance.emulator.lifecycle import FINAL, Clock, Schedule
from conformance.emulator.media import Probe
from conformance.emulator.model import (
    DomainError,
    Forbidden,
    Index,
    Invalid,
    ListQuery,
    NotFound,
    Refused,
    Task,
    new_id,
)
from conformance.emulator.timeline import Timeline


# Accounts stay here with their digest: only the store (and the context, which maps keys to
# accounts) deal in them; the records in model.py merely carry the digest.
def account_id(api_key: str) -> str:
    """Accounts are keyed by a digest so that no key is ever kept, in memory or on disk."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(slots=True)
class Account:
    indexes: dict[str, Index] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)  # insertion order is creation order
    by_index: dict[str, dict[str, Task]] = field(default_factory=dict)
    tombstones: dict[str, Task] = field(default_factory=dict)  # in the order they were deleted
    timeline: Timeline = field(default_factory=Timeline)  # clock-dependent orders of tasks


class Persistence(Protocol):
    def put_index(self, index: Index) -> None: ...
    def drop_index(self, index_id: str) -> None: ...
    def put_task(self, task: Task) -> None: ...
    def drop_task(self, task_id: str) -> None: ...
    def bury_task(self, task: Task) -> None: ...
    def clear(self) -> None: ...


Planner = Callable[[float, Probe], Schedule]


class Store:
    """All state of one emulator; every status-dependent decision is taken under one lock."""

    def __init__(self, clock: Clock, planner: Planner, *, faults: Iterable[str] = (),
                 variations: Iterable[str] = (), persistence: Persistence | None = None,
                 hidden_for: float = 0.0) -> None:
        self.clock = clock
        self.hidden_for = hidden_for  # new-task-404-briefly: a new task is unseen this long
        self._plan = planner
        self._faults = frozenset(faults)
        self._variations = frozenset(variations)
        self._persist = persistence
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._seq = 0
        self._last_created = 0.0
        self._returning: list[tuple[float, Task]] = []  # deleted-task-comes-back

    def _account(self, account: str) -> Account:
        acc = self._accounts.get(account)
        if acc is None:
            acc = self._accounts[account] = Account()
        return acc

    # --- loading and resetting -------------------------------------------------------------
    def load(self, indexes: Iterable[Index], tasks: Iterable[Task],
             tombstones: Iterable[Task] = ()) -> None:
        """Restore saved state; ``tombstones`` in the order the tasks were deleted."""
        with self._lock:
            for index in indexes:
                self._add_index(index)
            for task in sorted(tasks, key=lambda t: t.seq):
                self._add_task(task)
                self._seq = max(self._seq, task.seq)
                self._last_created = max(self._last_created, task.created_at)
            for task in tombstones:
                self._account(task.account).tombstones[task.id] = task
                self._seq = max(self._seq, task.seq)

    def holds_tasks(self, account: str) -> bool:
        acc = self._accounts.get(account)
        return acc is not None and bool(acc.tasks or acc.tombstones)

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()
            if self._persist:
                self._persist.clear()

    # --- indexes ---------------------------------------------------------------------------
    def create_index(self, account: str, name: str, models: list[dict[str, Any]]) -> Index:
        with self._lock:
            # names need not be unique: the suite's temporary indexes must never collide
            index = Index(new_id(), account, name, models, self.clock.now())
            self._add_index(index)
            if self._persist:
                self._persist.put_index(index)
            return index

    def _add_index(self, index: Index) -> None:
        acc = self._account(index.account)
        acc.indexes[index.id] = index
        acc.by_index.setdefault(index.id, {})

    def get_index(self, account: str, index_id: str) -> Index:
        index = self._account(account).indexes.get(index_id)
        if index is None:
            raise NotFound("resource_not_exist", f"Index {index_id} does not exist.")
        return index

    def delete_index(self, account: str, index_id: str) -> None:
        """Deleting an index removes its videos and its tasks with it."""
        with self._lock:
            acc = self._account(account)
            self.get_index(account, index_id)
            removed = acc.by_index.pop(index_id, {})
            acc.timeline.remove(removed.values())
            for task_id in removed:
                acc.tasks.pop(task_id, None)
                if self._persist:
                    self._persist.drop_task(task_id)
            del acc.indexes[index_id]
            if self._persist:
                self._persist.drop_index(index_id)

    # --- tasks -----------------------------------------------------------------------------
    def create_task(self, account: str, index_id: str | None, *, filename: str, probe: Probe,
                    enable_stream: bool = True, user_metadata: dict[str, Any] | None = None,
                    at: float | None = None) -> Task:
        """A new task; ``at`` backdates its creation (a busy account's earlier tasks)."""
        with self._lock:
            acc = self._account(account)
            if index_id is None:
                index_id = self._implicit_index(account)
            if index_id not in acc.indexes and "foreign-create-into-index" in self._faults:
                account = self._owner_of(index_id) or account
                acc = self._account(account)
            if index_id not in acc.indexes:
                raise Invalid("resource_not_exist", f"Index {index_id} does not exist.")
            if probe.failure == "video_file_broken" and \
                    "reject-undecodable-at-create" in self._variations:
                raise Invalid(probe.failure, probe.message())
            now = max(self.clock.now(), self._last_created) if at is None else at
            self._last_created = max(now, self._last_created)
            self._seq += 1
            task = Task(new_id(), account, index_id, new_id(), self._seq, now,
                        self._plan(now, probe), filename, enable_stream, probe.failure,
                        probe.duration, probe.width, probe.height, user_metadata)
            self._add_task(task)
            if self._persist:
                self._persist.put_task(task)
            return task

    def _owner_of(self, index_id: str) -> str | None:
        return next((key for key, acc in self._accounts.items() if index_id in acc.indexes),
                    None)

    def _implicit_index(self, account: str) -> str:
        # only reachable with the create-without-index-accepted fault
        acc = self._account(account)
        if acc.indexes:
            return next(reversed(acc.indexes))
        return self.create_index(account, "implicit", []).id

    def _add_task(self, task: Task) -> None:
        acc = self._account(task.account)
        acc.tasks[task.id] = task
        acc.by_index.setdefault(task.index_id, {})[task.id] = task
        acc.timeline.add(task)

    def get_task(self, account: str, task_id: str) -> Task:
        self._revive()
        acc = self._account(account)
        task = acc.tasks.get(task_id)
        if task is not None and not self._hidden(task, self.clock.now()):
            return task
        if "deleted-task-still-retrievable" in self._faults and task_id in acc.tombstones:
            return acc.tombstones[task_id]
        for other in self._accounts.values():
            found = other.tasks.get(task_id)
            if found is not None and self._leaks(found):
                return found
        raise NotFound("resource_not_exist", f"Task {task_id} does not exist.")

    def _leaks(self, task: Task) -> bool:
        """Whether a fault lets another account retrieve ``task``."""
        if "tenant-leak" in self._faults:
            return True
        status = task.status_at(self.clock.now())[0]
        return (status == "failed" and "foreign-retrieve-of-failed-task" in self._faults) or (
            status not in FINAL and "foreign-retrieve-of-unfinished-task" in self._faults)

    def task_ids(self, account: str) -> list[str]:
        return list(self._account(account).tasks)

    def _revive(self) -> None:
        """deleted-task-comes-back: tasks whose return is due are live again."""
        with self._lock:
            while self._returning and self._returning[0][0] <= self.clock.now():
                task = self._returning.pop(0)[1]
                self._account(task.account).tombstones.pop(task.id, None)
                self._add_task(task)

    def _hidden(self, task: Task, now: float) -> bool:
        return now < task.created_at + self.hidden_for

    def belongs_to_another(self, account: str, task_id: str) -> bool:
        return any(task_id in acc.tasks for key, acc in self._accounts.items() if key != account)

    def ever_existed(self, task_id: str) -> bool:
        """Whether any account holds or held this task: faults about unknown IDs spare these."""
        return any(task_id in acc.tasks or task_id in acc.tombstones
                   for acc in self._accounts.values())

    def delete_task(self, account: str, task_id: str) -> str | None:
        """Delete a task; the status it was deleted in (None: a fault answered for nothing)."""
        self._revive()
        with self._lock:
            task = self._account(account).tasks.get(task_id)
            if task is None or self._hidden(task, self.clock.now()):
                task = self._missing_for_delete(account, task_id)
                if task is None:
                    return None
            now = self.clock.now()
            status = task.status_at(now)[0]
            try:
                self._check_deletable(task, now)
            except Refused:
                self._refusal_harms(task, status)
                if "refused-delete-removes-neighbour" in self._faults:
                    self._bury_oldest_other(task)
                raise
            self._bury(task)
            if "deleted-task-comes-back" in self._faults:
                self._returning.append((now + 3.0, task))
            if "delete-removes-neighbour" in self._faults:
                self._bury_oldest_other(task)
            if "delete-renames-neighbours" in self._faults:
                self._rename_others(task, "renamed.mp4")
            return status

    def _refusal_harms(self, task: Task, status: str) -> None:
        """Faults whose refusal of an unfinished task's delete changes it all the same."""
        bound, faults = task.schedule.final_status, self._faults
        if status in FINAL:
            return
        if "refused-delete-removes-task" in faults or (
                bound == "failed" and "refused-delete-removes-failing-task" in faults):
            self._bury(task)
        elif bound == "ready" and "refused-delete-fails-task" in faults:
            task.schedule = Schedule(task.schedule.starts,
                                     (*task.schedule.statuses[:-1], "failed"))
            task.failure = "video_file_broken"

    def _missing_for_delete(self, account: str, task_id: str) -> Task | None:
        """A delete names no live task of the caller: 404, unless a fault answers otherwise
        (None: success without deleting anything; a task: another account's, to delete)."""
        if task_id in self._account(account).tombstones and "second-delete-204" in self._faults:
            return None
        if not self.ever_existed(task_id):
            if "unknown-id-delete-204" in self._faults:
                return None
            if "unknown-id-delete-403" in self._faults:
                raise Forbidden("forbidden", "You are not allowed to delete this task.")
        if "foreign-delete-of-deletable-task" in self._faults:
            for key, other in self._accounts.items():
                task = other.tasks.get(task_id)
                if key != account and task is not None:
                    try:  # judged by the owner's rules: only what the owner could delete
                        self._check_deletable(task, self.clock.now())
                    except DomainError:
                        break
                    return task
        raise NotFound("resource_not_exist", f"Task {task_id} does not exist.")

    def _check_deletable(self, task: Task, now: float) -> None:
        status, _ = task.status_at(now)
        faults = self._faults
        if status not in FINAL:
            if "delete-pending-accepted" in faults or (
                    status == "indexing" and "delete-accepted-while-indexing" in faults):
                return
            code = ("parameter_invalid" if "unfinished-refusal-wrong-code" in faults
                    else "task_cannot_be_deleted")
            raise Refused(code, f"The task is {status}; only ready or failed tasks can be "
                          "deleted.")
        if status == "failed":
            if "delete-failed-refused" in faults:
                raise Refused("task_cannot_be_deleted", "The task has failed.")
            if "delete-failed-404" in faults:
                raise NotFound("resource_not_exist", f"Task {task.id} does not exist.")
        elif task.video_exists(now) and not self._video_check_waived(task):
            raise Refused("task_cannot_be_deleted", f"Delete video {task.video_id} first; a "
                          "ready task cannot be deleted while its video exists.")

    def _video_check_waived(self, task: Task) -> bool:
        if "delete-ready-with-video-accepted" in self._faults:
            return True
        index = self._account(task.account).indexes.get(task.index_id)
        return ("any-video-unlocks-index" in self._faults and index is not None
                and index.any_video_deleted)

    def _bury(self, task: Task) -> None:
        """Remove a live task for good, keeping its tombstone (and saving both)."""
        acc = self._account(task.account)
        del acc.tasks[task.id]
        acc.by_index.get(task.index_id, {}).pop(task.id, None)
        acc.timeline.remove([task])
        acc.tombstones[task.id] = task
        if self._persist:
            self._persist.bury_task(task)

    def _bury_oldest_other(self, task: Task) -> None:
        """Faults that delete more than they name take the oldest other task of the index."""
        siblings = self._account(task.account).by_index.get(task.index_id, {})
        oldest = next((t for t in siblings.values() if t.id != task.id), None)  # creation order
        if oldest is not None:
            self._bury(oldest)

    def _rename_others(self, task: Task, filename: str) -> None:
        acc = self._account(task.account)
        others = [t for t in acc.by_index.get(task.index_id, {}).values() if t.id != task.id]
        acc.timeline.relabel(others, "filename", filename)
        if self._persist:
            for other in others:
                self._persist.put_task(other)

    def delete_video(self, account: str, index_id: str, video_id: str) -> None:
        with self._lock:
            if index_id not in self._account(account).indexes and \
                    "foreign-video-delete" in self._faults:
                account = self._owner_of(index_id) or account
            acc = self._account(account)
            index = self.get_index(account, index_id)
            now = self.clock.now()
            task = next((t for t in acc.by_index.get(index_id, {}).values()
                         if t.video_id == video_id and t.video_exists(now)), None)
            if task is None:
                raise NotFound("resource_not_exist", f"Video {video_id} does not exist in index "
                               f"{index_id} (a video joins its index when its task is ready).")
            if "video-delete-refused" in self._faults:
                raise Invalid("parameter_invalid", f"Video {video_id} cannot be deleted.")
            task.video_deleted = True
            if self._persist:
                self._persist.put_task(task)
            if not index.any_video_deleted:
                index.any_video_deleted = True
                if self._persist:
                    self._persist.put_index(index)
            if "video-delete-removes-neighbour" in self._faults:
                self._bury_oldest_other(task)

    # --- listing ---------------------------------------------------------------------------
    def list_tasks(self, account: str, query: ListQuery) -> tuple[list[Task], int, float]:
        """One page, the total count, and the instant whose statuses the page shows."""
        self._revive()
        with self._lock:
            acc = self._account(account)
            if query.index_id is not None and query.index_id not in acc.indexes \
                    and "foreign-list-by-index" in self._faults:
                acc = next((other for other in self._accounts.values()
                            if query.index_id in other.indexes), acc)
            # an index_id that names no index (lenient-queries lets any text through) is empty
            source = (acc.tasks if query.index_id is None
                      else acc.by_index.get(query.index_id, {}))
            now = acc.timeline.advance(self.clock.now())
            ghosts_shown = "deleted-task-still-listed" in self._faults or (
                "deleted-task-listed-by-status" in self._faults and query.statuses is not None)
            newest = next(reversed(source.values()), None)
            if newest is not None and self._hidden(newest, now):
                # new tasks come last in creation order: leave out those not yet seen
                seen = [t for t in source.values() if not self._hidden(t, now)]
                page, total = listing.scan(seen, lambda t: t.status_at(now), query)
            elif ghosts_shown and acc.tombstones:
                ghosts = [t for t in acc.tombstones.values()
                          if query.index_id in (None, t.index_id)]
                page, total = listing.scan([*source.values(), *ghosts],
                                           lambda t: t.status_at(now), query)
            else:
                page, total = listing.answer(source, acc.timeline, query)
            if "deleted-task-listed-on-last-page" in self._faults and acc.tombstones \
                    and query.unfiltered() and query.page > 1 \
                    and query.page == -(-total // query.page_limit):
                page = [*page, next(reversed(acc.tombstones.values()))]  # the latest deleted
            return page, total, now
