"""Accounts, indexes, videos and tasks: the state, and where each rule is asked (rules.py
decides; the store builds the question and carries out the answer). No HTTP types in here."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.emulator import effects, lifecycle
from conformance.emulator.asks import (
    Answer,
    CreateAsk,
    DeleteAsk,
    DoneAsk,
    Effect,
    EffectAsk,
    MissingAsk,
    Neighbours,
    PlanAsk,
    ReachAsk,
    ShowAsk,
    VideoAsk,
)
from conformance.emulator.lifecycle import Clock
from conformance.emulator.media import Probe
from conformance.emulator.model import DomainError, Index, NotFound, Task, new_id
from conformance.emulator.rules import Rules
from conformance.emulator.timeline import Timeline, in_order

WELL_FORMED = re.compile(r"[0-9a-f]{24}")


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
    deleted_at: dict[str, float] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)  # clock-dependent orders of tasks


class Persistence(Protocol):
    def put_index(self, index: Index) -> None: ...
    def drop_index(self, index_id: str) -> None: ...
    def put_task(self, task: Task) -> None: ...
    def drop_task(self, task_id: str) -> None: ...
    def bury_task(self, task: Task) -> None: ...
    def clear(self) -> None: ...


class Store:
    """All state of one emulator; every status-dependent decision is taken under one lock."""

    def __init__(self, clock: Clock, rules: Rules | None = None, *,
                 persistence: Persistence | None = None) -> None:
        self.clock = clock
        self.rules = rules or Rules()
        self._persist = persistence
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self._seq = 0
        self._last_created = 0.0
        self._revivals: list[tuple[float, Task]] = []  # deleted tasks a rule brings back

    def account(self, account: str) -> Account:
        acc = self.accounts.get(account)
        if acc is None:
            acc = self.accounts[account] = Account()
        return acc

    # --- loading and resetting -------------------------------------------------------------
    def load(self, indexes: Iterable[Index], tasks: Iterable[Task],
             tombstones: Iterable[Task] = ()) -> None:
        """Restore saved state; ``tombstones`` in the order the tasks were deleted."""
        with self.lock:
            for index in indexes:
                self._add_index(index)
            for task in sorted(tasks, key=lambda t: t.seq):
                self._add_task(task)
                self._seq = max(self._seq, task.seq)
                self._last_created = max(self._last_created, task.created_at)
            for task in tombstones:
                self.account(task.account).tombstones[task.id] = task
                self._seq = max(self._seq, task.seq)

    def holds_tasks(self, account: str) -> bool:
        acc = self.accounts.get(account)
        return acc is not None and bool(acc.tasks or acc.tombstones)

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self._revivals.clear()
            if self._persist:
                self._persist.clear()

    # --- indexes ---------------------------------------------------------------------------
    def create_index(self, account: str, name: str, models: list[dict[str, Any]]) -> Index:
        with self.lock:
            # names need not be unique: the suite's temporary indexes must never collide
            index = Index(new_id(), account, name, models, self.clock.now())
            self._add_index(index)
            if self._persist:
                self._persist.put_index(index)
            return index

    def _add_index(self, index: Index) -> None:
        acc = self.account(index.account)
        acc.indexes[index.id] = index
        acc.by_index.setdefault(index.id, {})

    def get_index(self, account: str, index_id: str) -> Index:
        index = self.account(account).indexes.get(index_id)
        if index is None:
            raise NotFound("resource_not_exist", f"Index {index_id} does not exist.")
        return index

    def delete_index(self, account: str, index_id: str) -> Answer:
        """Deleting an index removes its videos and its tasks with it."""
        with self.lock:
            acc = self.account(account)
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
            return self._done("delete_index", "index")

    # --- tasks -----------------------------------------------------------------------------
    def create_task(self, account: str, index_text: str | None, *, source: str,
                    probe: Probe | None, filename: str, enable_stream: bool = True,
                    user_metadata: dict[str, Any] | None = None) -> Task | None:
        """A create as the rules admit it: the task made (None: success pretended)."""
        with self.lock:
            acc = self.account(account)
            index = acc.indexes.get(index_text or "")
            subject = "valid"
            if index_text is None:
                subject = "missing-index"
            elif not WELL_FORMED.fullmatch(index_text):
                subject = "malformed-index"
            elif index is None:
                index = self._foreign_index(account, index_text)
                subject = "unknown-index" if index is None else "valid"
                if index is not None and not self.reaches("create_task", account,
                                                           index.account, "index"):
                    index, subject = None, "foreign-index"
            newest = next(reversed(acc.indexes.values()), None)
            # no video source is refused before anything about the index
            admitted = self.rules.may_create(CreateAsk(
                "no-source" if source == "none" else subject, index, newest, probe, source,
                subject))
            task = None
            if admitted.index is not None and admitted.probe is not None:
                task = self.add_task(admitted.index.account, admitted.index.id,
                                     probe=admitted.probe, filename=filename,
                                     enable_stream=enable_stream, user_metadata=user_metadata)
            if admitted.refusal is not None:
                raise admitted.refusal
            if task is None and not admitted.pretend:
                raise DomainError("parameter_invalid", "Nothing to create.")
            return task

    def _foreign_index(self, account: str, index_id: str) -> Index | None:
        return next((other.indexes[index_id] for key, other in self.accounts.items()
                     if key != account and index_id in other.indexes), None)

    def add_task(self, account: str, index_id: str, *, probe: Probe, filename: str,
                 enable_stream: bool = True, user_metadata: dict[str, Any] | None = None,
                 at: float | None = None) -> Task:
        """A new task in an index the caller was admitted to; ``at`` backdates its creation
        (a busy account's earlier tasks)."""
        with self.lock:
            now = max(self.clock.now(), self._last_created) if at is None else at
            self._last_created = max(now, self._last_created)
            self._seq += 1
            plan = self.rules.schedule(PlanAsk(probe))
            schedule = lifecycle.plan(now, plan.phases, plan.final,
                                      stretch=self.rules.env.time_scale)
            task = Task(new_id(), account, index_id, new_id(), self._seq, now, schedule,
                        filename, enable_stream, probe.failure, probe.duration, probe.width,
                        probe.height, user_metadata)
            self._add_task(task)
            if self._persist:
                self._persist.put_task(task)
            return task

    def _add_task(self, task: Task) -> None:
        acc = self.account(task.account)
        in_order(acc.tasks, task)
        in_order(acc.by_index.setdefault(task.index_id, {}), task)
        acc.timeline.add(task)

    # --- the one place each of these rules is asked ---------------------------------------
    def reaches(self, operation: str, caller: str, owner: str, subject: str) -> bool:
        """Whether ``caller`` may act on what ``owner`` holds (its own, always)."""
        return caller == owner or self.rules.reach(ReachAsk(operation, caller, owner, subject))

    def shows(self, view: str, task: Task, deleted_at: float | None, now: float) -> bool:
        return self.rules.shown(ShowAsk(view, task, deleted_at, now))

    def _changes(self, operation: str, task: Task, subject: str,
                 refusal: DomainError | None, now: float) -> None:
        self._apply(self.rules.delete_effects(EffectAsk(
            operation, task, subject, refusal, self._neighbours(task, now))), now)

    def _done(self, operation: str, subject: str) -> Answer:
        return self.rules.deleted_answer(DoneAsk(operation, subject))

    def subject(self, task: Task, now: float) -> str:
        """What a task is to the rules: its status, with where an unfinished one is bound and
        whether a ready one still has its video."""
        status = task.status_at(now)[0]
        if status == "ready":
            return "ready-without-video" if task.video_deleted else "ready-with-video"
        if status == "failed" or task.schedule.final_status == "ready":
            return status
        return f"{status}-to-failed" if status in ("validating", "pending") else status

    def find(self, account: str, task_id: str, operation: str, view: str) -> Task | None:
        """The task ``task_id`` as ``operation`` may see it in ``view``: the caller's own, live
        (or deleted, when the view shows it), or another account's the caller reaches."""
        self.tick()
        now = self.clock.now()
        acc = self.account(account)
        task = acc.tasks.get(task_id)
        if task is not None:
            return task if self.shows(view, task, None, now) else None
        gone = acc.tombstones.get(task_id)
        if gone is not None:
            deleted_at = acc.deleted_at.get(task_id, 0.0)
            return gone if view != "delete" and self.shows(view, gone, deleted_at, now) else None
        for key, other in self.accounts.items():
            task = other.tasks.get(task_id)
            if key != account and task is not None and self.reaches(
                    operation, account, key, self.subject(task, now)):
                return task if self.shows(view, task, None, now) else None
        return None

    def missing(self, account: str, task_id: str, operation: str) -> Answer:
        """What an ID that names nothing the caller may see answers (raised when an error)."""
        acc = self.account(account)
        history = "deleted" if task_id in acc.tombstones else "never"
        for key, other in self.accounts.items():
            if key != account and task_id in other.tasks:
                history = "foreign"
            elif key != account and task_id in other.tombstones and history == "never":
                history = "foreign-deleted"
        answer = self.rules.missing(MissingAsk(operation, task_id, history))
        if isinstance(answer, DomainError):
            raise answer
        return answer

    def retrieve(self, account: str, task_id: str) -> Task | Answer:
        with self.lock:
            task = self.find(account, task_id, "retrieve_task", "retrieve")
            return self.missing(account, task_id, "retrieve_task") if task is None else task

    def near(self, account: str, text: str) -> str | None:
        """The live task of the account a malformed ID is a near miss of (None: none)."""
        tasks = self.account(account).tasks
        for candidate in (text.strip(), text.lower(), text[:24], text[1:25]):
            if candidate in tasks:
                return candidate
        if len(text) == 23:
            return next((t for t in tasks if t.startswith(text) or t.endswith(text)), None)
        return None

    def delete_task(self, account: str, task_id: str) -> Answer:
        with self.lock:
            task = self.find(account, task_id, "delete_task", "delete")
            if task is None:
                return self.missing(account, task_id, "delete_task")
            now = self.clock.now()
            subject = self.subject(task, now)
            index = self.account(task.account).indexes.get(task.index_id)
            refusal = self.rules.may_delete(DeleteAsk(
                task, subject, index is not None and index.any_video_deleted, account))
            self._changes("delete_task", task, subject, refusal, now)
            if refusal is not None:
                raise refusal
            return self._done("delete_task", subject)

    def delete_video(self, account: str, index_id: str, video_id: str) -> Answer:
        with self.lock:
            self.tick()
            now = self.clock.now()
            index = self.account(account).indexes.get(index_id) or self._foreign_index(
                account, index_id)
            if index is None:
                raise NotFound("resource_not_exist", f"Index {index_id} does not exist.")
            task = next((t for t in self.account(index.account).by_index.get(index_id, {})
                         .values() if t.video_id == video_id and t.video_exists(now)), None)
            subject = "none" if task is None else self.subject(task, now)
            if not self.reaches("delete_video", account, index.account, subject):
                raise NotFound("resource_not_exist", f"Index {index_id} does not exist.")
            refusal = self.rules.may_delete_video(VideoAsk(task, video_id, subject))
            if task is not None:
                self._changes("delete_video", task, subject, refusal, now)
            if refusal is not None:
                raise refusal
            return self._done("delete_video", "video")

    # --- what deletes do (effects.py carries out the rest) --------------------------------
    def _neighbours(self, task: Task, now: float) -> Neighbours:
        acc = self.account(task.account)

        def same_index() -> list[Task]:
            return [t for t in acc.by_index.get(task.index_id, {}).values() if t.id != task.id]

        def other_indexes() -> list[Task]:
            return [t for t in acc.tasks.values() if t.index_id != task.index_id]

        return Neighbours(same_index, other_indexes, now)

    def _apply(self, changes: Iterable[Effect], now: float) -> None:
        effects.apply(self, changes, now)

    def save(self, task: Task) -> None:
        if self._persist:
            self._persist.put_task(task)

    def save_index(self, index: Index) -> None:
        if self._persist:
            self._persist.put_index(index)

    def bury(self, task: Task, now: float) -> None:
        """Remove a live task for good, keeping its tombstone (and saving both)."""
        acc = self.account(task.account)
        del acc.tasks[task.id]
        acc.by_index.get(task.index_id, {}).pop(task.id, None)
        acc.timeline.remove([task])
        acc.tombstones[task.id] = task
        acc.deleted_at[task.id] = now
        if self._persist:
            self._persist.bury_task(task)

    def revive_at(self, when: float, task: Task) -> None:
        self._revivals.append((when, task))

    def tick(self) -> None:
        """Deleted tasks a rule brings back come back when their time comes."""
        if not self._revivals:
            return
        now = self.clock.now()
        due = [t for at, t in self._revivals if at <= now]
        self._revivals = [(at, t) for at, t in self._revivals if at > now]
        for task in due:
            acc = self.account(task.account)
            if acc.tombstones.pop(task.id, None) is not None:
                acc.deleted_at.pop(task.id, None)
                if task.index_id in acc.indexes:
                    self._add_task(task)
                    self.save(task)
