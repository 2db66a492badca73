"""The run's watch over its own tasks: a delete must change only what it names (DEL-ONLY-THAT).

Every delete the run sends (any key, any answer, the property tests' too) is logged here.
After each successful one, the tasks the scenarios depend on are read again; any read of a
run's task, anywhere, reports what it saw. A task seen alive that later reads as gone,
though no delete of the run named it (nor its index), vanished: a target failure. A task
whose documented fields changed across a delete that named neither it, its video nor its
index was changed: identity fields at any time; a final status that did not stay (a status
moving forward along the lifecycle is no change); ``system_metadata`` and ``updated_at``
between two final reads. A change seen with no delete in between is no delete's doing (the
lifecycle tests judge statuses), and ``hls`` is not compared (its URLs may be signed per read
and its status moves on after ready). A task that a *refused* delete named and that is gone
is the refusing clause's business, judged by the test that sent the delete.

A new task may read as gone for a moment right after its create (contract.md): for
``NEW_TASK_GRACE`` seconds, a task never seen yet that reads as gone is "not shown yet",
neither gone nor vanished (``not_shown_yet``: the rule provisioning, the probe and the
property tests' guard share).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.checks.tasks import is_date_time, parse_time, task_object_is_well_formed
from conformance.clauses import ContractViolation
from conformance.resources.cleanup import FINAL, is_gone
from conformance.wire.client import answer_lost

__all__ = ["NEW_TASK_GRACE", "Finding", "Watch"]

NEW_TASK_GRACE = 10.0
"""Seconds after its create answer during which a task never seen yet may read as gone."""
# Identity fields no delete of something else may change, at any status.
IDENTITY = ("_id", "index_id", "video_id", "created_at")
# Compared between two final reads only: a target fills them in while it indexes.
SETTLED = ("system_metadata", "updated_at")
_TASK = re.compile(r"^/tasks/([^/?#]+)$")
_VIDEO = re.compile(r"^/indexes/([^/?#]+)/videos/([^/?#]+)$")
_INDEX = re.compile(r"^/indexes/([^/?#]+)$")


@dataclass(frozen=True)
class DeleteSent:
    """One delete the run sent, as the log shows it."""

    kind: str  # task | video | index
    target: str
    status: int
    line: str
    lost: bool = False
    """Its answer was lost (``wire.client.answer_lost``): it may have been carried out."""

    @property
    def succeeded(self) -> bool:
        """Carried out, or maybe carried out (an answer lost after a dropped connection)."""
        return 200 <= self.status < 300 or self.lost


@dataclass
class Watched:
    task_id: str
    index_id: str | None
    video_id: str | None
    role: str | None
    core: bool
    """Read again after every successful delete (the scenarios' tasks); the others (property
    tests' tasks) are read once, at the end of the run."""
    identity: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    settled: dict[str, Any] = field(default_factory=dict)
    """SETTLED fields (and hls) as the last final read showed them."""
    well_formed: bool = False
    """The last final read was a well-formed task object (TASK-SHAPE)."""
    seen_alive: bool = False
    seen_after: int = 0
    """How many deletes the log held when the task was last seen alive."""
    tracked_at: float = field(default_factory=time.monotonic)
    """When its create answer came (time.monotonic())."""


@dataclass(frozen=True)
class Finding:
    """A task of the run that vanished or changed although no delete of the run named it."""

    task_id: str
    role: str | None
    what: str
    deletes: tuple[str, ...]
    """The deletes the run sent between the last good sighting and this one."""
    reproduce: str | None = None
    kind: str = "changed"
    """vanished (gone), status (its final status did not stay) or changed (other fields)."""

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


class Watch:
    """See the module docstring. ``read`` retrieves one task (an unchecked client's
    ``retrieve_task``); nothing here raises a violation: findings are kept for DEL-ONLY-THAT."""

    def __init__(self, read: Callable[[str], httpx.Response]) -> None:
        self._read = read
        self._lock = threading.RLock()
        self._tasks: dict[str, Watched] = {}
        self.deletes: list[DeleteSent] = []
        self.findings: list[Finding] = []
        self._found: set[str] = set()
        self.checks = 0
        self.closed = False

    # -- what the run made and did ---------------------------------------------------------

    def track(self, task_id: str, index_id: str | None, video_id: str | None = None, *,
              role: str | None = None, core: bool = True) -> None:
        with self._lock:
            known = self._tasks.get(task_id)
            if known is None:
                self._tasks[task_id] = Watched(task_id, index_id, video_id, role, core,
                                               seen_after=len(self.deletes))
            elif role is not None:
                known.role, known.core = role, core

    def observe(self, method: str, path: str, response: httpx.Response) -> None:
        """A client's observer: log every delete, and look around after a successful one."""
        if method.upper() != "DELETE" or self.closed:
            return
        exchange = response.extensions.get("conformance.exchange")
        lost = answer_lost(response)
        line = f"DELETE {path} -> {response.status_code}" + (
            " (sent again after its connection dropped: may have been carried out)"
            if lost else "")
        curl = exchange.curl() if exchange is not None and hasattr(exchange, "curl") else None
        self.deleted(path, response.status_code, line, curl, lost=lost)

    def deleted(self, path: str, status: int, line: str, curl: str | None = None, *,
                lost: bool = False) -> None:
        """Log one delete the run sent (``path`` below the base URL); after a successful one
        (or one whose answer was lost), read every core task again."""
        for kind, pattern in (("task", _TASK), ("video", _VIDEO), ("index", _INDEX)):
            found = pattern.match(path.split("?", 1)[0])
            if found:
                sent = DeleteSent(kind, found.groups()[-1], status, line, lost)
                with self._lock:
                    self.deletes.append(sent)
                break
        else:
            return
        if sent.succeeded and not self.closed:
            self.check()

    def close(self) -> None:
        """Cleanup deletes everything; nothing after this is watched."""
        self.closed = True

    # -- sightings -------------------------------------------------------------------------

    def saw(self, task_id: str, response: httpx.Response) -> Finding | None:
        """A read of ``task_id`` by the run; the finding it makes, if any (also kept)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            if response.status_code == 200:
                return self._alive(task, response)
            # Never seen yet and gone: a target may be slow to show a new task, unless a
            # delete of the run came in between after the grace; then that delete took it.
            if is_gone(response) and not self.expected_gone(task_id) \
                    and not self._named_since_seen(task) and not self._unseen_in_grace(task) \
                    and (task.seen_alive or len(self.deletes) > task.seen_after):
                return self._find(task, "vanished: it reads as gone "
                                  f"({response.status_code}) though the run never deleted it",
                                  response, kind="vanished")
        return None

    def not_shown_yet(self, task_id: str, response: httpx.Response) -> bool:
        """``response`` says the task is gone, but it is a task of the run created less than
        NEW_TASK_GRACE seconds ago and never seen since, that no delete named: a target may
        show a new task a moment late, so it is not gone yet (read it again)."""
        with self._lock:
            task = self._tasks.get(task_id)
            return task is not None and is_gone(response) and self._unseen_in_grace(task) \
                and not self.named(task_id)

    def _unseen_in_grace(self, task: Watched) -> bool:
        return not task.seen_alive and time.monotonic() - task.tracked_at < NEW_TASK_GRACE

    def _alive(self, task: Watched, response: httpx.Response) -> Finding | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, Mapping):
            return None
        finding = None
        if task.seen_alive and not self._named_since_seen(task) and self._deletes_since(task):
            changed, kind = self._changes(task, body)
            if changed:
                finding = self._find(task, "changed: " + "; ".join(changed), response,
                                     kind=kind)
        for name in IDENTITY:
            if body.get(name) is not None:
                task.identity.setdefault(name, body[name])
        status = body.get("status")
        task.status = status if isinstance(status, str) else task.status
        if status in FINAL:
            task.settled = {name: body.get(name) for name in (*SETTLED, "hls") if name in body}
            task.well_formed = _well_formed(body, in_list=False)
        task.seen_alive = True
        task.seen_after = len(self.deletes)
        return finding

    def _changes(self, task: Watched, body: Mapping[str, Any],
                 listed: bool = False) -> tuple[list[str], str]:
        """What differs between the task as last seen and ``body`` (a retrieve answer, or a
        list item when ``listed``), and the finding's kind."""
        changed = [f"{name} went from {task.identity[name]!r} to {body.get(name)!r}"
                   for name in IDENTITY if name in task.identity and name in body
                   and not _same(body[name], task.identity[name])]
        kind = "changed"
        status = body.get("status")
        # Moving on is no change; a final status must stay. A list may lag behind retrieve,
        # so there only a final status turned into the other one counts.
        if task.status in FINAL and status != task.status and isinstance(status, str) and \
                (not listed or status in FINAL):
            changed.insert(0, f"its final status went from {task.status!r} to {status!r}")
            kind = "status"
        if task.status in FINAL and status in FINAL:
            for name in SETTLED:
                if name == "updated_at" and (listed or body.get("hls") != task.settled.get("hls")):
                    continue  # an hls that moved on may move updated_at with it
                if name in task.settled and name in body \
                        and not _same(body[name], task.settled[name]):
                    changed.append(f"{name} went from {task.settled[name]!r} to "
                                   f"{body[name]!r} between two final reads")
        return changed, kind

    def _find(self, task: Watched, what: str, response: httpx.Response,
              key: str | None = None, kind: str = "changed") -> Finding | None:
        """Keep one finding per task (or per ``key``), with the deletes since last seen."""
        key = key or task.task_id
        if key in self._found:
            return None
        self._found.add(key)
        exchange = response.extensions.get("conformance.exchange")
        finding = Finding(task.task_id, task.role, what,
                          tuple(d.line for d in self.deletes[task.seen_after:]),
                          exchange.curl() if exchange is not None else None, kind)
        self.findings.append(finding)
        return finding

    def listed(self, task_id: str, item: Mapping[str, Any], page: httpx.Response) -> None:
        """A list item of a run's task, read whole: it must show what retrieve last showed
        (presence is ``missing_from_list``'s)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not task.seen_alive or self._named_since_seen(task) \
                    or not any(not self._names(d, task) for d in self.deletes):
                return
            # A view that renders a field off its type is a shape finding (TASK-SHAPE,
            # LIST-SHAPE, judged on every read), not a change a delete made.
            if not (task.well_formed and _well_formed(item, in_list=True)):
                return
            changed, kind = self._changes(task, item, listed=True)
            if changed:
                self._find(task, "shows otherwise in its index's list than in retrieve: " +
                           "; ".join(changed), page, kind=kind)

    def missing_from_list(self, task_id: str, page: httpx.Response) -> Finding | None:
        """The task reads as alive but its index's list, read whole, does not show it."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or self._named_since_seen(task):
                return None
            return self._find(task, "is missing from every page of its index's list, though "
                              "retrieve still shows it", page)

    def video_vanished(self, task_id: str, response: httpx.Response) -> Finding | None:
        """The video of a ready task the run never deleted answered its delete as gone."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            return self._find(task, f"lost its video {task.video_id}: its delete answered "
                              f"{response.status_code} though the run never deleted it",
                              response, key=f"video:{task.video_id}")

    def check(self, *, everything: bool = False) -> list[Finding]:
        """Read every live watched task again (core ones only, unless ``everything``)."""
        with self._lock:
            self.checks += 1
            due = [t.task_id for t in self._tasks.values() if (t.core or everything)
                   and t.task_id not in self._found and not self.expected_gone(t.task_id)]
        found = []
        for task_id in due:
            finding = self.saw(task_id, self._read(task_id))
            if finding is not None:
                found.append(finding)
        return found

    # -- questions -------------------------------------------------------------------------

    def expected_gone(self, task_id: str) -> bool:
        """The run deleted the task, or its index, successfully."""
        with self._lock:
            task = self._tasks.get(task_id)
            index = task.index_id if task is not None else None
            return any(d.succeeded and ((d.kind == "task" and d.target == task_id)
                                        or (d.kind == "index" and d.target == index))
                       for d in self.deletes)

    def named(self, task_id: str) -> bool:
        """Some delete of the run named the task, whatever it answered."""
        with self._lock:
            return any(d.kind == "task" and d.target == task_id for d in self.deletes)

    def _names(self, sent: DeleteSent, task: Watched) -> bool:
        """The delete named the task, its video or its index."""
        return (sent.kind == "task" and sent.target == task.task_id) or \
            (sent.kind == "video" and sent.target == task.video_id) or \
            (sent.kind == "index" and sent.target == task.index_id)

    def _named_since_seen(self, task: Watched) -> bool:
        """A delete of the run named the task (its video, its index) since it was last seen
        alive: what became of it is that delete's business (a refusal that removed it fails
        the refusing clause)."""
        return any(self._names(d, task) for d in self.deletes[task.seen_after:])

    def _deletes_since(self, task: Watched) -> bool:
        return len(self.deletes) > task.seen_after

    def vanished(self, task_id: str) -> Finding | None:
        """The finding that says ``task_id`` is gone, if one does."""
        with self._lock:
            return next((f for f in self.findings if f.task_id == task_id and f.vanished), None)

    def destroyed(self, task_id: str) -> Finding | None:
        """The finding that says ``task_id`` can serve no status clause any more (gone, or a
        final status changed by another delete): tests that read it raise SubjectDestroyed
        citing DEL-ONLY-THAT instead of judging their own clause on it."""
        with self._lock:
            return next((f for f in self.findings if f.task_id == task_id and f.destroys), None)

    def video_deleted(self, video_id: str) -> bool:
        with self._lock:
            return any(d.kind == "video" and d.target == video_id for d in self.deletes)

    def live(self) -> list[Watched]:
        """Watched tasks the run has not deleted nor found gone, in the order tracked."""
        with self._lock:
            return [t for t in self._tasks.values() if t.task_id not in self._found
                    and not self.expected_gone(t.task_id)]

    def deletes_since(self, task_id: str) -> list[DeleteSent]:
        with self._lock:
            task = self._tasks.get(task_id)
            return list(self.deletes[task.seen_after:]) if task is not None else []

    def summary(self) -> str:
        successful = sum(1 for d in self.deletes if d.succeeded)
        return (f"{successful} successful deletes of {len(self.deletes)} sent, "
                f"{len(self._tasks)} tasks watched, {self.checks} looks around")


def _same(now: Any, before: Any) -> bool:
    """Equal values; two date-times are equal when they name the same instant (a view may
    write ``...00Z`` where another writes ``...00.000Z``)."""
    if is_date_time(now) and is_date_time(before):
        return bool(parse_time(now) == parse_time(before))
    return bool(now == before)


def _well_formed(body: Mapping[str, Any], *, in_list: bool) -> bool:
    try:
        task_object_is_well_formed(body, in_list=in_list)
    except ContractViolation:
        return False
    return True
