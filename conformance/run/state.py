"""The run's shared state, kept in ``config.stash``: the one module of run/ the wings below
import (their fixtures and plugins reach the run through it, never through the hooks module).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from conformance.clauses import CLAUSES, ContractViolation, clause
from conformance.run.deviations import Deviations
from conformance.settings import Settings
from conformance.wire.transcript import Redactor

if TYPE_CHECKING:
    from conformance.run.startup import Started
    from conformance.run.summary import CaseRecord, Summary
    from conformance.run.target import EmbeddedTarget

__all__ = ["STATE_KEY", "Handover", "RunState", "Subjects", "TimeBudgetSpent",
           "register_violation_mapper", "run_state", "violation_clauses"]


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity hashing
class Handover:
    """Registered by ``conformance run`` (``pytest.main(plugins=[...])``) to pass the run the
    CLI started (settings, deviations, target) in without putting the key into argv; the
    CLI stops its embedded target itself."""

    started: Started
    notes: list[str] = field(default_factory=list)
    """What the start-up has to say (an earlier run's ledger kept aside)."""
    summary: Summary | None = None
    """Set when the run's session wrote its reports."""


@dataclass
class Subjects:
    """Per clause, what the run judged it on (statuses, operations, tasks, pages) and, when a
    budget or a missing precondition cut that short, why it was judged only in part."""

    judged: dict[str, list[str]] = field(default_factory=dict)
    partial: dict[str, list[str]] = field(default_factory=dict)
    unjudged: dict[str, list[str]] = field(default_factory=dict)
    """Per clause, the subjects that could not tell a right answer from a wrong one (a filter
    with nothing to leave out, a sort whose keys agree, a single page), and why: reported as
    "not judged", never as passed."""

    def add(self, clause_id: str, text: str) -> None:
        """Add one subject; ``"head: item"`` joins an earlier subject with the same head
        (``"missing key: create task, list tasks"``)."""
        clause(clause_id)
        shown = self.judged.setdefault(clause_id, [])
        head, colon, item = text.partition(": ")
        for n, earlier in enumerate(shown):
            if colon and earlier.startswith(head + ": "):
                items = earlier[len(head) + 2:].split(", ")
                if item not in items:
                    shown[n] = f"{earlier}, {item}"
                return
        if text not in shown:
            shown.append(text)

    def partly(self, clause_id: str, reason: str) -> None:
        clause(clause_id)
        shown = self.partial.setdefault(clause_id, [])
        if reason not in shown:
            shown.append(reason)

    def not_judged(self, clause_id: str, subject: str, reason: str) -> None:
        """``subject`` of ``clause_id`` was looked at but could not have shown the clause
        failing (``reason``, in words): the report says "not judged", never "passed"."""
        clause(clause_id)
        shown = self.unjudged.setdefault(clause_id, [])
        line = f"{subject}: {reason}"
        if line not in shown:
            shown.append(line)


@dataclass
class RunState:
    """Everything the hooks and the suite's fixtures share during one run."""

    settings: Settings
    transcript: Any
    deviations: Deviations = field(default_factory=Deviations)
    cleanup_problems: list[str] = field(default_factory=list)
    provisioner: Any = None
    """Set by the suite's fixtures; its budget and spend figures go into the reports."""
    clients: list[Any] = field(default_factory=list)
    """ApiClients whose ``stats.rate_limited`` are added to the 429 count."""
    rate_limited: int = 0
    requests: int = 0
    """Requests sent outside the clients (the property tests' guard)."""
    records: dict[str, CaseRecord] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)
    embedded: EmbeddedTarget | None = None
    """An emulator this plugin started and stops at unconfigure."""
    on_embedded: bool = False
    """The target is an embedded emulator (whoever started it): it stops with the run."""
    mode: str = "conformance run"
    """``pytest`` under plain pytest: the session exits with pytest's own codes."""
    collection_errors: list[str] = field(default_factory=list)
    target_label: str = ""
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    interrupted: bool = False
    summary: Summary | None = None
    notes: list[str] = field(default_factory=list)
    subjects: Subjects = field(default_factory=Subjects)
    redactor: Redactor = field(default_factory=Redactor)
    """The run's keys, scrubbed from every failure text the reports show."""
    progress_writer: Callable[[str], None] | None = None

    def progress(self, message: str) -> None:
        """A progress line on the console (long waits), outside output capture."""
        if self.progress_writer is not None:
            self.progress_writer(message)

    def total_rate_limited(self) -> int:
        return self.rate_limited + sum(s.rate_limited for s in self._client_stats())

    def total_requests(self) -> int:
        """Every request the run sent (retries and 429s included), the preflight excepted."""
        return self.requests + sum(s.requests for s in self._client_stats())

    def _client_stats(self) -> list[Any]:
        # Siblings (other key, unchecked) share one stats object: count each once.
        found = {id(s): s for c in self.clients if (s := getattr(c, "stats", None)) is not None}
        return list(found.values())


class TimeBudgetSpent(Exception):
    """The whole-run deadline passed: a harness error (exit 3), never a clause failure."""


STATE_KEY = pytest.StashKey[RunState]()
ViolationMapper = Callable[[BaseException], list[str] | None]
_MAPPERS: list[ViolationMapper] = []


def run_state(config: pytest.Config) -> RunState:
    """The run's shared state (settings, transcript, cleanup problems, provisioner slot)."""
    return config.stash[STATE_KEY]


def register_violation_mapper(mapper: ViolationMapper) -> ViolationMapper:
    """Teach the plugin that another exception type (e.g. a schemathesis failure) means a
    broken clause: the mapper returns clause IDs, or None when it does not apply."""
    _MAPPERS.append(mapper)
    return mapper


def violation_clauses(excinfo: pytest.ExceptionInfo[BaseException] | BaseException) -> list[str]:
    """The clauses a test's exception shows broken; empty means a harness error."""
    exc = excinfo.value if isinstance(excinfo, pytest.ExceptionInfo) else excinfo
    if isinstance(exc, ContractViolation):
        return [exc.clause_id]
    for mapper in _MAPPERS:
        found = mapper(exc)
        if found:
            return [c for c in found if c in CLAUSES]
    if isinstance(exc, BaseExceptionGroup):
        found = [c for sub in exc.exceptions for c in violation_clauses(sub)]
        return list(dict.fromkeys(found))
    return []


