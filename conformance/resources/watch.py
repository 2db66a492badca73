"""The run's watch over its own tasks: a delete must change only what it names (DEL-ONLY-THAT).

Every delete the run sends (any key, any answer, the property tests' too) is logged here.
After each successful one, the tasks the scenarios depend on are read again; any read of a
run's task, anywhere, reports what it saw. A task seen alive that later reads as gone,
though no delete of the run named it (nor its index), vanished: a target failure. A task
whose documented fields changed (``changes.py``) since the last read, while deletes naming
neither it, its video nor its index were sent, was changed by one of them.

A final status that did not stay is a lifecycle fact (TASK-LIFECYCLE) first; it is a delete's
doing (DEL-ONLY-THAT) only when that delete is all that came between two reads: the deletes a
scenario expects to change something are sent inside ``bracket()``, which reads every task
of the scenarios right before them and right after. A final status that changed anywhere else
is kept as a lifecycle record (``lifecycle``), never as a DEL-ONLY-THAT finding. A task that a
delete named (a refusal that removed it) is the refusing clause's business, judged by the test
that sent the delete.

A new task may read as gone for a moment right after its create (contract.md): for
``NEW_TASK_GRACE`` seconds, a task never seen yet that reads as gone is "not shown yet",
neither gone nor vanished (``not_shown_yet``: the rule provisioning, the probe and the
property tests' guard share). A task never seen alive cannot have vanished: past the grace it
was never retrievable (``never_shown``: CREATE-OK's).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from conformance.resources.changes import (
    Change,
    DeleteSent,
    Finding,
    Seen,
    Watched,
    changes,
    well_formed,
)
from conformance.resources.cleanup import is_gone
from conformance.wire.client import answer_lost

__all__ = ["NEW_TASK_GRACE", "Watch"]

NEW_TASK_GRACE = 10.0
"""Seconds after its create answer during which a task never seen yet may read as gone."""
_TASK = re.compile(r"^/tasks/([^/?#]+)$")
_VIDEO = re.compile(r"^/indexes/([^/?#]+)/videos/([^/?#]+)$")
_INDEX = re.compile(r"^/indexes/([^/?#]+)$")
_INDEX_VIEW = frozenset({"index_id", "page", "page_limit", "sort_by", "sort_option"})
"""Query keys of a list that is an index's list (the view a task missing from it left)."""


