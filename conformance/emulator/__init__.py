"""The reference emulator of the TwelveLabs v1.3 tasks endpoints, with switchable faults."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from conformance.emulator import crowd, lifecycle
from conformance.emulator.context import Context, latency_from_env
from conformance.emulator.delivery import middleware
from conformance.emulator.faults import FAULTS, VARIATIONS, Fault, Switches, Variation, validate
from conformance.emulator.handlers import not_found, server_error
from conformance.emulator.lifecycle import Clock, Schedule
from conformance.emulator.media import Probe
from conformance.emulator.routes import ROUTES
from conformance.emulator.store import Store, account_id

NEW_TASK_HIDDEN = 0.2
"""new-task-404-briefly: seconds a new task stays unseen, at time scale 1."""
DEFAULT_API_KEY = "tlk_emulator_development_key_0000000000"
"""The documented development key, used when no key is configured. Never use it elsewhere."""

__all__ = ["DEFAULT_API_KEY", "FAULTS", "VARIATIONS", "Clock", "Fault", "Variation",
           "create_app"]


def create_app(*, api_keys: Iterable[str] = (DEFAULT_API_KEY,), faults: Iterable[str] = (),
               variations: Iterable[str] = (), time_scale: float = 1.0,
               data_dir: str | Path | None = None, clock: Clock | None = None,
               latency: float | None = None) -> Starlette:
    """A fresh emulator application; unknown fault or variation names raise ValueError.

    ``latency`` delays every answer by that many seconds; None reads
    CONFORMANCE_EMULATOR_LATENCY (else no delay), so an embedded emulator honours it too."""
    keys, fault_names, variation_names = tuple(api_keys), tuple(faults), tuple(variations)
    validate(fault_names, variation_names)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("api_keys must hold at least one non-empty key")
    if not time_scale > 0:
        raise ValueError(f"time_scale must be positive, got {time_scale!r}")
    latency = latency_from_env() if latency is None else latency
    if not 0 <= latency < float("inf"):
        raise ValueError(f"latency must be a finite number of seconds, at least 0, got {latency!r}")
    switches = Switches(frozenset(fault_names), frozenset(variation_names))
    persistence = None
    if data_dir is not None:
        from conformance.emulator.persistence import SqlitePersistence

        persistence = SqlitePersistence(data_dir)
    stretch = time_scale * (4.0 if switches.variation("slow-indexing") else 1.0)
    hidden_for = NEW_TASK_HIDDEN * stretch if switches.variation("new-task-404-briefly") else 0.0
    store = Store(clock or Clock(), _planner(switches, time_scale), faults=switches.faults,
                  variations=switches.variations, persistence=persistence, hidden_for=hidden_for)
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


def _planner(sw: Switches, time_scale: float):
    stretch = time_scale * (4.0 if sw.variation("slow-indexing") else 1.0)

    def plan_for(created_at: float, probe: Probe) -> Schedule:
        phases: tuple[tuple[str, float], ...]
        if probe.failure is None:
            phases, final = lifecycle.PHASES_TO_READY, "ready"
            if sw.fault("status-goes-backwards"):
                phases = (*phases[:3], ("indexing", 0.3), ("queued", 0.4), ("indexing", 0.3))
        elif probe.failure == "video_url_unreachable":
            phases, final = lifecycle.PHASES_TO_FAILED_LATE, "failed"
        else:
            phases, final = lifecycle.PHASES_TO_FAILED, "failed"
        if sw.variation("skip-states"):
            phases = (("validating", sum(seconds for _, seconds in phases)),)
        if sw.variation("uploading-state"):
            phases = (("uploading", 0.2), *phases)
        if sw.variation("brief-first-status"):  # 1 ms whatever the time scale
            phases = ((phases[0][0], 0.001 / stretch), *phases[1:])
        if sw.variation("instant-indexing"):
            phases = ()
        return lifecycle.plan(created_at, phases, final, stretch=stretch)

    return plan_for
