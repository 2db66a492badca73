"""The watch's terms (``watch.py``): the deletes it logs, its findings, and what a read of a
run's task shows otherwise than the read before it: identity fields at any time; a final
status that did not stay (a status moving forward along the lifecycle is no change);
``system_metadata`` and ``updated_at`` between two final reads; the uploaded file's name once
a read showed it. ``hls`` is not compared: its URLs may be signed per read and its status
moves on after ready.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.tasks import is_date_time, parse_time, task_object_is_well_formed
from conformance.clauses import ContractViolation
from conformance.resources.cleanup import FINAL

__all__ = ["IDENTITY", "SETTLED", "Change", "DeleteSent", "Finding", "Seen", "Watched",
           "changes", "video_delete_misreads", "well_formed"]

IDENTITY = ("_id", "index_id", "video_id", "created_at")
"""Fields no delete of something else may change, at any status."""
SETTLED = ("system_metadata", "updated_at")
"""Compared between two final reads only: a target fills them in while it indexes."""


@dataclass(frozen=True)
class DeleteSent:
    """One delete the run sent, as the log shows it."""

    kind: str  # task | video | index
    target: str
    status: int
    line: str
    lost: bool = False
    """Its answer was lost (``wire.client.answer_lost``): it may have been carried out."""
    bracketed: bool = False
    """Sent inside ``Watch.bracket()``: the scenarios' tasks were read right before it."""

    @property
    def succeeded(self) -> bool:
        """Carried out, or maybe carried out (an answer lost after a dropped connection)."""
        return 200 <= self.status < 300 or self.lost


@dataclass(frozen=True)
class Finding:
    """A task of the run that vanished or changed although no delete of the run named it, or
    (``clause`` TASK-LIFECYCLE) whose final status did not stay with no delete to blame."""

    task_id: str
    role: str | None
    what: str
    deletes: tuple[str, ...]
    """The deletes the run sent between the last good sighting and this one."""
    reproduce: str | None = None
    kind: str = "changed"
    """vanished (gone), status (its final status did not stay) or changed (other fields)."""
    clause: str = "DEL-ONLY-THAT"

    @property
    def vanished(self) -> bool:
        """The task is gone (a changed one is still there to be judged)."""
        return self.kind == "vanished"

    @property
    def destroys(self) -> bool:
        """The task can serve no status clause any more: gone, or its final status changed."""
        return self.kind in ("vanished", "status")

    def sentence(self) -> str:
        who = f"task {self.task_id}" + (f" ({self.role})" if self.role else "")
        since = "; ".join(self.deletes[-8:]) or "none"
        more = f" (and {len(self.deletes) - 8} earlier)" if len(self.deletes) > 8 else ""
        return f"{who} {self.what}; deletes the run sent since it was last seen: {since}{more}"


@dataclass(frozen=True)
class Change:
    kind: str
    """status (a final status that did not stay), or field (any other documented field)."""
    text: str


@dataclass
class Seen:
    """A task as the run last read it alive."""

    filename: str | None = None
    """The name its file was uploaded under (None: made from a URL, or not the run's upload)."""
    identity: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    settled: dict[str, Any] = field(default_factory=dict)
    """SETTLED fields (and hls) as the last final read showed them."""
    well_formed: bool = False
    """The last final read was a well-formed task object (TASK-SHAPE)."""
    named: bool = False
    """A read showed ``system_metadata.filename`` as the uploaded name: from then on the name
    is the task's, whatever its status."""

    def update(self, body: Mapping[str, Any]) -> None:
        """Remember what ``body`` (a retrieve answer of the task) shows."""
        for name in IDENTITY:
            if body.get(name) is not None:
                self.identity.setdefault(name, body[name])
        status = body.get("status")
        self.status = status if isinstance(status, str) else self.status
        if status in FINAL:
            self.settled = {name: body.get(name) for name in (*SETTLED, "hls") if name in body}
            self.well_formed = well_formed(body, in_list=False)
        if self.filename is not None and _filename(body) == self.filename:
            self.named = True


