"""What every handler needs: the store, the rules, the accounts and the request prelude."""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Iterable

from starlette.requests import Request

from conformance.emulator.asks import Answer, CallAsk, Caller, ThrottleAsk
from conformance.emulator.connections import Drops
from conformance.emulator.model import DomainError
from conformance.emulator.store import Store, account_id
from conformance.emulator.variations import Switches

LATENCY_ENV = "CONFORMANCE_EMULATOR_LATENCY"
LOOK_ALIKE_CUT = 1  # a key without its last character counts as truncated


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


class KeyBook:
    """Which account a key names, and what a wrong key resembles, from digests only: the
    keys themselves are not kept past start-up."""

    def __init__(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self.first = account_id(keys[0])
        self._valid = {account_id(k): account_id(k) for k in keys}
        self._lengths = sorted({len(k) for k in keys})
        self._folded = {account_id(k.casefold()): account_id(k) for k in keys}
        self._cut = {account_id(k[:-n]): account_id(k) for k in keys
                     for n in range(1, LOOK_ALIKE_CUT + 1) if len(k) > n}

    def classify(self, key: str | None) -> tuple[str, str | None]:
        """The key's kind (valid, missing, empty, suffix, truncated, case, unknown) and the
        account it names or resembles."""
        if key is None:
            return "missing", None
        if not key:
            return "empty", None
        digest = account_id(key)
        if digest in self._valid:
            return "valid", self._valid[digest]
        if digest in self._cut:
            return "truncated", self._cut[digest]
        for length in self._lengths:  # a valid key with something after it
            prefix = account_id(key[:length])
            if length < len(key) and prefix in self._valid:
                return "suffix", self._valid[prefix]
        folded = account_id(key.casefold())
        if folded in self._folded:
            return "case", self._folded[folded]
        return "unknown", None


class Context:
    def __init__(self, store: Store, switches: Switches, api_keys: tuple[str, ...]) -> None:
        self.store = store
        self.rules = store.rules
        self.sw = switches
        self.keys = KeyBook(api_keys)
        self._counter = itertools.count(1)
        self._count_lock = threading.Lock()
        self.drops = Drops()  # requests keep-alive-drops closed unanswered

    def now(self) -> float:
        return self.store.clock.now()

    def throttle(self) -> Answer | None:
        """A request turned away before anything else (a 429 of a rate-limit variation)."""
        if self.rules.pristine("throttle"):
            return None
        with self._count_lock:
            n = next(self._counter)
        limited = self.rules.throttle(ThrottleAsk(n))
        if isinstance(limited, DomainError):
            raise limited
        return limited

    def authenticate(self, request: Request, operation: str) -> Caller:
        """Whose request it is, as the rules decide from the kind of key it carries."""
        kind, account = self.keys.classify(request.headers.get("x-api-key"))
        return self.rules.caller(CallAsk(operation, kind, account, self.keys.first))
