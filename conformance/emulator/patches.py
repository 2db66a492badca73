"""Building patches: a decision replaced for the asks a test picks, or its answer changed.

Faults, variations and generated mutants are all written with these three shapes:
``when(rule, test, then)`` (where ``test(ask)`` holds, ``then(decision, ask)`` answers),
``after(rule, change)`` (the decision's answer, changed by ``change(ask, answer)``) and
``before(rule, change)`` (the decision asked a changed question).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.emulator.asks import Answer, Caller, Effect, EffectAsk, Env, PageAsk, Plan
from conformance.emulator.model import DomainError, Task
from conformance.emulator.rules import FINAL_SUBJECTS, Patch, timestamp

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


# --- subjects and answers faults and mutants share ----------------------------------------
def is_subject(subject: str) -> Callable[[Any], bool]:
    return lambda a: a.subject == subject


def unfinished(ask: Any) -> bool:
    """A delete's subject that is not final (its refusal is DEL-TERMINAL-ONLY's)."""
    return ask.subject not in FINAL_SUBJECTS


def history(operation: str, past: str) -> Callable[[Any], bool]:
    """A missing ID of this history, asked by this operation."""
    return lambda a: a.operation == operation and a.history == past


def succeeded(operation: str | None, subject: str | None = None) -> Callable[[Any], bool]:
    """Effects of a delete (of this operation, any when None) that was not refused."""
    return lambda a: ((operation is None or a.operation == operation) and a.refusal is None
                      and (subject is None or a.subject == subject))


def refused_for_its_state(ask: Any) -> bool:
    """Effects of a task delete refused for the task's state (not a 404 or a 401)."""
    return bool(ask.operation == "delete_task" and ask.refusal is not None
                and ask.refusal.kind == "refusal")


def refusal_status(status: int) -> Callable[[Any, Caller], Caller]:
    """A ``change`` for the caller rule: its refusal with another status."""
    def change(ask: Any, caller: Caller) -> Caller:
        if caller.refusal is None:
            return caller
        return Caller(caller.account, status_changed(status)(ask, caller.refusal))
    return change


def unfiltered_totals(ask: PageAsk, info: dict[str, int]) -> dict[str, int]:
    """page_info whose totals count the account's unfiltered set."""
    total = ask.unfiltered_total()
    return {**info, "total_results": total, "total_page": -(-total // ask.query.page_limit)}


def past_the_end(ask: PageAsk) -> bool:
    q = ask.query
    return bool(ask.total and q.page > 1 and (q.page - 1) * q.page_limit >= ask.total)


def last_window(decision: Any, ask: PageAsk) -> tuple[int, int]:
    """The window of the last non-empty page."""
    limit = ask.query.page_limit
    start = (-(-ask.total // limit) - 1) * limit
    return start, start + limit


# --- asks picked, and task objects changed, by the fault catalogue --------------------------
def task_delete(a: Any) -> bool:
    return bool(a.operation == "delete_task")


def keyless(operation: str) -> Any:
    return lambda a: a.operation == operation and a.kind == "missing"


def viewed(view: str) -> Any:
    return lambda a: a.view == view


def creating(operation: str) -> Any:
    return lambda a: a.operation == operation


def hls_status_lowered(ask: Any, body: dict) -> dict:
    if "hls" not in body:
        return body
    return {**body, "hls": {**body["hls"], "status": body["hls"]["status"].lower()}}


def duration_as_string(ask: Any, body: dict) -> dict:
    meta = body.get("system_metadata")
    if not meta or "duration" not in meta:
        return body
    return {**body, "system_metadata": {**meta, "duration": str(meta["duration"])}}


def updated_before_created(ask: Any, body: dict) -> dict:
    return {**body, "updated_at": timestamp(ask.task.created_at - 1.0)}


def with_hls(ask: Any, body: dict) -> dict:
    return body if ask.hls is None else {**body, "hls": ask.hls}


def revisit_queued(ask: Any, plan: Plan) -> Plan:
    if plan.final != "ready":
        return plan
    return Plan((*plan.phases[:3], ("indexing", 0.3), ("queued", 0.4), ("indexing", 0.3)),
                "ready")


def last_page_of_the_unfiltered_list(a: Any) -> bool:
    q = a.query
    return bool(a.view == "list" and a.last_deleted is not None and q.page > 1
                and q.page == -(-a.total // q.page_limit))


def with_last_deleted(ask: Any, items: list) -> list:
    return [*items, ask.last_deleted]
