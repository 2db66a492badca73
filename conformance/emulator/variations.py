"""The conforming variations (behaviour the contract allows but the emulator does not do by
default), each a set of patches on the named decisions (rules.py) or a way answers travel;
the tasks-gone ones aside: they show the endpoints withdrawn (see their descriptions)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any, NamedTuple

from conformance.emulator.asks import Admission, Answer, Env, ErrorAsk, Plan, ShowAsk, ThrottleAsk
from conformance.emulator.errors import ApiError
from conformance.emulator.media import _MESSAGES
from conformance.emulator.model import DomainError, Invalid, NotFound
from conformance.emulator.patches import (
    after,
    before,
    error,
    status_changed,
    when,
    with_env,
    without,
)
from conformance.emulator.rules import Patch, timestamp

RATE_LIMIT_ENV = "CONFORMANCE_EMULATOR_RATE_LIMIT_EVERY"
STORM_ENV = "CONFORMANCE_EMULATOR_STORM_EVERY"
# A ci run sends about 1,150 requests: one in 50 turned away is two dozen 429s, each costing
# the run a second's wait (every request kind meets some), instead of the dozens a smaller
# period cost.
DEFAULT_RATE_LIMIT_EVERY = 50
# A storm is six 429s in a row: one more than a client that gives up after five retries takes.
# Every 400th request starts one, so a ci run (most of its requests the property tests') meets
# two or three, a few seconds of waiting each.
STORM_LENGTH = 6
DEFAULT_STORM_EVERY = 400
ADVISORY_LIMIT = 600  # the X-Ratelimit-Limit of advisory-headers, per 60-second window
NEW_TASK_HIDDEN = 0.2
"""new-task-404-briefly: seconds a new task stays unseen, at time scale 1."""
LONG_MESSAGE = 2_400  # long-error-messages: past the 2,000 characters a client might keep
_PADDING = (" Details: the request was checked against every rule of this operation, and the "
            "first rule it broke is named above; nothing was changed.")
DOCS_URL = "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"
# tight-query-bounds: stricter maxima than the spec's hints, as a live target may have
TIGHT_BOUNDS = {"page": 10_000, "width": 10_000, "height": 10_000, "duration": 86_400}
TASK_OPERATIONS = frozenset({"create_task", "list_tasks", "retrieve_task", "delete_task"})


class Variation(NamedTuple):
    name: str
    description: str
    patches: tuple[Patch, ...] = ()


def _v(name: str, description: str, *patches: Patch) -> Variation:
    return Variation(name, description, patches)


def rate_limit_every(name: str = RATE_LIMIT_ENV, default: int = DEFAULT_RATE_LIMIT_EVERY,
                     minimum: int = 2) -> int:
    """A rate-limit period from the environment; a bad value is a ValueError saying so."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {text!r}")
    return int(text)


def _too_many(*, date: bool) -> Answer:
    """A bodiless 429, with an HTTP-date Retry-After or with none."""
    headers = {"Retry-After": formatdate(time.time() + 1, usegmt=True)} if date else {}
    return Answer(429, headers=headers)


def _too_many_json() -> DomainError:
    return ApiError(429, "too_many_requests", "Too many requests; retry after 1 second.",
                    {"Retry-After": "1"}, kind="throttle")


def _every_nth(*, bodiless: bool) -> Callable[..., Any]:
    def build(decision: Callable[..., Any], env: Env) -> Callable[..., Any]:
        every = rate_limit_every()

        def throttle(ask: ThrottleAsk) -> Answer | DomainError | None:
            if ask.count % every == 0:
                return _too_many(date=True) if bodiless else _too_many_json()
            return decision(ask)

        return throttle

    return build


def _storms(decision: Callable[..., Any], env: Env) -> Callable[..., Any]:
    every = rate_limit_every(STORM_ENV, DEFAULT_STORM_EVERY, STORM_LENGTH + 1)

    def throttle(ask: ThrottleAsk) -> Answer | DomainError | None:
        n = ask.count
        if n >= every and n % every < STORM_LENGTH:
            turn = n % every % 3  # bodiless, JSON with Retry-After, bodiless with a date
            return _too_many_json() if turn == 1 else _too_many(date=turn == 2)
        return decision(ask)

    return throttle


