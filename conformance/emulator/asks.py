"""The questions the emulator's rules answer, one type per rule family, and what they answer.

Each ask carries its *subject*: the words a fault or a mutant picks its cases by (a key kind,
the status a delete meets, the view a task is read in, a field of the task object). The store
and the handlers build asks and act on the answers; the rules (rules.py) decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.emulator.media import Probe
from conformance.emulator.model import DomainError, Index, ListQuery, Task

NOBODY: Any = object()
"""The body of an answer that has none (a 204, a bodiless 429)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the rules decided it: status, body (JSON-able, bytes or NOBODY), headers,
    and a media type (None: JSON's, as the rules say it)."""

    status: int
    body: Any = NOBODY
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str | None = None


@dataclass(frozen=True, slots=True)
class Env:
    """What a patch may need to know of the emulator it patches."""

    time_scale: float = 1.0


# --- who may call what ----------------------------------------------------------------------
KEY_KINDS = ("missing", "empty", "unknown", "suffix", "truncated", "case")
"""Every kind of key but a valid one: a look-alike is named by how it differs from a key."""


@dataclass(frozen=True, slots=True)
class CallAsk:
    operation: str
    kind: str  # valid, or one of KEY_KINDS
    account: str | None  # the key's account, or the account a look-alike resembles
    first: str  # the first configured account


@dataclass(frozen=True, slots=True)
class Caller:
    """Whose request it is; ``refusal`` answers it (after acting, when ``account`` is set)."""

    account: str | None
    refusal: DomainError | None = None


@dataclass(frozen=True, slots=True)
class ReachAsk:
    """May ``caller`` act on a resource ``owner`` holds? ``subject`` is what the resource is:
    a task's kind (SUBJECTS) or ``index``."""

    operation: str
    caller: str
    owner: str
    subject: str


# --- deletes --------------------------------------------------------------------------------
TASK_SUBJECTS = ("uploading", "validating", "pending", "queued", "indexing",
                 "validating-to-failed", "pending-to-failed", "ready-with-video",
                 "ready-without-video", "failed")
"""What a task is to a delete: its status, where it is bound while unfinished, whether a ready
one still has its video."""


@dataclass(frozen=True, slots=True)
class DeleteAsk:
    task: Task
    subject: str  # one of TASK_SUBJECTS
    index_unlocked: bool  # a video of the task's index was deleted once
    caller: str  # the account asking (another than the task's, when a rule let it reach)


@dataclass(frozen=True, slots=True)
class Effect:
    """One change a delete makes: bury, revive (``after`` seconds), rename, fail (now),
    end-failed (its schedule runs on but ends failed), forget-video."""

    kind: str
    task: Task
    after: float = 0.0
    value: str = ""


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Other tasks of the account, for effects that reach past what a delete names."""

    same_index: Callable[[], list[Task]]  # live, creation order, the named task left out
    other_indexes: Callable[[], list[Task]]
    now: float


@dataclass(frozen=True, slots=True)
class EffectAsk:
    operation: str  # delete_task | delete_video
    task: Task
    subject: str
    refusal: DomainError | None
    neighbours: Neighbours


@dataclass(frozen=True, slots=True)
class DoneAsk:
    """A successful delete, to be answered: ``subject`` is the task's (or video, index)."""

    operation: str
    subject: str


@dataclass(frozen=True, slots=True)
class MissingAsk:
    """An ID that names no task of the caller the caller may reach; ``history``: never (no
    account ever held it), deleted (the caller's, deleted), foreign, foreign-deleted."""

    operation: str
    task_id: str
    history: str


ID_KINDS = ("uppercase", "extra-char", "missing-char", "spaced", "non-hex", "short", "long",
            "non-ascii")


@dataclass(frozen=True, slots=True)
class IdAsk:
    """A path ID; ``kind`` is ``well-formed`` or one of ID_KINDS, ``near`` finds the live task
    of the caller a malformed ID is a near miss of (None: none)."""

    operation: str
    name: str
    text: str
    kind: str
    near: Callable[[], str | None]
    owned: Callable[[], list[str]]  # the IDs of the caller's live tasks


@dataclass(frozen=True, slots=True)
class VideoAsk:
    task: Task | None  # the task whose video it is, when the video exists
    video_id: str
    subject: str  # the task's (TASK_SUBJECTS), or "none"


# --- creates --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateAsk:
    """``subject``: valid, missing-index, malformed-index, unknown-index, foreign-index,
    no-source. ``index``: the index the create names when the caller may use it; ``newest``:
    the caller's newest index (where an accepted create without a usable index lands)."""

    subject: str
    index: Index | None
    newest: Index | None
    probe: Probe | None
    source: str  # file | url | none
    index_subject: str  # the subject the index alone makes (valid, missing-index, ...)


@dataclass(frozen=True, slots=True)
class Admission:
    """What a create does: make a task in ``index`` from ``probe`` (or make nothing), then
    answer ``refusal`` when set; ``pretend`` answers success without making anything."""

    index: Index | None = None
    probe: Probe | None = None
    refusal: DomainError | None = None
    pretend: bool = False


@dataclass(frozen=True, slots=True)
class CreatedAsk:
    operation: str  # create_task | create_index
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanAsk:
    probe: Probe


@dataclass(frozen=True, slots=True)
class Plan:
    phases: tuple[tuple[str, float], ...]
    final: str


# --- reading --------------------------------------------------------------------------------
VIEWS = ("retrieve", "delete", "list", "list-by-index", "list-by-status", "list-by-statuses")
"""Where a task can be seen; a list's view is the contract filters it was asked with."""


@dataclass(frozen=True, slots=True)
class ShowAsk:
    view: str
    task: Task
    deleted_at: float | None  # when it was deleted (None: live)
    now: float


@dataclass(frozen=True, slots=True)
class RenderAsk:
    """``body`` as the view renders it; ``hls`` the object a retrieve of a streamable task
    carries (None: not streamable), for rules that put it where it does not belong."""

    view: str  # retrieve | list
    task: Task
    status: str
    body: dict[str, Any]
    hls: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class MatchAsk:
    """Does ``task`` (in ``status`` now) pass filter ``name`` of ``query``?"""

    name: str
    query: ListQuery
    task: Task
    status: str
    updated: float


@dataclass(frozen=True, slots=True)
class PageAsk:
    query: ListQuery
    view: str
    total: int
    unfiltered_total: Callable[[], int]


@dataclass(frozen=True, slots=True)
class ItemsAsk:
    query: ListQuery
    view: str
    total: int
    items: list[Task]
    last_deleted: Task | None


@dataclass(frozen=True, slots=True)
class QueryPolicy:
    """How strictly list queries are read: ``lenient`` ignores what the contract need not
    refuse, ``bounds`` are maxima tighter than the spec's, ``clamp`` serves 50 for more."""

    lenient: bool = False
    bounds: Mapping[str, int] = field(default_factory=dict)
    clamp: bool = False
    limit_cap: int | None = 50  # page_limit above it is refused or clamped (None: served)


@dataclass(frozen=True, slots=True)
class ErrorAsk:
    """An error answer to render: status, code, message, headers, and ``kind`` (what went
    wrong: auth, unknown-id, refusal, bad-query, malformed-id, create, route, throttle, ...)."""

    status: int
    code: str
    message: str
    kind: str
    operation: str
    key: str | None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ThrottleAsk:
    count: int  # the request's number, counted across every caller
