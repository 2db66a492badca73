"""The emulator's contract decisions, each one named function, and the table that holds them.

Every decision the contract constrains (who may call what, whose resources a caller reaches,
which states may be deleted, what a refusal and a success look like, what a delete removes,
what each view shows, how filters, sorting and pages behave, which fields a task object has)
is a function here, called from one place in the store or the handlers. A fault, a variation
or a generated mutant is a list of ``Patch``es: each replaces or wraps one named decision,
usually for a chosen subject only, and nothing else in the emulator knows it is there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conformance.emulator import lifecycle
from conformance.emulator.asks import (
    Admission,
    Answer,
    CallAsk,
    Caller,
    CreateAsk,
    CreatedAsk,
    DeleteAsk,
    DoneAsk,
    Effect,
    EffectAsk,
    Env,
    ErrorAsk,
    IdAsk,
    ItemsAsk,
    MatchAsk,
    MissingAsk,
    PageAsk,
    Plan,
    PlanAsk,
    QueryPolicy,
    ReachAsk,
    RenderAsk,
    ShowAsk,
    ThrottleAsk,
    VideoAsk,
)
from conformance.emulator.model import DomainError, Invalid, ListQuery, NotFound, Refused, Task

FINAL_SUBJECTS = frozenset({"ready-with-video", "ready-without-video", "failed"})


def served(operation: str) -> DomainError | None:
    """Whether an operation exists at all (None: it does)."""
    return None


def throttle(ask: ThrottleAsk) -> Answer | DomainError | None:
    """A request turned away before anything else (a 429), or None."""
    return None


def caller(ask: CallAsk) -> Caller:
    """Only a valid key names an account; anything else is 401 before any other check."""
    if ask.kind == "valid":
        return Caller(ask.account)
    why = ("The x-api-key header is missing." if ask.kind == "missing"
           else "The API key is invalid or expired.")
    return Caller(None, DomainError("api_key_invalid", why, status=401, kind="auth"))


def reach(ask: ReachAsk) -> bool:
    """A caller reaches only its own account's tasks, videos and indexes."""
    return ask.caller == ask.owner


def may_delete(ask: DeleteAsk) -> DomainError | None:
    """Ready (with its video deleted) and failed tasks may be deleted, nothing else."""
    if ask.subject in ("failed", "ready-without-video"):
        return None
    if ask.subject == "ready-with-video":
        return Refused("task_cannot_be_deleted", f"Delete video {ask.task.video_id} first; a "
                       "ready task cannot be deleted while its video exists.")
    status = ask.subject.split("-to-")[0]
    return Refused("task_cannot_be_deleted", f"The task is {status}; only ready or failed "
                   "tasks can be deleted.")


def delete_effects(ask: EffectAsk) -> tuple[Effect, ...]:
    """What a delete changes: what it names, and only when it is not refused."""
    if ask.refusal is not None:
        return ()
    if ask.operation == "delete_video":
        return (Effect("forget-video", ask.task),)
    return (Effect("bury", ask.task),)


def may_delete_video(ask: VideoAsk) -> DomainError | None:
    """A video exists from its task's ready until it is deleted."""
    if ask.task is None:
        return NotFound("resource_not_exist", f"Video {ask.video_id} does not exist (a video "
                        "joins its index when its task is ready).")
    return None


def deleted_answer(ask: DoneAsk) -> Answer:
    """Every successful delete: 204, no body."""
    return Answer(204)


def missing(ask: MissingAsk) -> DomainError | Answer:
    """An ID the caller holds no live task of (or may not reach): 404 resource_not_exist."""
    return NotFound("resource_not_exist", f"Task {ask.task_id} does not exist.")


def path_id(ask: IdAsk) -> str | DomainError | Answer:
    """IDs are 24 lowercase hex characters; anything else is 400 parameter_invalid."""
    if ask.kind == "well-formed":
        return ask.text
    return DomainError("parameter_invalid", f"The {ask.name} parameter must be 24 lowercase "
                       "hexadecimal characters.", kind="malformed-id")


def may_create(ask: CreateAsk) -> Admission:
    """A create needs a video source and an index of the caller's own."""
    refusal: DomainError | None = None
    if ask.subject == "no-source":
        refusal = DomainError("parameter_not_provided", "The video_file or video_url "
                              "parameter is required.", kind="create")
    elif ask.subject == "missing-index":
        refusal = DomainError("parameter_not_provided", "The index_id parameter is required.",
                              kind="create")
    elif ask.subject == "malformed-index":
        refusal = Invalid("parameter_invalid", "The index_id parameter must be 24 lowercase "
                          "hexadecimal characters.", kind="create")
    elif ask.subject in ("unknown-index", "foreign-index"):
        refusal = Invalid("resource_not_exist", "The index does not exist.", kind="create")
    if refusal is not None:
        return Admission(refusal=refusal)
    return Admission(ask.index, ask.probe)


def created_answer(ask: CreatedAsk) -> Answer:
    """Create task: 200 {_id, video_id}; create index: 201 {_id}."""
    return Answer(201 if ask.operation == "create_index" else 200, ask.body)


def schedule(ask: PlanAsk) -> Plan:
    """A good video goes validating, pending, queued, indexing, ready; a bad one fails."""
    failure = ask.probe.failure
    if failure is None:
        return Plan(lifecycle.PHASES_TO_READY, "ready")
    if failure == "video_url_unreachable":
        return Plan(lifecycle.PHASES_TO_FAILED_LATE, "failed")
    return Plan(lifecycle.PHASES_TO_FAILED, "failed")


