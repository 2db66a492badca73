"""List pages served from kept orders equal a scan of every task, however the clock moves."""

from __future__ import annotations

import random

import pytest

from conformance.emulator.faults import fault_patches
from conformance.emulator.lifecycle import Clock
from conformance.emulator.listing import scan
from conformance.emulator.media import Probe
from conformance.emulator.model import ListQuery
from conformance.emulator.mutants import MUTANTS
from conformance.emulator.patches import after
from conformance.emulator.rules import Patch, Rules
from conformance.emulator.store import Store
from conformance.emulator.views import list_page

ACCOUNT = "a" * 32
READY = Probe(None, 5.0, 480, 360)
# metadata values shared by some tasks only, so value indexes and filters intersect
SHAPES = [Probe(None, 5.0, 480, 360), Probe(None, 7.5, 480, 720), Probe(None, 5.0, 640, 360)]
NAMES = ["a.mp4", "b.mp4", "c.mp4"]
RENAMED = "renamed.mp4"  # what delete-renames-neighbours calls every other task of an index
BROKEN = Probe("video_file_broken", None, None, None)


# A patch that changes nothing but makes every list ask the view and filter rules task by
# task instead of reading the kept orders: both ways must give the same pages.
ASKING = (after("shown", lambda ask, shown: shown), after("matches", lambda ask, kept: kept))
PATCHES: dict[str, tuple[Patch, ...]] = {
    "clean": (), "renames": tuple(fault_patches(["delete-renames-neighbours"])),
    "asking": ASKING, "revisits": tuple(fault_patches(["status-goes-backwards"])),
    # schedules cut short (a task turned failed) and deleted tasks brought back
    "fails": MUTANTS["delete_effects.fails-ready-neighbour.failed-deleted"].patches,
    "revives": MUTANTS["delete_effects.back-after-2s.failed"].patches}


def _queries(indexes: list[str], rng: random.Random) -> list[ListQuery]:
    statuses = [None, frozenset({"ready"}), frozenset({"validating", "failed"}),
                frozenset({"pending", "queued", "indexing"})]
    return [ListQuery(page=rng.randint(1, 4), page_limit=rng.choice([1, 3, 10, 50]),
                      sort_by=rng.choice(["created_at", "updated_at"]),
                      descending=rng.random() < 0.5,
                      index_id=rng.choice([None, *indexes]), statuses=rng.choice(statuses),
                      filename=rng.choice([None, None, *NAMES, RENAMED]),
                      duration=rng.choice([None, None, 5.0, 7.5]),
                      width=rng.choice([None, None, 480, 640, 1]),
                      height=rng.choice([None, None, 360, 720]),
                      created_at=rng.choice([None, None, 1001.0]),
                      updated_at=rng.choice([None, None, 1000.5]))
            for _ in range(16)]


def _expected(store: Store, query: ListQuery, now: float) -> tuple[list[str], int]:
    live = [t for t in store.accounts[ACCOUNT].tasks.values()
            if query.index_id in (None, t.index_id)]
    page, total = scan(live, lambda t: t.status_at(now), query)
    return [t.id for t in page], total


@pytest.mark.parametrize(("patched", "seed"), [
    (patched, seed) for patched in sorted(PATCHES) for seed in range(10 if patched == "clean"
                                                                      else 3)])
def test_pages_match_a_full_scan_through_creates_deletes_and_clock_moves(
        seed: int, patched: str) -> None:
    rng = random.Random(seed)
    clock = Clock.manual(start=1000.0)
    store = Store(clock, Rules(PATCHES[patched]))
    indexes = [store.create_index(ACCOUNT, f"i{i}", []).id for i in range(3)]
    for _ in range(40):
        action = rng.random()
        if action < 0.5:
            for _ in range(rng.randint(1, 30)):
                store.add_task(ACCOUNT, rng.choice(indexes), filename=rng.choice(NAMES),
                               probe=rng.choice(SHAPES) if rng.random() < 0.6 else BROKEN)
        elif action < 0.6:
            final = [t for t in store.accounts[ACCOUNT].tasks.values()
                     if t.status_at(clock.now())[0] == "failed"]
            # a few deletes are filed one by one, many at once mark the orders for a rebuild
            for task in rng.sample(final, min(len(final), rng.choice([1, 5, 80]))):
                store.delete_task(ACCOUNT, task.id)
        elif action < 0.66 and len(indexes) > 1:
            store.delete_index(ACCOUNT, indexes.pop(rng.randrange(len(indexes))))
        # small steps move a few tasks, long ones move most of them at once
        clock.advance(rng.choice([0.0, 0.05, 0.3, 0.31, 1.0, 30.0]))
        for query in _queries(indexes, rng):
            page, info, now = list_page(store, ACCOUNT, query)
            assert ([t.id for t in page], info["total_results"]) == _expected(store, query, now)


def test_a_page_filtered_by_status_shows_its_tasks_in_that_status() -> None:
    clock = Clock.manual(start=1000.0)
    store = Store(clock)
    index = store.create_index(ACCOUNT, "i", []).id
    for _ in range(5):
        store.add_task(ACCOUNT, index, filename="c.mp4", probe=READY)
        clock.advance(0.2)
    page, info, now = list_page(store, ACCOUNT, ListQuery(statuses=frozenset({"queued"})))
    assert info["total_results"] == len(page) >= 1
    assert all(t.status_at(now)[0] == "queued" for t in page)
