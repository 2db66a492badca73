"""What an owner reads of its own indexes (``GET /indexes``, as the vendor's list has it).

Not in the suite's spec, so no test of the suite sends it: the project's own tests count with
it what a run left on an emulator, and ``conformance cleanup --sweep`` finds the indexes a run
made by their names. Kept apart from the store's rules (store.py is at its size limit).
"""

from __future__ import annotations

from conformance.emulator.model import Index
from conformance.emulator.store import Store

__all__ = ["indexes"]


def indexes(store: Store, account: str) -> list[tuple[Index, int]]:
    """The account's indexes, oldest first, each with the number of videos it holds."""
    with store._lock:
        acc = store._account(account)
        now = store.clock.now()
        return [(index, sum(1 for t in acc.by_index.get(index.id, {}).values()
                            if t.video_exists(now))) for index in acc.indexes.values()]
