"""Building patches: a decision replaced for the asks a test picks, or its answer changed.

Faults, variations and generated mutants are all written with these three shapes:
``when(rule, test, then)`` (where ``test(ask)`` holds, ``then(decision, ask)`` answers),
``after(rule, change)`` (the decision's answer, changed by ``change(ask, answer)``) and
``before(rule, change)`` (the decision asked a changed question).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.emulator.asks import Answer, Effect, EffectAsk, Env
from conformance.emulator.model import DomainError, Task
from conformance.emulator.rules import Patch

Decision = Callable[..., Any]


def when(rule: str, test: Callable[..., bool], then: Callable[..., Any]) -> Patch:
    """Where ``test(ask)`` holds, ``then(decision, ask)`` answers instead of the decision."""

    def wrap(decision: Decision, env: Env) -> Decision:
        def patched(*args: Any) -> Any:
            return then(decision, *args) if test(*args) else decision(*args)

        return patched

    return Patch(rule, wrap)


def answer(value: Any) -> Callable[..., Any]:
    """A ``then`` that answers ``value`` (a fresh copy of a dict or list each time)."""

    def then(decision: Decision, *args: Any) -> Any:
        return value() if callable(value) else value

    return then


def after(rule: str, change: Callable[..., Any],
          test: Callable[..., bool] = lambda *a: True) -> Patch:
    """The decision's answer changed by ``change(ask, answer)`` where ``test(ask)`` holds."""
    return when(rule, test, lambda decision, *args: change(*args, decision(*args)))


def before(rule: str, change: Callable[..., Any]) -> Patch:
    """The decision asked ``change(ask)`` instead of the ask."""
    return when(rule, lambda *a: True, lambda decision, ask: decision(change(ask)))


def with_env(rule: str, build: Callable[[Decision, Env], Decision]) -> Patch:
    """A patch that needs the emulator's settings (or state of its own) when it is built."""
    return Patch(rule, build)


def error(code: str, message: str, status: int, kind: str = "invalid") -> Callable[..., Any]:
    """A ``then`` that answers a fresh error each time."""
    return answer(lambda: DomainError(code, message, status=status, kind=kind))


def code_changed(code: str) -> Callable[[Any, Any], Any]:
    """A ``change`` for a refusal: the same refusal with another code (None stays None)."""

    def change(ask: Any, refusal: Any) -> Any:
        if not isinstance(refusal, DomainError):
            return refusal
        return type(refusal)(code, refusal.message, status=refusal.status, kind=refusal.kind)

    return change


def status_changed(status: int) -> Callable[[Any, Any], Any]:
    """A ``change`` for a refusal or an answer: the same, with another status."""

    def change(ask: Any, result: Any) -> Any:
        if isinstance(result, DomainError):
            return type(result)(result.code, result.message, status=status, kind=result.kind)
        if isinstance(result, Answer):
            return Answer(status, result.body, result.headers, result.media_type)
        return result

    return change


def also(pick: Callable[[EffectAsk], list[Task]], kind: str = "bury", value: str = "",
         after: float = 0.0) -> Callable[[EffectAsk, tuple[Effect, ...]], tuple[Effect, ...]]:
    """A ``change`` for delete effects: one more effect on each task ``pick`` names."""

    def change(ask: EffectAsk, effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
        return (*effects, *(Effect(kind, t, after, value) for t in pick(ask)))

    return change


def oldest_same_index(ask: EffectAsk) -> list[Task]:
    """The earliest-created other task of the index (none when there is none)."""
    return ask.neighbours.same_index()[:1]


def oldest_other_index(ask: EffectAsk) -> list[Task]:
    """The earliest-created task of another index of the account."""
    return ask.neighbours.other_indexes()[:1]


def oldest_ready_same_index(ask: EffectAsk) -> list[Task]:
    """The earliest-created other task of the index that is ready with its video."""
    now = ask.neighbours.now
    return [t for t in ask.neighbours.same_index()
            if t.status_at(now)[0] == "ready" and not t.video_deleted][:1]


def the_task(ask: EffectAsk) -> list[Task]:
    return [ask.task]


def without(name: str) -> Callable[[Any, Any], Any]:
    """A ``change`` that drops one field of an answer's body (or of a task object)."""

    def change(ask: Any, result: Any) -> Any:
        if isinstance(result, Answer) and isinstance(result.body, dict):
            body = {k: v for k, v in result.body.items() if k != name}
            return Answer(result.status, body, result.headers, result.media_type)
        if isinstance(result, dict):
            return {k: v for k, v in result.items() if k != name}
        return result

    return change
