"""busy-account: an account that already holds thousands of tasks, and other people at work in
it (and in another account) while a run goes on, as on a shared live account."""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Sequence

from conformance.emulator.media import Probe
from conformance.emulator.model import DomainError, Task
from conformance.emulator.store import Store

EARLIER_TASKS = 3_000
EARLIER_INDEXES = 3
SPREAD = 6 * 3600.0  # the earlier tasks were created over the six hours before start-up
PAUSE = 0.1  # seconds between two of the others' operations
KEPT = 40  # the others delete their oldest final tasks past this many


def populate(store: Store, accounts: Sequence[str], rng: random.Random) -> None:
    """The first account's earlier tasks, final long ago, in indexes of their own."""
    first = accounts[0]
    now = store.clock.now()
    indexes = [store.create_index(first, f"archive-{i}", []).id for i in range(EARLIER_INDEXES)]
    ready, broken = Probe(None, 12.0, 1280, 720), Probe("video_file_broken")
    for n in range(EARLIER_TASKS):
        store.create_task(first, indexes[n % EARLIER_INDEXES], filename=f"archive-{n:05d}.mp4",
                          probe=broken if rng.random() < 0.1 else ready,
                          at=now - SPREAD + n * SPREAD / EARLIER_TASKS - 60.0)


def start_others(store: Store, accounts: Sequence[str], rng: random.Random) -> threading.Event:
    """A daemon thread creating and deleting tasks in indexes of its own, in the first account
    and in the second (when there is one), until the event is set or the store is gone."""
    stop = threading.Event()
    places = [(account, store.create_index(account, f"colleague-{i}", []).id)
              for i, account in enumerate(accounts[:2])]
    thread = threading.Thread(target=_work, args=(weakref.ref(store), places, rng, stop),
                              name="emulator-others", daemon=True)
    thread.start()
    return stop


def _work(ref: weakref.ReferenceType[Store], places: list[tuple[str, str]],
          rng: random.Random, stop: threading.Event) -> None:
    mine: list[Task] = []
    while not stop.wait(PAUSE):
        store = ref()
        if store is None:
            return
        account, index_id = rng.choice(places)
        try:
            if len(mine) < KEPT or rng.random() < 0.5:
                probe = Probe("video_file_broken") if rng.random() < 0.3 else Probe(
                    None, rng.choice((6.0, 30.0, 95.5)), 1920, 1080)
                mine.append(store.create_task(account, index_id, probe=probe,
                                              filename=f"meeting-{rng.randrange(10**6)}.mp4"))
            else:
                _delete_one(store, mine)
        except DomainError:
            pass  # an index of theirs removed meanwhile, or a task not final yet
        del store


def _delete_one(store: Store, mine: list[Task]) -> None:
    """Delete the oldest of their tasks that is final: a ready one's video first."""
    now = store.clock.now()
    for task in mine:
        status = task.status_at(now)[0]
        if status == "ready" and not task.video_deleted:
            store.delete_video(task.account, task.index_id, task.video_id)
        if status in ("ready", "failed"):
            mine.remove(task)
            store.delete_task(task.account, task.id)
            return
