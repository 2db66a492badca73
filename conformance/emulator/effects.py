"""Carrying out what the delete_effects rule decided: bury, bring back later, rename, fail
now, end failed, forget a video. Only here does a task's schedule change after its create."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from conformance.emulator.asks import Effect
from conformance.emulator.lifecycle import Schedule
from conformance.emulator.model import Task

if TYPE_CHECKING:
    from conformance.emulator.store import Store


def apply(store: Store, effects: Iterable[Effect], now: float) -> None:
    for effect in effects:
        task, acc = effect.task, store.account(effect.task.account)
        live = acc.tasks.get(task.id) is task
        if effect.kind == "revive":
            store.revive_at(now + effect.after, task)
        elif not live:
            continue  # a task already gone keeps nothing to change
        elif effect.kind == "bury":
            store.bury(task, now)
        elif effect.kind == "rename":
            acc.timeline.relabel([task], "filename", effect.value)
            store.save(task)
        elif effect.kind == "fail" and task.status_at(now)[0] != "failed":
            past = [(s, t) for s, t in zip(task.schedule.statuses, task.schedule.starts,
                                           strict=True) if t <= now]
            _reschedule(store, task, Schedule((*(t for _, t in past), now),
                                              (*(s for s, _ in past), "failed")))
        elif effect.kind == "end-failed":
            task.failure = task.failure or "video_file_broken"
            _reschedule(store, task, Schedule(task.schedule.starts,
                                              (*task.schedule.statuses[:-1], "failed")))
        elif effect.kind == "forget-video":
            task.video_deleted = True
            store.save(task)
            index = acc.indexes.get(task.index_id)
            if index is not None and not index.any_video_deleted:
                index.any_video_deleted = True
                store.save_index(index)


def _reschedule(store: Store, task: Task, schedule: Schedule) -> None:
    """A rule's harm, never the lifecycle's: the task's cohort changes with its schedule."""
    timeline = store.account(task.account).timeline
    timeline.remove([task])
    task.schedule = schedule
    timeline.add(task)
    store.save(task)
