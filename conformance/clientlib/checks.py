"""Client checks: what a client library made of the target's answers, judged by clause.

Each check takes an :class:`Outcome` (the library's return value or the error it raised,
with the exchanges behind it) and raises ``ContractViolation`` naming the client.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.clientlib.adapter import ClientAdapter, ClientError
from conformance.wire.transcript import Exchange, Transcript


@dataclass
class Outcome:
    """One call into the library: what it returned, or how it failed."""

    value: Any = None
    error: ClientError | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def reproduce(self) -> str | None:
        return self.exchanges[-1].curl() if self.exchanges else None

    def shown(self) -> str:
        if self.error is not None:
            return self.error.describe()
        return f"returned {_short(repr(self.value))}"


def call(adapter: ClientAdapter, transcript: Transcript, method: Callable[..., Any],
         *args: Any, **kwargs: Any) -> Outcome:
    """Call the library; its own errors become the outcome, anything else is a harness bug."""
    mark = transcript.mark()
    try:
        value = method(*args, **kwargs)
    except Exception as exc:
        error = adapter.describe_error(exc)
        if error is None:
            raise
        return Outcome(error=error, exchanges=transcript.since(mark))
    return Outcome(value=value, exchanges=transcript.since(mark))


def label(adapter: ClientAdapter) -> str:
    return f"{adapter.name} {adapter.version}"


def fail(clause_id: str, adapter: ClientAdapter, message: str,
          outcome: Outcome | None = None) -> None:
    raise ContractViolation(clause_id, f"client {label(adapter)}: {message}",
                            reproduce=outcome.reproduce if outcome else None)


def delete_returned_none(adapter: ClientAdapter, outcome: Outcome, what: str,
                         clause_if_raised: str) -> None:
    """DEL-204: a delete the target accepted with 204 comes back from the library as None."""
    if outcome.error is not None:
        fail(clause_if_raised, adapter, f"expected {what} to succeed, but the client "
              f"{outcome.shown()}: {outcome.error.detail}", outcome)
    if outcome.value is not None:
        fail("DEL-204", adapter, f"expected {what} to return None (204 No Content), but "
              f"it {outcome.shown()}", outcome)


def delete_was_refused(adapter: ClientAdapter, outcome: Outcome, what: str,
                       clause_id: str) -> ClientError:
    """The library raised a 400 for a delete the contract refuses."""
    error = outcome.error
    if error is None:
        fail(clause_id, adapter, f"expected {what} to be refused (an error with status 400), "
              f"but the client {outcome.shown()}: the target accepted it", outcome)
    assert error is not None
    if error.parse_error or error.status != 400:
        fail(clause_id, adapter, f"expected {what} to be refused with status 400, but the "
              f"client {outcome.shown()}: {error.detail}", outcome)
    return error


def refusal_carries_task_cannot_be_deleted(adapter: ClientAdapter, outcome: Outcome,
                                           what: str) -> None:
    """DEL-REFUSAL-CODE: the library's error exposes code task_cannot_be_deleted."""
    error = outcome.error
    if error is not None and error.code != "task_cannot_be_deleted":
        fail("DEL-REFUSAL-CODE", adapter, f"expected the refusal of {what} to carry code "
              f"'task_cannot_be_deleted', but the client {outcome.shown()}: {error.detail}",
              outcome)


def lookup_raised_not_found(adapter: ClientAdapter, outcome: Outcome, what: str,
                            clause_id: str) -> None:
    """DEL-UNKNOWN / DEL-GONE: the library raised an error with status 404 or 400."""
    error = outcome.error
    if error is None:
        fail(clause_id, adapter, f"expected {what} to raise an error with status 404 or "
              f"400, but the client {outcome.shown()}", outcome)
    assert error is not None
    if error.parse_error or error.status not in (400, 404):
        fail(clause_id, adapter, f"expected {what} to raise an error with status 404 or "
              f"400, but the client {outcome.shown()}: {error.detail}", outcome)


def iteration_saw_each_task_once(adapter: ClientAdapter, seen: Sequence[str],
                                 expected: Iterable[str], *, bound: int,
                                 outcome: Outcome) -> None:
    """LIST-PAGING: the library's iteration ended and showed every expected task once."""
    if len(seen) > bound:
        fail("LIST-PAGING", adapter, f"expected iterating tasks.list over the index to end, "
              f"but it was still yielding after {bound} items for {len(set(expected))} "
              "tasks: a page past the end is not empty, so the client's pager never stops",
              outcome)
    twice = sorted(task for task, count in Counter(seen).items() if count > 1)
    if twice:
        fail("LIST-PAGING", adapter, f"expected each task once while iterating tasks.list, "
              f"but these came more than once: {', '.join(twice[:10])}", outcome)
    missing = sorted(set(expected) - set(seen))
    if missing:
        fail("LIST-PAGING", adapter, f"expected iterating tasks.list to show every task of "
              f"the index, but it missed {', '.join(missing[:10])}", outcome)


def parsed_without_error(adapter: ClientAdapter, outcome: Outcome, what: str,
                         clause_id: str) -> None:
    """TASK-SHAPE (LIST-SHAPE for list pages): the library could parse what it was sent."""
    error = outcome.error
    if error is not None and error.parse_error:
        fail(clause_id, adapter, f"could not parse {what}: {error.describe()}: "
              f"{error.detail}", outcome)


def delivered_task_is_well_formed(adapter: ClientAdapter, outcome: Outcome,
                                  task_id: str) -> None:
    """TASK-SHAPE: what the library hands its user has the documented types and enums."""
    parsed_without_error(adapter, outcome, f"the task {task_id}", "TASK-SHAPE")
    if outcome.error is not None:
        fail("TASK-SHAPE", adapter, f"expected the task {task_id} to be retrieved, but the "
              f"client {outcome.shown()}: {outcome.error.detail}", outcome)
    body = outcome.value
    try:
        checks.task_object_is_well_formed(body)
    except ContractViolation as exc:
        fail("TASK-SHAPE", adapter, f"delivered {exc.message}", outcome)
    if isinstance(body, Mapping) and body.get("_id") != task_id:
        fail("TASK-SHAPE", adapter, f"expected the task {task_id}, got "
              f"{_short(json.dumps(body, default=str))}", outcome)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
