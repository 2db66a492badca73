"""The emulator's records (indexes, tasks, list queries) and domain errors, and nothing else.

Every other emulator module imports these from here; this module imports none of them, so the
store, the list orders and the wire side all point one way, down to the records.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from conformance.emulator.lifecycle import Schedule


class DomainError(Exception):
    """An answer other than success; ``status`` and ``kind`` (what went wrong, for the rules
    that pick errors by it) default per subclass."""

    status = 400
    kind = "invalid"

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 kind: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind


class NotFound(DomainError):
    """The resource does not exist for this account (never existed, deleted, or foreign)."""

    status = 404
    kind = "unknown-id"


class Invalid(DomainError):
    """The request names things that cannot be used (bad reference, bad combination)."""


class Refused(DomainError):
    """The request is understood but the resource's state forbids it."""

    kind = "refusal"


class Forbidden(DomainError):
    """The caller may not act on the resource (only a fault answers this)."""

    status = 403


def new_id() -> str:
    return secrets.token_hex(12)


@dataclass(slots=True)
class Index:
    id: str
    account: str
    name: str
    models: list[dict[str, Any]]
    created_at: float
    any_video_deleted: bool = False  # whether a video of this index was ever deleted


@dataclass(slots=True)
class Task:
    id: str
    account: str
    index_id: str
    video_id: str
    seq: int
    created_at: float
    schedule: Schedule
    filename: str
    enable_stream: bool
    failure: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    user_metadata: dict[str, Any] | None = None
    video_deleted: bool = False

    def status_at(self, now: float) -> tuple[str, float]:
        return self.schedule.status_at(now)

    def video_exists(self, now: float) -> bool:
        """The video joins the index when its task is ready, and leaves it when deleted."""
        return not self.video_deleted and self.status_at(now)[0] == "ready"


@dataclass(frozen=True, slots=True)
class ListQuery:
    page: int = 1
    page_limit: int = 10
    sort_by: str = "created_at"
    descending: bool = True
    index_id: str | None = None
    statuses: frozenset[str] | None = None
    filename: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    created_at: float | None = None
    updated_at: float | None = None
    offset: int | None = None
    """Where the page starts, when not at ``(page - 1) * page_limit`` (a rule shifts it)."""
    span: int | None = None
    """How many items the page holds, when not ``page_limit`` (a rule changes it)."""

    def unfiltered(self) -> bool:
        """No filter at all: the account's whole list (paging and sorting aside)."""
        return (self.index_id is None and self.statuses is None and self.filename is None
                and self.duration is None and self.width is None and self.height is None
                and self.created_at is None and self.updated_at is None)

    def window(self) -> tuple[int, int]:
        start = (self.page - 1) * self.page_limit if self.offset is None else self.offset
        return start, start + (self.page_limit if self.span is None else self.span)
