"""Black-box provisioning: an index and tasks headed for ready or failed, within a budget.

Everything goes through the public API. Every resource created is written to the ledger
(``ledger.py``) before anything else happens to it, so cleanup (``cleanup.py``: at the end,
or by ``cleanup_ledger`` after a killed run) deletes exactly what this suite made.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from conformance.checks import TASK_STATUSES
from conformance.resources.cleanup import FINAL, answer_json, answer_line, clean, is_gone
from conformance.resources.errors import BudgetExceeded, ProvisioningError
from conformance.resources.interrupts import INTERRUPTS
from conformance.resources.ledger import Ledger
from conformance.resources.media import sample_video, undecodable_bytes
from conformance.resources.pages import listed_task
from conformance.resources.watch import NEW_TASK_GRACE, Watch
from conformance.settings import Settings
from conformance.wire.client import ApiClient, ConnectionDropped

__all__ = ["CreatedTask", "Provisioner", "Settled"]

Kind = Literal["ready", "failed"]
INDEX_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+$")


@dataclass
class CreatedTask:
    kind: Kind
    task_id: str
    index_id: str
    video_id: str | None
    filename: str | None
    response: httpx.Response | None = field(repr=False)
    """The raw create answer, for the tests that judge it (CREATE-OK); None when the create's
    connection dropped before its answer and the task was found by its filename instead."""
    status: str | None = None
    """For a fresh pending task: the status read right after creation."""


@dataclass(frozen=True)
class Settled:
    """What became of a task waited for: its final body, or why not (and the clause whose
    violation explains it, when one does)."""

    final: dict[str, Any] | None
    problem: str | None = None
    clause: str | None = None


class Provisioner:
    """Creates what tests need, once and concurrently, within the run's budget."""

    grace = NEW_TASK_GRACE
    """How long a create whose connection dropped is looked for before it is sent again."""

    def __init__(self, client: ApiClient, settings: Settings, ledger: Ledger,
                 progress: Callable[[str], None] | None = None,
                 watch: Watch | None = None) -> None:
        self._client = client
        self.watch = watch
        self._settings = settings
        self._ledger = ledger
        self._progress = progress or (lambda _message: None)
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._index_id = settings.index_id
        self._numbers = itertools.count(1)
        self._statuses: dict[str, list[str]] = {}
        self._final: dict[str, dict[str, Any]] = {}
        self._gone: dict[str, tuple[str, str | None]] = {}
        self.tasks_created = 0
        self.bytes_uploaded = 0

    def budget(self) -> dict[str, dict[str, int]]:
        """What was spent against each budget, for the report and summary.json."""
        return {"tasks": {"spent": self.tasks_created, "budget": self._settings.task_budget},
                "upload_bytes": {"spent": self.bytes_uploaded,
                                 "budget": self._settings.upload_budget}}

    def index_id(self) -> str:
        """The configured index, or a temporary one created on first use."""
        with self._index_lock:
            if self._index_id is None:
                name = f"conformance-{self._settings.run_id}"
                with INTERRUPTS.shielded():  # a Ctrl-C waits until the ledger has it
                    response = self._client.create_index(name)
                    body = answer_json(response)
                    # Provisioning only, judged by no clause: any 2xx naming the index will do.
                    if _has_id(body) and response.is_success:
                        self._ledger.add("index", body["_id"], name=name)
                if not 200 <= response.status_code < 300 or not _has_id(body):
                    raise ProvisioningError(f"could not create the temporary index {name}: "
                                            f"POST /indexes answered {answer_line(response)}")
                self._index_id = body["_id"]
            return self._index_id

    def temporary_index(self, label: str) -> str:
        """Another temporary index of this run (``label`` in its name), in the ledger like
        the first, so cleanup deletes it."""
        name = f"conformance-{self._settings.run_id}_{label}"
        with INTERRUPTS.shielded():  # a Ctrl-C waits until the ledger has the index
            response = self._client.create_index(name)
            body = answer_json(response)
            if 200 <= response.status_code < 300 and _has_id(body):
                self._ledger.add("index", body["_id"], name=name)
        if not 200 <= response.status_code < 300 or not _has_id(body):
            raise ProvisioningError(f"could not create the temporary index {name}: "
                                    f"POST /indexes answered {answer_line(response)}")
        return str(body["_id"])

    def upload_name(self, kind: Kind) -> str:
        """A filename no other upload of any run has, for a create to be looked for by it
        (the ``filename`` filter), in the form cleanup's sweep recognises."""
        with self._lock:
            number = next(self._numbers)
        return f"conformance-{self._settings.run_id}-{kind}-{number}.mp4"

    def start_task(self, kind: Kind, index_id: str | None = None) -> CreatedTask:
        """Create a task meant to end ``kind`` (in the run's index unless ``index_id``); it is
        not waited for."""
        index_id = index_id or self.index_id()
        settings = self._settings
        url = settings.ready_video_url if kind == "ready" else settings.failing_video_url
        payload = None if url else sample_video() if kind == "ready" else undecodable_bytes()
        with self._lock:  # reserve before sending, so concurrent creates cannot overshoot
            self._reserve(len(payload or b""))
        for _ in range(2):
            filename = self.upload_name(kind) if payload else None
            try:
                with INTERRUPTS.shielded():  # a Ctrl-C waits until the ledger has the task
                    response = self._client.create_task(
                        index_id,
                        video_file=(filename, payload) if filename and payload else None,
                        video_url=url, user_metadata={"conformance_run": settings.run_id})
                    return self._created(kind, response, index_id, filename, bool(payload))
            except ConnectionDropped as exc:
                # The create may have been carried out: look for it before anything else.
                found = self.find_by_filename(index_id, filename, exc, self.grace)
                if found is not None:
                    return self.adopt(kind, found, index_id, filename)
                continue  # it made nothing anyone can see: send it once more, renamed
        raise ProvisioningError(f"could not create a {kind} task: twice the connection dropped "
                                "before the create's answer, and no task was made")

    def _created(self, kind: Kind, response: httpx.Response, index_id: str,
                 filename: str | None, upload: bool) -> CreatedTask:
        body = answer_json(response)
        # Any 2xx that names the task made one: a create answering 201, or without video_id,
        # is CREATE-OK's failure (judged from this answer), not a reason to stop provisioning.
        if not 200 <= response.status_code < 300 or not _has_id(body):
            option = "--ready-video-url" if kind == "ready" else "--failing-video-url"
            refused = f" (configure {option} to provision one from a URL)" \
                if upload and 400 <= response.status_code < 500 else ""
            raise ProvisioningError(f"could not create a {kind} task: POST /tasks answered "
                                    f"{answer_line(response)}{refused}")
        video_id = body.get("video_id") if isinstance(body.get("video_id"), str) else None
        return self._keep(CreatedTask(kind, body["_id"], index_id, video_id, filename,
                                      response))

    def keep_created(self, kind: Kind, response: httpx.Response,
                     index_id: str) -> CreatedTask | None:
        """A create a test sent itself (and judges itself): into the ledger and under the
        watch when its answer names a task, like the provisioner's own."""
        body = answer_json(response)
        if not 200 <= response.status_code < 300 or not _has_id(body):
            return None
        return self._created(kind, response, index_id, None, False)

    def _keep(self, task: CreatedTask) -> CreatedTask:
        """Into the ledger before anything else happens to it, and under the watch."""
        self._ledger.add("task", task.task_id, index_id=task.index_id)
        if task.video_id:
            self._ledger.add("video", task.video_id, index_id=task.index_id,
                             task_id=task.task_id)
        if self.watch is not None:
            self.watch.track(task.task_id, task.index_id, task.video_id,
                             filename=task.filename)
        return task

    def find_by_filename(self, index_id: str, filename: str | None,
                         dropped: ConnectionDropped,
                         grace: float = NEW_TASK_GRACE) -> dict[str, Any] | None:
        """The task a create whose connection dropped made, looked for as its owner by its
        unique filename (a new task may show a moment late: looked for during the grace);
        None when none shows. ProvisioningError when it cannot be looked for."""
        if filename is None:
            raise ProvisioningError(f"could not create a task: {dropped}; a create from a URL "
                                    "cannot be found again by its filename, so it is not sent "
                                    "again")
        deadline, interval = time.monotonic() + grace, 0.25
        while True:
            response = self._client.list_tasks(index_id=index_id, filename=filename)
            if response.status_code != 200:
                raise ProvisioningError(f"could not look for the task of a create whose "
                                        f"connection dropped ({dropped}): GET /tasks?filename= "
                                        f"answered {answer_line(response)}")
            data = answer_json(response).get("data")
            for item in data if isinstance(data, list) else []:
                meta = item.get("system_metadata") if isinstance(item, dict) else None
                if isinstance(meta, dict) and meta.get("filename") == filename \
                        and _has_id(item):
                    return dict(item)
            if time.monotonic() + interval > deadline:
                return None
            time.sleep(interval)
            interval = min(2.0, interval * 2)

    def adopt(self, kind: Kind, item: dict[str, Any], index_id: str,
              filename: str | None) -> CreatedTask:
        """A task found after its create's answer was lost: the run's like any other."""
        video_id = item.get("video_id") if isinstance(item.get("video_id"), str) else None
        self._progress(f"adopted task {item['_id']} ({filename}): its create's connection "
                       "dropped before the answer")
        return self._keep(CreatedTask(kind, item["_id"], index_id, video_id, filename, None))

    def reserve_task(self, upload_bytes: int = 0) -> None:
        """Spend budget for a task create someone else sends (the property tests), counted
        like this provisioner's own. Raises ``BudgetExceeded`` and spends nothing when it
        does not fit."""
        with self._lock:
            self._reserve(upload_bytes)

    def _reserve(self, size: int) -> None:
        budget = self._settings.task_budget
        if self.tasks_created + 1 > budget:
            raise BudgetExceeded(f"task budget exceeded: {self.tasks_created} of {budget} "
                                 "tasks already created")
        if self.bytes_uploaded + size > self._settings.upload_budget:
            raise BudgetExceeded(f"upload budget exceeded: {self.bytes_uploaded} of "
                                 f"{self._settings.upload_budget} bytes uploaded, {size} more "
                                 "needed")
        self.tasks_created += 1
        self.bytes_uploaded += size

    def fresh_pending_task(self, kind: Kind = "ready") -> CreatedTask:
        """A task just created, with the status read immediately afterwards."""
        task = self.start_task(kind)
        response = self._client.retrieve_task(task.task_id)
        status = answer_json(response).get("status") if response.status_code == 200 else None
        if isinstance(status, str):
            self._note(task.task_id, status)
            task.status = status
        return task

    def settle(self, tasks: Sequence[CreatedTask]) -> dict[str, Settled]:
        """Poll all ``tasks`` together until each is final, gone or out of time: what became
        of each (a task's problem never stops the others from being waited for)."""
        timeout = self._settings.wait_timeout
        started = time.monotonic()
        stop = threading.Event()
        pending = [t for t in tasks if t.task_id not in self._final
                   and t.task_id not in self._gone]
        if pending:
            with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
                futures = [pool.submit(self._poll, t, started + timeout, stop)
                           for t in pending]
                try:
                    while True:
                        done, waiting = wait(futures, timeout=2.0, return_when=FIRST_EXCEPTION)
                        if not waiting or any(f.exception() for f in done):
                            break
                        self._progress(
                            f"waiting for {len(waiting)} task(s) to become ready or failed: "
                            f"{time.monotonic() - started:.0f} s elapsed, deadline {timeout:g} s")
                finally:
                    stop.set()
                for future in futures:
                    future.result()  # a target that went away is the caller's error
        return {t.task_id: self._settled(t, timeout) for t in tasks}

    def _settled(self, task: CreatedTask, timeout: float) -> Settled:
        final = self._final.get(task.task_id)
        if final is not None:
            if final.get("status") != task.kind:
                return Settled(final, f"task {task.task_id} meant to become {task.kind} ended "
                               f"{final.get('status')}")
            return Settled(final)
        gone = self._gone.get(task.task_id)
        if gone is not None:
            return Settled(None, gone[0], gone[1])
        return Settled(None, f"timed out after {timeout:g} s waiting for task {task.task_id} "
                       f"to become final (last status: {self._last(task.task_id)})")

    def wait_final(self, tasks: Sequence[CreatedTask]) -> dict[str, dict[str, Any]]:
        """Poll all ``tasks`` together until each is ready or failed; their final bodies, or
        ProvisioningError naming every task that did not get there."""
        settled = self.settle(tasks)
        problems = [s.problem for s in settled.values() if s.problem]
        if problems:
            raise ProvisioningError("could not provision: " + "; ".join(problems))
        return {task_id: s.final for task_id, s in settled.items() if s.final is not None}

    def observed_statuses(self, task_id: str) -> list[str]:
        """Every status seen for the task, in order, repeats folded."""
        with self._lock:
            return list(self._statuses.get(task_id, []))

    def note_deleted(self, kind: str, resource_id: str) -> None:
        """A test deleted something the run created: cleanup need not."""
        self._ledger.mark_deleted(kind, resource_id)

    def cleanup(self) -> list[str]:
        """Delete what this run created and still exists; the problems met, as lines."""
        return clean(self._ledger, self._client, self._settings.wait_timeout, self._progress)

    def _poll(self, task: CreatedTask, deadline: float, stop: threading.Event) -> None:
        # A loopback target answers at once and owes no politeness: a short even step, so the
        # run learns a task is final within a tenth of a second instead of up to a growing
        # interval late (the first indexing time is the run's critical path).
        interval, longest = (0.1, 0.1) if self._settings.relaxed else (0.2, 2.0)
        task_id = task.task_id
        while not stop.is_set():
            response = self._client.retrieve_task(task_id)
            if self._stopped_by(task_id, response):
                return
            body = answer_json(response)
            status = body.get("status") if response.status_code == 200 else None
            if response.status_code == 200 and status not in TASK_STATUSES:
                # Retrieve shows no documented status (TASK-SHAPE's finding, judged on every
                # read): the task as its index's list shows it tells when it is final.
                listed = listed_task(self._client, task_id, task.index_id)
                if listed is not None and listed.get("status") in TASK_STATUSES:
                    body = listed
                status = body.get("status")
            if isinstance(status, str):
                self._note(task_id, status)
                if status in FINAL:
                    with self._lock:
                        self._final[task_id] = body
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            stop.wait(min(interval, remaining))  # one last look at the deadline itself
            interval = min(longest, interval * 1.5)

    def _stopped_by(self, task_id: str, response: httpx.Response) -> bool:
        """A poll that shows the task gone ends its wait at once: vanished without the run
        deleting it (DEL-ONLY-THAT), never retrievable past a new task's grace (CREATE-OK),
        or removed by a delete the run sent."""
        finding = self.watch.saw(task_id, response) if self.watch is not None else None
        if finding is not None and finding.vanished:
            with self._lock:
                self._gone[task_id] = (f"task {task_id} {finding.what} (see DEL-ONLY-THAT)",
                                       "DEL-ONLY-THAT")
            return True
        if self.watch is not None and self.watch.never_shown(task_id, response):
            with self._lock:
                self._gone[task_id] = (
                    f"task {task_id} was never retrievable: its create answered with its ID, "
                    f"but it still reads {response.status_code} more than {NEW_TASK_GRACE:g} s "
                    "later (see CREATE-OK)", "CREATE-OK")
            return True
        if is_gone(response) and self.watch is not None and (
                self.watch.expected_gone(task_id) or self.watch.named(task_id)):
            with self._lock:
                self._gone[task_id] = (f"task {task_id} is gone after a delete the run sent "
                                       "named it", None)
            return True
        return False

    def _note(self, task_id: str, status: str) -> None:
        with self._lock:
            seen = self._statuses.setdefault(task_id, [])
            if not seen or seen[-1] != status:
                seen.append(status)

    def _last(self, task_id: str) -> str:
        seen = self.observed_statuses(task_id)
        return seen[-1] if seen else "never read"


def _has_id(body: dict[str, Any]) -> bool:
    return isinstance(body.get("_id"), str) and bool(body["_id"])
