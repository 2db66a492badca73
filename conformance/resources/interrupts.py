"""Signals during a run (Ctrl-C, and SIGTERM as CI sends it): what each one stops, and when.

The first signal outside cleanup interrupts the run (``KeyboardInterrupt``), but never in the
middle of a create: a create and its ledger entry are one step (:meth:`Interrupts.shielded`),
so the ledger always holds what the target made. From then on no signal raises: cleanup runs
to its end; a signal during cleanup makes it hurry (it stops waiting for tasks to become
final), the next one stops it between two requests, and the run lists what is left from the
ledger. Installed by the run (``conformance run``, the pytest plugin, ``conformance
cleanup``); uninstalled, every method here is a no-op, so library use is unaffected.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

__all__ = ["INTERRUPTS", "Interrupts", "Received"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Received:
    signal: str
    phase: str
    """start-up, tests, cleanup or reports: what the run was doing."""
    where: str = ""


@dataclass
class Interrupts:
    """The run's signal policy (see the module docstring); one per process: ``INTERRUPTS``."""

    received: list[Received] = field(default_factory=list)
    phase: str = "start-up"
    where: str = ""
    """The test (and its phase) running when a signal came: the report says where."""
    raised: bool = False
    """The run was interrupted: a KeyboardInterrupt was raised once."""
    cleanup_signals: int = 0
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr,
                                                                  flush=True))
    _previous: dict[int, Any] = field(default_factory=dict)
    _pending: bool = False
    _depth: int = 0
    _wake: threading.Event = field(default_factory=threading.Event)

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only; elsewhere this does nothing)."""
        if self.installed or threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def reset(self) -> None:
        """A fresh run in the same process (the project's own tests run several)."""
        self.received.clear()
        self.phase, self.where, self.raised, self.cleanup_signals = "start-up", "", False, 0
        self._pending, self._depth = False, 0
        self._wake.clear()

    # -- what the run asks ------------------------------------------------------------------

    @property
    def hurry(self) -> bool:
        """Cleanup should stop waiting for tasks to become final."""
        return self.cleanup_signals >= 1

    @property
    def stop(self) -> bool:
        """Cleanup should send nothing more: what is left is listed instead."""
        return self.cleanup_signals >= 2

    @property
    def first(self) -> Received | None:
        return self.received[0] if self.received else None

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A step a signal must not cut in two (a create and its ledger entry): a signal
        that arrives meanwhile interrupts the run right after it."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._pending:
                self._pending = False
                self.raised = True
                raise KeyboardInterrupt

    def enter_cleanup(self) -> None:
        """From here on no signal raises: cleanup hurries, then stops (see module docstring)."""
        if self.phase not in ("cleanup", "reports"):
            self.phase = "cleanup"

    def enter_reports(self) -> None:
        self.phase = "reports"

    def sleep(self, seconds: float) -> None:
        """A wait a signal cuts short (cleanup's polls)."""
        if self.installed:
            self._wake.wait(seconds)
            self._wake.clear()
        else:
            threading.Event().wait(seconds)

    # -- the handler ------------------------------------------------------------------------

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.phase == "reports":
            # Cleanup is over and the verdict made: the reports are a moment from complete.
            self.say(f"conformance: {name}: writing the reports, nothing is left to stop")
            return
        self.received.append(Received(name, self.phase, self.where))
        self._wake.set()
        if self.phase == "cleanup" or self.raised or self._pending:
            self.cleanup_signals += 1
            if self.cleanup_signals == 1:
                self.say(f"conformance: {name}: cleanup goes on without waiting for tasks to "
                         "finish; send it again to stop cleanup (what is left is listed)")
            elif self.cleanup_signals == 2:
                self.say(f"conformance: {name}: cleanup stops after the request in flight; "
                         "what is left is listed with the command that removes it")
            return
        if self._depth > 0:
            self._pending = True  # raised when the shielded step is done
            return
        self.raised = True
        raise KeyboardInterrupt


INTERRUPTS = Interrupts()
