"""The reference emulator of the TwelveLabs v1.3 tasks endpoints, with switchable faults."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from conformance.emulator import crowd
from conformance.emulator.asks import Env
from conformance.emulator.context import Context, latency_from_env
from conformance.emulator.delivery import middleware
from conformance.emulator.faults import FAULTS, Fault, fault_patches
from conformance.emulator.handlers import not_found, server_error
from conformance.emulator.lifecycle import Clock
from conformance.emulator.mutant_acts import Mutant
from conformance.emulator.mutants import MUTANTS
from conformance.emulator.routes import ROUTES
from conformance.emulator.rules import Rules
from conformance.emulator.store import Store, account_id
from conformance.emulator.variations import (
    NEW_TASK_HIDDEN,
    VARIATIONS,
    Switches,
    Variation,
    validate,
    variation_patches,
)

DEFAULT_API_KEY = "tlk_emulator_development_key_0000000000"
"""The documented development key, used when no key is configured. Never use it elsewhere."""

__all__ = ["DEFAULT_API_KEY", "FAULTS", "MUTANTS", "NEW_TASK_HIDDEN", "VARIATIONS", "Clock",
           "Fault", "Mutant", "Variation", "create_app"]


def create_app(*, api_keys: Iterable[str] = (DEFAULT_API_KEY,), faults: Iterable[str] = (),
               variations: Iterable[str] = (), mutant: str | None = None,
               time_scale: float = 1.0, data_dir: str | Path | None = None,
               clock: Clock | None = None, latency: float | None = None) -> Starlette:
    """A fresh emulator application; unknown fault, variation or mutant names raise ValueError.

    ``latency`` delays every answer by that many seconds; None reads
    CONFORMANCE_EMULATOR_LATENCY (else no delay), so an embedded emulator honours it too."""
    keys, fault_names, variation_names = tuple(api_keys), tuple(faults), tuple(variations)
    validate(fault_names, variation_names, FAULTS)
    if mutant is not None and mutant not in MUTANTS:
        raise ValueError(f"unknown mutant {mutant!r}; `conformance emulator --list-mutants` "
                         "lists them")
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("api_keys must hold at least one non-empty key")
    if not time_scale > 0:
        raise ValueError(f"time_scale must be positive, got {time_scale!r}")
    latency = latency_from_env() if latency is None else latency
    if not 0 <= latency < float("inf"):
        raise ValueError(f"latency must be a finite number of seconds, at least 0, got {latency!r}")
    switches = Switches(frozenset(fault_names), frozenset(variation_names), mutant)
    # faults first, then variations, in catalogue order: a later patch wraps an earlier one
    patches = [*fault_patches(fault_names), *variation_patches(variation_names),
               *(MUTANTS[mutant].patches if mutant is not None else ())]
    rules = Rules(patches, Env(time_scale=time_scale))
    persistence = None
    if data_dir is not None:
        from conformance.emulator.persistence import SqlitePersistence

        persistence = SqlitePersistence(data_dir)
    store = Store(clock or Clock(), rules, persistence=persistence)
    if persistence is not None:
        store.load(*persistence.load())
    others = None
    if switches.variation("busy-account"):
        accounts = [account_id(k) for k in keys]
        if not store.holds_tasks(accounts[0]):
            crowd.populate(store, accounts, random.Random(0))
        others = crowd.start_others(store, accounts, random.Random())
    app = Starlette(routes=ROUTES, exception_handlers={HTTPException: not_found,
                                                      Exception: server_error},
                    middleware=middleware(switches, latency))
    app.router.redirect_slashes = False  # a redirect is not an answer a client can judge
    app.state.emulator = Context(store, switches, keys)
    app.state.others = others  # busy-account's colleagues: set() stops them
    return app
