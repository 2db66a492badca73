"""The suite's own handling of 429s, judged from the run's transcript.

RATE-LIMIT binds the suite, never the target: these functions return problems as sentences
for a harness error, not ContractViolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from conformance.client import MAX_WAIT, Exchange, retry_after_seconds

ATTEMPTS = 6
"""Sends of one request before the suite gives up on a target that keeps answering 429 (the
client's default max_retries + 1, and the property tests' guard)."""
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


def rate_limit_problems(timeline: Sequence[Timed]) -> list[str]:
    """One sentence per 429 the suite did not honour: the same request (method, URL, key) sent
    again sooner than asked, or not sent again while the suite still had attempts left."""
    problems = []
    for i, item in enumerate(timeline):
        if item.exchange.status != 429:
            continue
        what, asked = f"{item.exchange.method} {item.exchange.url}", wait_asked(item)
        later = next((t for t in timeline[i + 1:] if t.request == item.request), None)
        gap = None if later is None or later.sent is None or item.received is None \
            else later.sent - item.received
        if gap is not None and gap + TOLERANCE < asked:
            header = retry_after(item.exchange)
            reason = f"Retry-After: {header}" if header is not None else "no Retry-After: backoff"
            problems.append(f"{what}: sent again {gap:.3f} s after a 429 that asked for "
                            f"{asked:.3f} s ({reason})")
            continue
        retried = later is not None and (gap is None or gap <= asked + RETRY_WINDOW)
        streak = _attempts_so_far(timeline, i)
        if not retried and streak < ATTEMPTS:
            problems.append(f"{what}: answered 429 and not sent again within {RETRY_WINDOW:g} s "
                            f"of the {asked:.3f} s it asked for (attempt {streak} of "
                            f"{ATTEMPTS}); a rate-limited request must be retried")
    return problems


def _attempts_so_far(timeline: Sequence[Timed], i: int) -> int:
    """How many 429s in a row the request at ``i`` has had, itself included."""
    item, streak = timeline[i], 1
    for earlier in reversed(timeline[:i]):
        if earlier.request != item.request:
            continue
        if earlier.exchange.status != 429:
            break
        streak += 1
    return max(streak, item.exchange.attempt + 1)
