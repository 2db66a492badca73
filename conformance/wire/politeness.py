"""Politeness towards a target: one pace limit, one reading of Retry-After, one backoff, for
every request the run sends (the client's and the property tests' guard's alike), and the
check of a run's transcript that it kept them.

RATE-LIMIT binds the suite, never the target: ``rate_limit_problems`` returns sentences for
a harness error, never a ContractViolation.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from conformance.wire.transcript import Exchange

__all__ = ["MAX_WAIT", "PATIENCE", "Pacer", "RateLimitWaits", "Timed", "backoff_delay",
           "rate_limit_problems", "retry_after_seconds", "wait_after_429"]

MAX_WAIT = 60.0
"""No single wait for a rate limit lasts longer than this, whatever the target asks."""
PATIENCE = 300.0
"""Seconds of waiting one request is given for 429s in a row before the suite gives up on
the target (a harness error, never a clause): runs of 429s are normal on a live target, so
the bound is time, not a small number of attempts."""
MIN_COUNTED = 0.25
"""The least wait after a 429, and so what each counts at least against PATIENCE: a target
answering 429 with ``Retry-After: 0`` is not sent the same request in a tight loop, and still
exhausts the patience (after PATIENCE / MIN_COUNTED sends)."""

def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delay-seconds or HTTP-date), None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, rng: random.Random | None = None, *, base: float = 0.5,
                  cap: float = MAX_WAIT) -> float:
    """Exponential backoff with full jitter for retry number ``attempt`` (0-based), capped."""
    ceiling = min(cap, base * 2 ** attempt)
    return (rng or random).uniform(ceiling / 2, ceiling)


class Pacer:
    """Hands out send slots at most ``rate`` per second, across all threads."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None]) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


def wait_after_429(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait before sending a request again that was answered 429: what Retry-After
    asks, else exponential backoff, never more than MAX_WAIT."""
    asked = retry_after_seconds(retry_after)
    return min(MAX_WAIT, backoff_delay(attempt) if asked is None else asked)


def counted(wait: float) -> float:
    """What one wait spends of a request's PATIENCE."""
    return max(MIN_COUNTED, wait)


class RateLimitWaits:
    """The 429s in a row of one request: how long to wait before each send again, until the
    request has waited ``patience`` seconds (then ``next`` says None: give up)."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self.attempts = 0
        self.spent = 0.0

    def next(self, retry_after: str | None) -> float | None:
        """The wait before sending again after one more 429 (None: patience is spent)."""
        wait = counted(wait_after_429(retry_after, self.attempts))
        if self.spent + wait > self.patience:
            return None
        self.attempts += 1
        self.spent += wait
        return wait

    def gave_up(self, what: str) -> str:
        """The sentence of a harness error once ``next`` said None."""
        return (f"{what}: still rate limited (429) after {self.attempts + 1} sends and "
                f"{self.spent:.1f} s of waiting (the suite waits out {self.patience:g} s of "
                "429s in a row per request)")


MIN_BACKOFF = 0.2
"""The least wait accepted after a 429 without a usable Retry-After (the backoff's first wait
is at least 0.25 s)."""
TOLERANCE = 0.02
"""Seconds of clock reading noise forgiven when comparing a gap with the wait asked for."""
RETRY_WINDOW = 30.0
"""Seconds past the wait asked for within which the retry must leave (pacing across threads
may delay it); the same request sent later is a new request, not the retry."""


@dataclass(frozen=True)
class Timed:
    """An exchange with the moments around it (None: it was recorded before timing began)."""

    exchange: Exchange
    received: float | None = None
    """time.monotonic() when its answer was recorded."""
    wall: float | None = None
    """time.time() at the same moment, to read a Retry-After given as an HTTP date."""

    @property
    def sent(self) -> float | None:
        return None if self.received is None else self.received - self.exchange.elapsed_ms / 1000

    @property
    def request(self) -> tuple[str, str, str]:
        return self.exchange.method, self.exchange.url, self.exchange.key_label


def retry_after(exchange: Exchange) -> str | None:
    return next((v for k, v in exchange.response_headers.items()
                 if k.lower() == "retry-after"), None)


def wait_asked(item: Timed) -> float:
    """Seconds the 429 asked for: Retry-After (capped like the client caps it), else backoff."""
    now = datetime.fromtimestamp(item.wall, UTC) if item.wall is not None else None
    seconds = retry_after_seconds(retry_after(item.exchange), now)
    return MIN_BACKOFF if seconds is None else min(MAX_WAIT, seconds)


def rate_limit_problems(timeline: Sequence[Timed],
                        patience: float = PATIENCE) -> list[str]:
    """One sentence per 429 the suite did not honour: the same request (method, URL, key) sent
    again sooner than asked, or not sent again while it had patience left (RateLimitWaits)."""
    problems = []
    for i, item in enumerate(timeline):
        if item.exchange.status != 429:
            continue
        what, asked = f"{item.exchange.method} {item.exchange.url}", wait_asked(item)
        # The same request sent before this 429 arrived (by another thread) is no retry of it:
        # a retry can only start once the 429 is in.
        later = next((t for t in timeline[i + 1:] if t.request == item.request and (
            t.sent is None or item.received is None or t.sent >= item.received)), None)
        gap = None if later is None or later.sent is None or item.received is None \
            else later.sent - item.received
        if gap is not None and gap + TOLERANCE < asked:
            header = retry_after(item.exchange)
            reason = f"Retry-After: {header}" if header is not None else "no Retry-After: backoff"
            problems.append(f"{what}: sent again {gap:.3f} s after a 429 that asked for "
                            f"{asked:.3f} s ({reason})")
            continue
        retried = later is not None and (gap is None or gap <= asked + RETRY_WINDOW)
        spent, streak = _waited_so_far(timeline, i)
        if not retried and spent + counted(_most_asked(item, streak)) <= patience:
            problems.append(f"{what}: answered 429 and not sent again within {RETRY_WINDOW:g} s "
                            f"of the {asked:.3f} s it asked for (after {spent:.1f} s of the "
                            f"{patience:g} s of 429s in a row the suite waits out); a "
                            "rate-limited request must be retried")
    return problems


def _waited_so_far(timeline: Sequence[Timed], i: int) -> tuple[float, int]:
    """What the 429s in a row before the one at ``i`` (same request) spent of its patience,
    from the gaps the suite actually waited, and how many there were."""
    item, spent, streak = timeline[i], 0.0, 0
    later = item
    for earlier in reversed(timeline[:i]):
        if earlier.request != item.request:
            continue
        if earlier.exchange.status != 429:
            break
        gap = None if later.sent is None or earlier.received is None \
            else later.sent - earlier.received
        spent += counted(wait_asked(earlier) if gap is None else gap)
        streak += 1
        later = earlier
    return spent, max(streak, item.exchange.attempt)


def _most_asked(item: Timed, attempt: int) -> float:
    """The longest wait the suite may have drawn after this 429 (backoff has jitter)."""
    header = retry_after(item.exchange)
    if header is not None and retry_after_seconds(header) is not None:
        return wait_asked(item)
    return min(MAX_WAIT, 0.5 * 2 ** attempt)