def _stretched(factor: float) -> Callable[[Any, Plan], Plan]:
    return lambda ask, plan: Plan(tuple((s, d * factor) for s, d in plan.phases), plan.final)


def _brief_first_status(decision: Callable[..., Any], env: Env) -> Callable[..., Any]:
    def schedule(ask: Any) -> Plan:
        plan = decision(ask)
        if not plan.phases:
            return plan
        first = (plan.phases[0][0], 0.001 / env.time_scale)  # 1 ms whatever the time scale
        return Plan((first, *plan.phases[1:]), plan.final)

    return schedule


def _extra_fields(ask: Any, body: dict) -> dict:
    task = ask.task
    body = {**body, "estimated_time": timestamp(task.schedule.final_at),
            "user_metadata": task.user_metadata}
    if ask.status == "failed" and task.failure:
        body["error_reason"] = {"code": task.failure, "message": _MESSAGES[task.failure]}
    return body


def _with_docs_url(ask: ErrorAsk, answer: Answer) -> Answer:
    if not isinstance(answer.body, dict):
        return answer
    return replace(answer, body={**answer.body, "docs_url": DOCS_URL})


def _length_zero(ask: Any, answer: Answer) -> Answer:
    if answer.status != 204 or "content-length" in answer.headers:
        return answer
    return replace(answer, headers={**answer.headers, "content-length": "0"})


def _undecodable(ask: Any) -> bool:
    return bool(ask.subject == "valid" and ask.probe is not None
                and ask.probe.failure == "video_file_broken")


def _not_found(decision: Any, ask: Any) -> DomainError:
    return NotFound("resource_not_exist", f"No resource has the ID {ask.text[:64]!r}.")


def _refused_as_broken(decision: Any, ask: Any) -> Admission:
    return Admission(refusal=Invalid("video_file_broken", ask.probe.message(), kind="create"))


def _echo_key(ask: ErrorAsk) -> ErrorAsk:
    """The key exactly as the request sent it, back to its sender (never stored)."""
    return ask if ask.key is None else replace(ask, message=f"{ask.message} (x-api-key: "
                                               f"{ask.key})")