class Watch:
    """See the module docstring. ``read`` retrieves one task (an unchecked client's
    ``retrieve_task``); nothing here raises a violation: findings are kept for DEL-ONLY-THAT,
    lifecycle records for the tests whose subject they destroy."""

    def __init__(self, read: Callable[[str], httpx.Response]) -> None:
        self._read = read
        self._lock = threading.RLock()
        self._tasks: dict[str, Watched] = {}
        self.deletes: list[DeleteSent] = []
        self.findings: list[Finding] = []
        """DEL-ONLY-THAT's findings."""
        self.lifecycle: list[Finding] = []
        """Final statuses that did not stay, no delete to blame (TASK-LIFECYCLE's)."""
        self._found: set[str] = set()
        self._bracketing = 0
        self._looked = 0
        self.checks = 0
        self.closed = False

    # -- what the run made and did ---------------------------------------------------------

    def track(self, task_id: str, index_id: str | None, video_id: str | None = None, *,
              role: str | None = None, core: bool = True, filename: str | None = None) -> None:
        """A task of the run (``filename``: the name its file was uploaded under)."""
        with self._lock:
            known = self._tasks.get(task_id)
            if known is None:
                self._tasks[task_id] = Watched(task_id, index_id, video_id, role, core,
                                               Seen(filename), seen_after=len(self.deletes))
            elif role is not None:
                known.role, known.core = role, core

    def observe(self, method: str, path: str, response: httpx.Response) -> None:
        """A client's observer: log every delete (and look around after a successful one),
        and note which tasks an index's list shows."""
        if self.closed:
            return
        if method.upper() == "GET":
            self._list_answer(response)
            return
        if method.upper() != "DELETE":
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
                with self._lock:
                    sent = DeleteSent(kind, found.groups()[-1], status, line, lost,
                                      self._bracketing > 0)
                    self.deletes.append(sent)
                break
        else:
            return
        if sent.succeeded and not self.closed:
            self.check()

    @contextmanager
    def bracket(self) -> Iterator[None]:
        """Around a delete a scenario expects to change something (accepted, or refused): every
        core task is read right before it and right after, so a change between those reads
        is that delete's doing, and a final status that changed elsewhere is no delete's."""
        if self.closed:
            yield
            return
        self.check()
        with self._lock:
            start = len(self.deletes)
            self._bracketing += 1
        try:
            yield
        finally:
            with self._lock:
                self._bracketing -= 1
                sent = self.deletes[start:]
            if not any(d.succeeded for d in sent) and not self.closed:
                self.check()  # a successful delete was looked around after already

    def now_and_then(self, sent: int, every: int = 50) -> None:
        """Look around once per ``every`` requests of a stretch no scenario reads the run's
        tasks in (the property tests, ``sent`` requests so far): their deletes may change
        other tasks, and a final status must stay final all along, not only near a delete."""
        if sent // every > self._looked:
            self._looked = sent // every
            self.check()

    def close(self) -> None:
        """Cleanup deletes everything; nothing after this is watched."""
        self.closed = True

    def _list_answer(self, response: httpx.Response) -> None:
        """Which tasks of the run a list of their index, read with the owner's key, shows."""
        exchange = response.extensions.get("conformance.exchange")
        if response.status_code != 200 or getattr(exchange, "key_label", None) != "primary":
            return
        try:
            url = response.request.url
        except RuntimeError:
            return
        index = url.params.get("index_id")
        if not url.path.endswith("/tasks") or index is None \
                or not set(url.params.keys()) <= _INDEX_VIEW:
            return
        try:
            body = response.json()
        except ValueError:
            return
        if not isinstance(body, Mapping):
            return
        items = body.get("data")
        with self._lock:
            for item in items if isinstance(items, list) else []:
                task = self._tasks.get(str(item.get("_id"))) if isinstance(item, Mapping) \
                    else None
                if task is not None and task.index_id == index:
                    task.listed_after, task.listed_status = len(self.deletes), item.get("status")

    # -- sightings -------------------------------------------------------------------------

    def saw(self, task_id: str, response: httpx.Response) -> Finding | None:
        """A read of ``task_id`` by the run; the DEL-ONLY-THAT finding it makes, if any."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            if response.status_code == 200:
                task.gone = False
                return self._alive(task, response)
            task.gone = task.gone or (is_gone(response) and task.seen_alive)
            # Only a task seen alive can vanish: one never seen is not shown yet (within
            # the grace) or was never retrievable (past it: ``never_shown``).
            if is_gone(response) and task.seen_alive and not self.expected_gone(task_id) \
                    and not self._named_since_seen(task):
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

    def never_shown(self, task_id: str, response: httpx.Response) -> bool:
        """``response`` says the task is gone, it was never seen alive, no delete named it and
        its grace is over: the create made a task that was never retrievable (CREATE-OK)."""
        with self._lock:
            task = self._tasks.get(task_id)
            return task is not None and is_gone(response) and not task.seen_alive \
                and not self._unseen_in_grace(task) and not self.named(task_id) \
                and not self.expected_gone(task_id)

    def _unseen_in_grace(self, task: Watched) -> bool:
        return not task.seen_alive and time.monotonic() - task.tracked_at < NEW_TASK_GRACE

    def _alive(self, task: Watched, response: httpx.Response) -> Finding | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, Mapping):
            return None
        finding = self._attribute(task, changes(task.seen, body), response) \
            if task.seen_alive else None
        task.seen.update(body)
        task.seen_alive = True
        task.seen_after = len(self.deletes)
        return finding

    def _attribute(self, task: Watched, found: list[Change],
                   response: httpx.Response) -> Finding | None:
        """Whose doing ``found`` (changes since the last sighting) is: a delete naming the task
        (its test judges), the deletes in between (DEL-ONLY-THAT; for a final status only when
        a bracket held them all), or, for a final status, no delete's (TASK-LIFECYCLE)."""
        since = self.deletes[task.seen_after:]
        if not found or any(self._names(d, task) for d in since):
            return None
        status = [c.text for c in found if c.kind == "status"]
        fields = [c.text for c in found if c.kind != "status"]
        if since and all(d.bracketed for d in since):
            return self._find(task, "changed: " + "; ".join(status + fields), response,
                              kind="status" if status else "changed")
        if status:
            self._find(task, status[0] + " with no delete of the run to blame", response,
                       kind="status", clause="TASK-LIFECYCLE")
        if fields and since:
            return self._find(task, "changed: " + "; ".join(fields), response)
        return None

    def _find(self, task: Watched, what: str, response: httpx.Response,
              key: str | None = None, kind: str = "changed",
              clause: str = "DEL-ONLY-THAT") -> Finding | None:
        """Keep one finding per task and kind (or per ``key``), with the deletes since the
        task was last seen."""
        key = key or task.task_id + ("" if kind != "changed" and clause == "DEL-ONLY-THAT"
                                     else f":{kind}:{clause}")
        if key in self._found:
            return None
        self._found.add(key)
        exchange = response.extensions.get("conformance.exchange")
        finding = Finding(task.task_id, task.role, what,
                          tuple(d.line for d in self.deletes[task.seen_after:]),
                          exchange.curl() if exchange is not None else None, kind, clause)
        (self.findings if clause == "DEL-ONLY-THAT" else self.lifecycle).append(finding)
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
            if not (task.seen.well_formed and well_formed(item, in_list=True)):
                return
            found = changes(task.seen, item, listed=True)
            if found:
                self._find(task, "shows otherwise in its index's list than in retrieve: " +
                           "; ".join(c.text for c in found), page)

    def missing_from_list(self, task_id: str, page: httpx.Response) -> Finding | None:
        """The task reads as alive but its index's list, read whole, does not show it. Only a
        list that showed it, at the status it has now, before a delete of something else can
        have lost it (else it is the filter's recall, LIST-FILTER-SORT's): None then."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or self._named_since_seen(task) or task.listed_after is None \
                    or task.listed_status != task.status:
                return None
            if all(self._names(d, task) for d in self.deletes[task.listed_after:]):
                return None
            return self._find(task, "is missing from every page of its index's list, though "
                              "retrieve still shows it, and that list showed it before, "
                              f"{task.status}", page)

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
        the refusing clause). A task delete answered 404 says the task was not there: it
        removed nothing, so what removed the task is still to be named."""
        return any(self._names(d, task) and not (d.kind == "task" and d.status == 404)
                   for d in self.deletes[task.seen_after:])

    def vanished(self, task_id: str) -> Finding | None:
        """The finding that says ``task_id`` is gone, if one does."""
        with self._lock:
            return next((f for f in self.findings if f.task_id == task_id and f.vanished), None)

    def destroyed(self, task_id: str) -> Finding | None:
        """The finding that says ``task_id`` can serve no status clause any more (gone, or a
        final status that did not stay): tests that read it raise SubjectDestroyed citing the
        finding's clause (DEL-ONLY-THAT, or TASK-LIFECYCLE) instead of judging their own."""
        with self._lock:
            return next((f for f in (*self.findings, *self.lifecycle)
                         if f.task_id == task_id and f.destroys), None)

    def video_deleted(self, video_id: str) -> bool:
        return any(d.kind == "video" and d.target == video_id for d in list(self.deletes))
    def live(self) -> list[Watched]:
        """Watched tasks the run has not deleted nor found gone, in the order tracked."""
        with self._lock:
            return [t for t in self._tasks.values() if t.task_id not in self._found
                    and not t.gone and not self.expected_gone(t.task_id)]

    def deletes_since(self, task_id: str) -> list[DeleteSent]:
        with self._lock:
            task = self._tasks.get(task_id)
            return list(self.deletes[task.seen_after:]) if task is not None else []

    def summary(self) -> str:
        successful = sum(1 for d in self.deletes if d.succeeded)
        bracketed = sum(1 for d in self.deletes if d.bracketed)
        return (f"{successful} successful deletes of {len(self.deletes)} sent "
                f"({bracketed} bracketed by reads), {len(self._tasks)} tasks watched, "
                f"{self.checks} looks around")
