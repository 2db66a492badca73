"""Task schedules, fixed when a task is created, and the clock they are read against."""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from dataclasses import dataclass

FINAL = frozenset({"ready", "failed"})
STATUSES = ("uploading", "validating", "pending", "queued", "indexing", "ready", "failed")

# Seconds each phase lasts at time scale 1: about 1.5 s from creation to ready, long enough
# for a client to see a non-final task, short enough for a test run.
PHASES_TO_READY: tuple[tuple[str, float], ...] = (
    ("validating", 0.3), ("pending", 0.3), ("queued", 0.3), ("indexing", 0.6),
)
# A task that fails does so while validating, as the service does for unusable media.
PHASES_TO_FAILED: tuple[tuple[str, float], ...] = (("validating", 0.6),)
# An unfetchable URL is noticed a little later, once the download was attempted.
PHASES_TO_FAILED_LATE: tuple[tuple[str, float], ...] = (("validating", 0.3), ("pending", 0.4))


class Clock:
    """Emulator time in epoch seconds: real time, scaled, or manual (scale 0, advanced by hand).

    Changing the scale re-bases the clock so time never jumps backwards.
    """

    def __init__(self, *, scale: float = 1.0, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._base_emulated = time.time() if start is None else start
        self._base_real = time.monotonic()
        self._scale = scale

    @classmethod
    def manual(cls, start: float | None = None) -> Clock:
        return cls(scale=0.0, start=start)

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        with self._lock:
            return self._base_emulated + (time.monotonic() - self._base_real) * self._scale

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._base_emulated += seconds
        return self.now()

    def set_scale(self, scale: float) -> None:
        if scale < 0:
            raise ValueError("the clock scale cannot be negative")
        now = self.now()
        with self._lock:
            self._base_emulated, self._base_real, self._scale = now, time.monotonic(), scale


@dataclass(frozen=True, slots=True)
class Schedule:
    """When each status begins, in emulator time; the last entry is the final status."""

    starts: tuple[float, ...]
    statuses: tuple[str, ...]

    @property
    def final_status(self) -> str:
        return self.statuses[-1]

    @property
    def final_at(self) -> float:
        return self.starts[-1]

    def status_at(self, now: float) -> tuple[str, float]:
        """The status at ``now`` and when it began (the task's ``updated_at``)."""
        if now >= self.starts[-1]:
            return self.statuses[-1], self.starts[-1]
        i = max(bisect_right(self.starts, now) - 1, 0)
        return self.statuses[i], self.starts[i]

    def to_json(self) -> list[list[object]]:
        return [[s, t] for s, t in zip(self.statuses, self.starts, strict=True)]

    @classmethod
    def from_json(cls, data: list[list[object]]) -> Schedule:
        return cls(tuple(float(t) for _, t in data), tuple(str(s) for s, _ in data))  # type: ignore[arg-type]


def plan(created_at: float, phases: tuple[tuple[str, float], ...], final: str, *,
         stretch: float = 1.0) -> Schedule:
    """A schedule that walks ``phases`` from ``created_at`` and ends in ``final``."""
    starts, statuses, t = [], [], created_at
    for status, seconds in phases:
        starts.append(t)
        statuses.append(status)
        t += seconds * stretch
    starts.append(t)
    statuses.append(final)
    return Schedule(tuple(starts), tuple(statuses))