def _padded(ask: ErrorAsk) -> ErrorAsk:
    if not 400 <= ask.status < 500:
        return ask
    padding = _PADDING * (LONG_MESSAGE // len(_PADDING) + 1)
    return replace(ask, message=(ask.message + padding)[:LONG_MESSAGE])


def _advisory_headers(decision: Callable[..., Any], env: Env) -> Callable[..., Any]:
    """Deprecation (RFC 9745), Sunset and rate-limit headers on every /tasks answer, the count
    going down with every answer and starting over after each window of ADVISORY_LIMIT."""
    answered = iter(range(1 << 62))

    def headers(operation: str) -> Mapping[str, str]:
        if operation not in TASK_OPERATIONS:
            return decision(operation)
        n = next(answered)
        return {
            "Deprecation": "@1798761600",
            "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT",
            "Link": '<https://docs.twelvelabs.io/v1.3/api-reference/tasks>; rel="deprecation"',
            "X-Ratelimit-Limit": str(ADVISORY_LIMIT),
            "X-Ratelimit-Remaining": str(ADVISORY_LIMIT - 1 - n % ADVISORY_LIMIT),
            "X-Ratelimit-Reset": "60",
        }

    return headers


def _hidden_at_first(decision: Callable[..., Any], env: Env) -> Callable[..., Any]:
    hidden_for = NEW_TASK_HIDDEN * env.time_scale

    def shown(ask: ShowAsk) -> bool:
        if ask.deleted_at is None and ask.now < ask.task.created_at + hidden_for:
            return False
        return bool(decision(ask))

    return shown


def _tasks_operation(operation: str) -> bool:
    return operation in TASK_OPERATIONS


VARIATIONS: dict[str, Variation] = {
    v.name: v
    for v in (
        _v("rate-limit", "Every Nth request (N from CONFORMANCE_EMULATOR_RATE_LIMIT_EVERY, "
                  "default 50) answers 429 too_many_requests with Retry-After: 1.",
                  with_env("throttle", _every_nth(bodiless=False))),
        _v("rate-limit-bodiless", "Like rate-limit, but the 429 has no body and "
                  "Retry-After is an HTTP date.",
                  with_env("throttle", _every_nth(bodiless=True))),
        _v("slow-indexing", "Every phase of a task's schedule lasts four times longer.",
                  after("schedule", _stretched(4.0))),
        _v("extra-fields", "Task objects and list items carry undocumented fields "
                  "(estimated_time, error_reason, user_metadata).",
                  after("task_fields", _extra_fields)),
        _v("unknown-id-400", "Unknown and deleted IDs answer 400 resource_not_exist "
                  "instead of 404.",
                  after("envelope", status_changed(400), lambda a: a.kind == "unknown-id")),
        _v("clamp-page-limit", "page_limit above 50 is clamped to 50 instead of refused.",
                  after("query_policy", lambda p: replace(p, clamp=True))),
        _v("malformed-id-404", "Malformed IDs answer 404 resource_not_exist instead of "
                  "400 parameter_invalid.",
                  when("path_id", lambda a: a.kind != "well-formed", _not_found)),
        _v("skip-states", "Tasks go from validating straight to ready or failed.",
                  after("schedule", lambda a,
                        p: Plan((("validating", sum(s for _, s in p.phases)),), p.final))),
        _v("uploading-state", "Tasks begin in the documented uploading state.",
                  after("schedule", lambda a, p: Plan((("uploading", 0.2), *p.phases), p.final))),
        _v("no-system-metadata", "Task objects omit system_metadata.",
                  after("task_fields", without("system_metadata"))),
        _v("no-hls", "Task objects omit hls even for streamable tasks.",
                  after("task_fields", without("hls"))),
        _v("error-docs-url", "Error bodies add a docs_url field.",
                  after("envelope", _with_docs_url)),
        _v("json-charset", "JSON answers say application/json; charset=utf-8.",
                  after("media_type", lambda m: "application/json; charset=utf-8")),
        _v("content-length-zero-on-204", "204 answers carry Content-Length: 0.",
                  after("deleted_answer", _length_zero)),
        _v("timestamps-offset", "Date-times use +00:00 and microseconds instead of Z "
                  "and milliseconds.",
                  when("timestamp", lambda t: True, lambda d,
                       t: datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds"))),
        _v("foreign-id-403", "Another account's task answers 403 resource_not_exist "
                  "instead of 404.",
                  when("missing", lambda a: a.history == "foreign",
                       error("resource_not_exist", "The task belongs to another account.", 403))),
        _v("lenient-queries", "List query values the contract does not require "
                  "refusing are accepted: bad or out-of-range width, height, duration, "
                  "created_at and updated_at are ignored, a bad page reads as 1 (one past the "
                  "maximum as the maximum), a bad page_limit as 10, and an index_id that is not "
                  "24 lowercase hex matches no task (enums, page_limit above 50 and repeated "
                  "keys are still refused).",
                  after("query_policy", lambda p: replace(p, lenient=True))),
        _v("tight-query-bounds", "page above 10000, width or height above 10000 and "
                  "duration above 86400 answer 400 parameter_invalid (stricter than the spec's "
                  "hints).",
                  after("query_policy", lambda p: replace(p, bounds=TIGHT_BOUNDS))),
        _v("connection-close", "Every answer carries Connection: close and the server "
                  "closes the connection after it."),
        _v("gzip", "Answers with a body are gzip-compressed (Content-Encoding: gzip), "
                  "however small, whenever the request's Accept-Encoding admits gzip; "
                  "bodiless answers stay bodiless."),
        _v("chunked", "JSON answers are sent with Transfer-Encoding: chunked (no "
                  "Content-Length), in two chunks."),
        _v("reject-undecodable-at-create", "A create whose upload is not a decodable "
                  "video answers 400 video_file_broken at once and creates nothing (URL creates "
                  "are unchanged).",
                  when("may_create", _undecodable, _refused_as_broken)),
        _v("instant-indexing", "Every task is already ready or failed when created: its "
                  "first read shows the final status.",
                  after("schedule", lambda a, p: Plan((), p.final))),
        _v("brief-first-status", "A task's first status lasts 1 ms; the rest of its "
                  "schedule is unchanged.",
                  with_env("schedule", _brief_first_status)),
        _v("echo-key-in-errors", "Every error message ends with ' (x-api-key: KEY)', "
                  "KEY being the exact value the request sent, when it sent one (401 included).",
                  before("envelope", _echo_key)),
        _v("advisory-headers", "Every answer of a /tasks operation carries Deprecation, "
                  "Sunset and Link rel=deprecation headers and X-Ratelimit-Limit: 600, "
                  "X-Ratelimit-Remaining (counting down) and X-Ratelimit-Reset: 60.",
                  with_env("headers", _advisory_headers)),
        # Live targets differ from the emulator in these ways too (contract.md, "Provisioning"
        # and "Live targets may differ"): each is allowed, and the suite must take it in stride.
        _v("index-create-200", "An index create answers 200 {_id} instead of 201.",
                  after("created_answer", status_changed(200),
                        lambda a: a.operation == "create_index")),
        _v("rate-limit-storms", "Every Nth request (N from "
                  "CONFORMANCE_EMULATOR_STORM_EVERY, default 400) starts a storm: it and the "
                  "next five requests, whoever sends them, answer 429 in turn bodiless with no "
                  "Retry-After, too_many_requests with Retry-After: 1, and bodiless with an "
                  "HTTP-date Retry-After.",
                  with_env("throttle", _storms)),
        _v("long-error-messages", "Every 4xx error body's message is padded past "
                  "2,000 characters (the body is still a valid envelope).",
                  before("envelope", _padded)),
        _v("keep-alive-drops", "The server drops idle keep-alive connections early: a "
                  "request that arrives on a connection idle for more than 0.03 s is not read, "
                  "and the connection is closed without an answer (as when a keep-alive timer "
                  "fires while the request is on its way); idle connections are closed after "
                  "1 s anyway."),
        _v("busy-account", "The first account already holds 3,000 final tasks in three "
                  "other indexes, and a background actor keeps creating and deleting tasks in "
                  "indexes of its own in the first account and in the second (about ten "
                  "operations a second)."),
        _v("new-task-404-briefly", "A new task answers 404 resource_not_exist (retrieve "
                  "and delete) and is absent from lists for its first 0.2 s (stretched by the "
                  "time scale).",
                  with_env("shown", _hidden_at_first)),
        _v("tasks-gone-404", "Not conforming but a removal: every /tasks operation "
                  "answers 404 endpoint_not_exists after authentication (401 still first); "
                  "index and video operations keep working.",
                  when("served", _tasks_operation, error(
                      "endpoint_not_exists", "The /tasks endpoints no longer exist.", 404,
                      "route"))),
        _v("tasks-gone-410", "Not conforming but a removal: every /tasks operation "
                  "answers 410 endpoint_removed after authentication (401 still first); index "
                  "and video operations keep working.",
                  when("served", _tasks_operation, error(
                      "endpoint_removed", "The /tasks endpoints have been removed.", 410,
                      "route"))),
    )
}


def validate(faults: Iterable[str], variations: Iterable[str], known_faults: Iterable[str]) -> None:
    """Reject unknown names early, with the catalogue in the message."""
    for kind, names, known in (("fault", list(faults), set(known_faults)),
                               ("variation", list(variations), set(VARIATIONS))):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; known {kind}s: "
                             f"{', '.join(sorted(known))}")


def variation_patches(names: Iterable[str]) -> list[Patch]:
    """The patches of these variations, in catalogue order."""
    chosen = set(names)
    return [p for v in VARIATIONS.values() if v.name in chosen for p in v.patches]


@dataclass(frozen=True)
class Switches:
    """The faults, variations and mutant one emulator runs with (for the way answers travel,
    and for the control plane's health)."""

    faults: frozenset[str] = frozenset()
    variations: frozenset[str] = frozenset()
    mutant: str | None = None

    def variation(self, name: str) -> bool:
        return name in self.variations