@dataclass
class Watched:
    task_id: str
    index_id: str | None
    video_id: str | None
    role: str | None
    core: bool
    """Read again after every successful delete (the scenarios' tasks); the others (property
    tests' tasks) are read once, at the end of the run."""
    seen: Seen = field(default_factory=Seen)
    seen_alive: bool = False
    gone: bool = False  # its last read said it is gone, whoever removed it
    seen_after: int = 0
    """How many deletes the log held when the task was last seen alive."""
    listed_after: int | None = None
    """How many deletes the log held when its index's list last showed it (None: never)."""
    listed_status: Any = None
    """The status that list showed it in."""
    tracked_at: float = field(default_factory=time.monotonic)
    """When its create answer came (time.monotonic())."""

    @property
    def status(self) -> str | None:
        return self.seen.status


def changes(seen: Seen, body: Mapping[str, Any], *, listed: bool = False) -> list[Change]:
    """What differs between the task as last ``seen`` and ``body`` (a retrieve answer, or a
    list item when ``listed``)."""
    found = [Change("field", f"{name} went from {seen.identity[name]!r} to {body.get(name)!r}")
             for name in IDENTITY if name in seen.identity and name in body
             and not _same(body[name], seen.identity[name])]
    status = body.get("status")
    # A list may lag behind retrieve, and one read after the other is no delete's doing, so
    # a list item's status is never compared (the lifecycle tests judge every read's).
    if seen.status in FINAL and status != seen.status and isinstance(status, str) \
            and not listed:
        found.insert(0, Change("status", f"its final status went from {seen.status!r} to "
                                         f"{status!r}"))
    both_final = seen.status in FINAL and status in FINAL
    if both_final:
        for name in SETTLED:
            if name == "updated_at" and (listed or body.get("hls") != seen.settled.get("hls")):
                continue  # an hls that moved on may move updated_at with it
            if name in seen.settled and name in body \
                    and not _same(body[name], seen.settled[name]):
                found.append(Change("field", f"{name} went from {seen.settled[name]!r} to "
                                             f"{body[name]!r} between two final reads"))
    elif seen.named and isinstance(_filename(body), str) and _filename(body) \
            and _filename(body) != seen.filename:
        found.append(Change("field", f"system_metadata.filename went from {seen.filename!r} "
                                     f"(the name it was uploaded under, shown before) to "
                                     f"{_filename(body)!r}"))
    return found


def _filename(body: Mapping[str, Any]) -> Any:
    meta = body.get("system_metadata")
    return meta.get("filename") if isinstance(meta, Mapping) else None


def _same(now: Any, before: Any) -> bool:
    """Equal values; two date-times are equal when they name the same instant (a view may
    write ``...00Z`` where another writes ``...00.000Z``)."""
    if is_date_time(now) and is_date_time(before):
        return bool(parse_time(now) == parse_time(before))
    return bool(now == before)


def well_formed(body: Mapping[str, Any], *, in_list: bool) -> bool:
    try:
        task_object_is_well_formed(body, in_list=in_list)
    except ContractViolation:
        return False
    return True


def video_delete_misreads(deletes: Sequence[DeleteSent], ready: Mapping[str, str]) -> str | None:
    """Why this target's video delete answering 404 is no evidence that a video is gone (None:
    it is): the run saw it answer 404 for the video of a ready task right after the run's
    delete of that task was refused (400: a ready task is refused while its video exists,
    DEL-VIDEO-FIRST), with no delete in between that named the video or could have acted on
    it (one carried out, or another refusal). ``ready``: video ID -> task ID, of the run's
    tasks last seen ready."""
    for at, sent in enumerate(deletes):
        task_id = ready.get(sent.target)
        if sent.kind != "video" or sent.status != 404 or sent.lost or task_id is None:
            continue
        for earlier in reversed(deletes[:at]):
            if earlier.kind == "task" and earlier.target == task_id:
                if earlier.status == 400 and not earlier.lost:
                    return (f"this target answered 404 to the delete of video {sent.target} "
                            f"right after refusing the delete of its ready task {task_id} "
                            "(so the video was there: see DEL-VIDEO-FIRST)")
                break
            if earlier.succeeded or earlier.status == 400 or \
                    (earlier.kind == "video" and earlier.target == sent.target):
                break
    return None
