"""What every handler needs: the store, the switches, the accounts, and the request prelude."""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from email.utils import formatdate

from starlette.requests import Request
from starlette.responses import Response

from conformance.emulator.connections import Drops
from conformance.emulator.errors import ApiError
from conformance.emulator.faults import Switches
from conformance.emulator.store import Store, account_id

RATE_LIMIT_ENV = "CONFORMANCE_EMULATOR_RATE_LIMIT_EVERY"
STORM_ENV = "CONFORMANCE_EMULATOR_STORM_EVERY"
LATENCY_ENV = "CONFORMANCE_EMULATOR_LATENCY"
ADVISORY_LIMIT = 600  # the X-Ratelimit-Limit of advisory-headers, per 60-second window
# A suite run sends a few hundred requests: one in 25 turned away is a dozen or so 429s, each
# costing the run a second's wait, instead of the dozens a smaller period cost.
DEFAULT_RATE_LIMIT_EVERY = 25
# A storm is six 429s in a row: one more than a client that gives up after five retries takes.
# Every 200th request starts one, so a ci run (about 1,000 requests, most of them the property
# tests') meets four or five, a few seconds of waiting each.
STORM_LENGTH = 6
DEFAULT_STORM_EVERY = 200


def rate_limit_every(name: str = RATE_LIMIT_ENV, default: int = DEFAULT_RATE_LIMIT_EVERY,
                     minimum: int = 2) -> int:
    """A rate-limit period from the environment; a bad value is a ValueError saying so."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {text!r}")
    return int(text)


def latency_from_env() -> float:
    """The round-trip latency from the environment (0 when unset); a bad value is a ValueError."""
    text = os.environ.get(LATENCY_ENV, "").strip()
    if not text:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise ValueError(f"{LATENCY_ENV} must be a number of seconds, at least 0, got {text!r}")
    return seconds


class Context:
    def __init__(self, store: Store, switches: Switches, api_keys: tuple[str, ...]) -> None:
        self.store = store
        self.sw = switches
        # digests only: the keys themselves are not kept past start-up
        self._accounts = {account_id(k): account_id(k) for k in api_keys}
        self._first = account_id(api_keys[0])
        # Digests of look-alike keys (a fault's), never the keys themselves.
        self._lookalikes: dict[str, str] = {}
        if switches.fault("key-without-last-character-accepted"):
            self._lookalikes.update({account_id(k[:-1]): account_id(k) for k in api_keys})
        if switches.fault("key-case-insensitive"):
            self._lookalikes.update({account_id(k.lower()): account_id(k) for k in api_keys})
        self._counter = itertools.count(1)
        self._count_lock = threading.Lock()
        limiting = switches.variation("rate-limit") or switches.variation("rate-limit-bodiless")
        self.rate_every = rate_limit_every() if limiting else DEFAULT_RATE_LIMIT_EVERY
        self.storm_every = (rate_limit_every(STORM_ENV, DEFAULT_STORM_EVERY, STORM_LENGTH + 1)
                            if switches.variation("rate-limit-storms") else 0)
        self._advised = itertools.count()
        self.drops = Drops()  # requests keep-alive-drops closed unanswered

    def now(self) -> float:
        return self.store.clock.now()

    def rate_limited(self) -> Response | None:
        """Under a rate-limit variation, every Nth request is turned away before anything else;
        under rate-limit-storms, every Nth starts a run of STORM_LENGTH 429s."""
        bodiless = self.sw.variation("rate-limit-bodiless")
        periodic = bodiless or self.sw.variation("rate-limit")
        if not (periodic or self.storm_every):
            return None
        with self._count_lock:
            n = next(self._counter)
        if self.storm_every and n >= self.storm_every and n % self.storm_every < STORM_LENGTH:
            return _storm_answer(n % self.storm_every % 3)
        if not periodic or n % self.rate_every:
            return None
        if bodiless:
            return _too_many(date=True)
        raise ApiError(429, "too_many_requests", "Too many requests; retry after 1 second.",
                       {"Retry-After": "1"})

    def advisory_headers(self) -> dict[str, str]:
        """Deprecation (RFC 9745), Sunset and rate-limit headers, the count going down with
        every answer and starting over after each window of ADVISORY_LIMIT."""
        with self._count_lock:
            n = next(self._advised)
        return {
            "Deprecation": "@1798761600",
            "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT",
            "Link": '<https://docs.twelvelabs.io/v1.3/api-reference/tasks>; rel="deprecation"',
            "X-Ratelimit-Limit": str(ADVISORY_LIMIT),
            "X-Ratelimit-Remaining": str(ADVISORY_LIMIT - 1 - n % ADVISORY_LIMIT),
            "X-Ratelimit-Reset": "60",
        }

    def authenticate(self, request: Request, operation: str) -> str:
        """The caller's account, or 401 before any other check."""
        key = request.headers.get("x-api-key")
        if key is None:
            if operation == "delete_task" and self.sw.fault("delete-without-key-accepted"):
                return self._first
            if operation == "list_tasks" and self.sw.fault("list-without-key-accepted"):
                return self._first
            raise ApiError(401, "api_key_invalid", "The x-api-key header is missing.")
        account = self._accounts.get(account_id(key)) or self._lookalike(key)
        if account is None:
            status = 403 if self.sw.fault("invalid-key-403") else 401
            raise ApiError(status, "api_key_invalid", "The API key is invalid or expired.")
        return account

    @property
    def first_account(self) -> str:
        return self._first

    def _lookalike(self, key: str) -> str | None:
        """The account a key that is not valid is taken for, under the look-alike faults."""
        if key == "" and self.sw.fault("empty-key-accepted"):
            return self._first
        if self.sw.fault("key-with-suffix-accepted"):
            for end in range(len(key) - 1, 0, -1):
                found = self._accounts.get(account_id(key[:end]))
                if found is not None:
                    return found
        if self.sw.fault("key-case-insensitive"):
            return self._lookalikes.get(account_id(key.lower()))
        return self._lookalikes.get(account_id(key))


def _too_many(*, date: bool) -> Response:
    """A bodiless 429, with an HTTP-date Retry-After or with none."""
    headers = {"Retry-After": formatdate(time.time() + 1, usegmt=True)} if date else {}
    return Response(status_code=429, headers=headers)


def _storm_answer(turn: int) -> Response:
    if turn == 1:
        raise ApiError(429, "too_many_requests", "Too many requests; retry after 1 second.",
                       {"Retry-After": "1"})
    return _too_many(date=turn == 2)
