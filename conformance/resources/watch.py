"""The run's watch over its own tasks: a delete must change only what it names (DEL-ONLY-THAT).

Every delete the run sends (any key, any answer, the property tests' too) is logged here.
After each successful one, the tasks the scenarios depend on are read again; any read of a
run's task, anywhere, reports what it saw. A task seen alive that later reads as gone,
though no delete of the run named it (nor its index), vanished: a target failure. A task
whose identity fields changed without a delete naming it was changed. A task that a
*refused* delete named and that is gone is the refusing clause's business, judged by the
test that sent the delete, so it is no finding here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources.cleanup import FINAL, is_gone

__all__ = ["Finding", "Watch"]

# Identity fields a delete of something else must leave alone. system_metadata is compared
# only between two final reads: a target may fill it in while indexing.
IDENTITY = ("_id", "index_id", "video_id", "created_at")
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

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


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
    metadata: Any = None
    seen_alive: bool = False
    seen_after: int = 0
    """How many deletes the log held when the task was last seen alive."""


@dataclass(frozen=True)
class Finding:
    """A task of the run that vanished or changed although no delete of the run named it."""

    task_id: str
    role: str | None
    what: str
    deletes: tuple[str, ...]
    """The deletes the run sent between the last good sighting and this one."""
    reproduce: str | None = None

    @property
    def vanished(self) -> bool:
        """The task is gone (a changed one is still there to be judged)."""
        return self.what.startswith("vanished")

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
        line = f"DELETE {path} -> {response.status_code}"
        curl = exchange.curl() if exchange is not None and hasattr(exchange, "curl") else None
        self.deleted(path, response.status_code, line, curl)

    def deleted(self, path: str, status: int, line: str, curl: str | None = None) -> None:
        """Log one delete the run sent (``path`` below the base URL); after a successful one,
        read every core task again."""
        for kind, pattern in (("task", _TASK), ("video", _VIDEO), ("index", _INDEX)):
            found = pattern.match(path.split("?", 1)[0])
            if found:
                with self._lock:
                    self.deletes.append(DeleteSent(kind, found.groups()[-1], status, line))
                break
        else:
            return
        if 200 <= status < 300 and not self.closed:
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
            # delete of the run came in between; then that delete took it.
            if is_gone(response) and not self.expected_gone(task_id) \
                    and not self._named_since_seen(task) \
                    and (task.seen_alive or len(self.deletes) > task.seen_after):
                return self._find(task, "vanished: it reads as gone "
                                  f"({response.status_code}) though the run never deleted it",
                                  response)
        return None

    def _alive(self, task: Watched, response: httpx.Response) -> Finding | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, Mapping):
            return None
        finding = None
        if task.seen_alive and not self._named_since_seen(task):
            changed = [f"{name} went from {task.identity[name]!r} to {body.get(name)!r}"
                       for name in IDENTITY if name in task.identity and name in body
                       and body[name] != task.identity[name]]
            final_now = body.get("status") in FINAL
            if task.status in FINAL and final_now and task.metadata is not None \
                    and "system_metadata" in body and body["system_metadata"] != task.metadata:
                changed.append(f"system_metadata went from {task.metadata!r} to "
                               f"{body['system_metadata']!r}")
            if changed:
                finding = self._find(task, "changed: " + "; ".join(changed), response)
        for name in IDENTITY:
            if body.get(name) is not None:
                task.identity.setdefault(name, body[name])
        status = body.get("status")
        task.status = status if isinstance(status, str) else task.status
        if status in FINAL and "system_metadata" in body:
            task.metadata = body["system_metadata"]
        task.seen_alive = True
        task.seen_after = len(self.deletes)
        return finding

    def _find(self, task: Watched, what: str, response: httpx.Response,
              key: str | None = None) -> Finding | None:
        """Keep one finding per task (or per ``key``), with the deletes since last seen."""
        key = key or task.task_id
        if key in self._found:
            return None
        self._found.add(key)
        exchange = response.extensions.get("conformance.exchange")
        finding = Finding(task.task_id, task.role, what,
                          tuple(d.line for d in self.deletes[task.seen_after:]),
                          exchange.curl() if exchange is not None else None)
        self.findings.append(finding)
        return finding

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

    def _named_since_seen(self, task: Watched) -> bool:
        """A delete of the run named the task since it was last seen alive: what became of it
        is that delete's business (a refusal that removed it fails the refusing clause)."""
        return any(d.kind == "task" and d.target == task.task_id
                   for d in self.deletes[task.seen_after:])

    def vanished(self, task_id: str) -> Finding | None:
        """The finding that says ``task_id`` is gone, if one does."""
        with self._lock:
            return next((f for f in self.findings if f.task_id == task_id and f.vanished), None)

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