def shown(ask: ShowAsk) -> bool:
    """A view shows live tasks only."""
    return ask.deleted_at is None


def task_fields(ask: RenderAsk) -> dict[str, Any]:
    """The task object of a view, as rendered (render.py builds the documented fields)."""
    return ask.body


def timestamp(moment: float) -> str:
    """RFC 3339 in UTC with milliseconds and Z."""
    when = datetime.fromtimestamp(moment, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def matches(ask: MatchAsk) -> bool:
    """Filter ``name`` of the query keeps the task (equality; at or after for date-times)."""
    q, task = ask.query, ask.task
    if ask.name == "index_id":
        return task.index_id == q.index_id
    if ask.name == "status":
        return q.statuses is not None and ask.status in q.statuses
    if ask.name in ("created_at", "updated_at"):
        moment = task.created_at if ask.name == "created_at" else ask.updated
        bound = getattr(q, ask.name)
        return bound is not None and moment >= bound
    return bool(getattr(task, ask.name) == getattr(q, ask.name))


def order(query: ListQuery) -> tuple[str, bool]:
    """The sort key and whether it runs descending, as asked."""
    return query.sort_by, query.descending


def window(ask: PageAsk) -> tuple[int, int]:
    """Page n of size k holds items (n-1)k up to nk of the sorted set."""
    start = (ask.query.page - 1) * ask.query.page_limit
    return start, start + ask.query.page_limit


def page_items(ask: ItemsAsk) -> list[Task]:
    """A page holds its window of the set, nothing more."""
    return ask.items


def page_info(ask: PageAsk) -> dict[str, int]:
    """The page asked for, its size, and the filtered set's totals."""
    limit = ask.query.page_limit
    return {"limit_per_page": limit, "page": ask.query.page,
            "total_page": -(-ask.total // limit), "total_results": ask.total}


def query_policy() -> QueryPolicy:
    """Every bad query value is refused; page_limit above 50 too."""
    return QueryPolicy()


def media_type() -> str:
    return "application/json"


def envelope(ask: ErrorAsk) -> Answer:
    """Every error is application/json {code, message}."""
    return Answer(ask.status, {"code": ask.code, "message": ask.message}, ask.headers)


def headers(operation: str) -> Mapping[str, str]:
    """Headers every answer of an operation carries beyond its own (none)."""
    return {}


DECISIONS: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in (
    served, throttle, caller, reach, may_delete, delete_effects, may_delete_video,
    deleted_answer, missing, path_id, may_create, created_answer, schedule, shown,
    task_fields, timestamp, matches, order, window, page_items, page_info, query_policy,
    media_type, envelope, headers)}


@dataclass(frozen=True)
class Patch:
    """Replace decision ``rule`` with ``wrap(decision, env)`` (which may call the decision)."""

    rule: str
    wrap: Callable[[Callable[..., Any], Env], Callable[..., Any]]

    def __post_init__(self) -> None:
        if self.rule not in DECISIONS:
            raise ValueError(f"no decision named {self.rule!r}")


class Rules:
    """The decisions one emulator runs with: the defaults, patched in order."""

    served: Callable[[str], DomainError | None]
    throttle: Callable[[ThrottleAsk], Answer | DomainError | None]
    caller: Callable[[CallAsk], Caller]
    reach: Callable[[ReachAsk], bool]
    may_delete: Callable[[DeleteAsk], DomainError | None]
    delete_effects: Callable[[EffectAsk], tuple[Effect, ...]]
    may_delete_video: Callable[[VideoAsk], DomainError | None]
    deleted_answer: Callable[[DoneAsk], Answer]
    missing: Callable[[MissingAsk], DomainError | Answer]
    path_id: Callable[[IdAsk], str | DomainError | Answer]
    may_create: Callable[[CreateAsk], Admission]
    created_answer: Callable[[CreatedAsk], Answer]
    schedule: Callable[[PlanAsk], Plan]
    shown: Callable[[ShowAsk], bool]
    task_fields: Callable[[RenderAsk], dict[str, Any]]
    timestamp: Callable[[float], str]
    matches: Callable[[MatchAsk], bool]
    order: Callable[[ListQuery], tuple[str, bool]]
    window: Callable[[PageAsk], tuple[int, int]]
    page_items: Callable[[ItemsAsk], list[Task]]
    page_info: Callable[[PageAsk], dict[str, int]]
    query_policy: Callable[[], QueryPolicy]
    media_type: Callable[[], str]
    envelope: Callable[[ErrorAsk], Answer]
    headers: Callable[[str], Mapping[str, str]]

    def __init__(self, patches: Iterable[Patch] = (), env: Env | None = None) -> None:
        self.env = env or Env()
        self.patched: frozenset[str] = frozenset()
        for name, decision in DECISIONS.items():
            setattr(self, name, decision)
        for patch in patches:
            setattr(self, patch.rule, patch.wrap(getattr(self, patch.rule), self.env))
            self.patched |= {patch.rule}

    def pristine(self, *names: str) -> bool:
        """None of these decisions is patched (the store may answer from its kept orders)."""
        return self.patched.isdisjoint(names)
