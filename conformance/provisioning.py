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

from conformance.cleanup import FINAL, answer_json, answer_line, clean, cleanup_ledger, sweep
from conformance.cleanup import UPLOAD_MARKER as UPLOAD_MARKER  # the old home
from conformance.client import ApiClient
from conformance.ledger import Ledger, LedgerEntry
from conformance.media import sample_video, undecodable_bytes
from conformance.settings import Settings

__all__ = ["BudgetExceeded", "CreatedTask", "Ledger", "LedgerEntry", "Provisioner",
           "ProvisioningError", "cleanup_ledger", "sweep"]

Kind = Literal["ready", "failed"]
INDEX_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+$")


class ProvisioningError(Exception):
    """The suite could not bring the target into the state a test needs: an error, exit 3."""


class BudgetExceeded(ProvisioningError):
    """Creating one more resource would exceed the run's task or upload budget."""


@dataclass
class CreatedTask:
    kind: Kind
    task_id: str
    index_id: str
    video_id: str | None
    filename: str | None
    response: httpx.Response = field(repr=False)
    """The raw create answer, for the tests that judge it (CREATE-OK)."""
    status: str | None = None
    """For a fresh pending task: the status read right after creation."""


class Provisioner:
    """Creates what tests need, once and concurrently, within the run's budget."""

    def __init__(self, client: ApiClient, settings: Settings, ledger: Ledger,
                 progress: Callable[[str], None] | None = None) -> None:
        self._client = client
        self._settings = settings
        self._ledger = ledger
        self._progress = progress or (lambda _message: None)
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._index_id = settings.index_id
        self._numbers = itertools.count(1)
        self._statuses: dict[str, list[str]] = {}
        self._final: dict[str, dict[str, Any]] = {}
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
                response = self._client.create_index(name)
                body = answer_json(response)
                if response.status_code not in (200, 201) or not _has_id(body):
                    raise ProvisioningError(f"could not create the temporary index {name}: "
                                            f"POST /indexes answered {answer_line(response)}")
                self._index_id = body["_id"]
                self._ledger.add("index", body["_id"], name=name)
            return self._index_id

    def start_task(self, kind: Kind) -> CreatedTask:
        """Create a task meant to end ``kind``; it is not waited for."""
        index_id = self.index_id()
        settings = self._settings
        url = settings.ready_video_url if kind == "ready" else settings.failing_video_url
        payload = None if url else sample_video() if kind == "ready" else undecodable_bytes()
        with self._lock:  # reserve before sending, so concurrent creates cannot overshoot
            self._reserve(len(payload or b""), leave=0)
            number = next(self._numbers)
        filename = f"conformance-{settings.run_id}-{kind}-{number}.mp4" if payload else None
        response = self._client.create_task(
            index_id, video_file=(filename, payload) if filename and payload else None,
            video_url=url, user_metadata={"conformance_run": settings.run_id})
        body = answer_json(response)
        if response.status_code != 200 or not _has_id(body):
            raise ProvisioningError(f"could not create a {kind} task: POST /tasks answered "
                                    f"{answer_line(response)}")
        task_id = body["_id"]
        video_id = body.get("video_id") if isinstance(body.get("video_id"), str) else None
        self._ledger.add("task", task_id, index_id=index_id)
        if video_id:
            self._ledger.add("video", video_id, index_id=index_id, task_id=task_id)
        return CreatedTask(kind, task_id, index_id, video_id, filename, response)

    def reserve_task(self, upload_bytes: int = 0, *, leave: int = 0) -> None:
        """Spend budget for a task create someone else sends (the property tests), counted
        like this provisioner's own; ``leave`` tasks of the budget stay unspent for later
        tests. Raises ``BudgetExceeded`` and spends nothing when it does not fit."""
        with self._lock:
            self._reserve(upload_bytes, leave=leave)

    def _reserve(self, size: int, *, leave: int) -> None:
        budget = self._settings.task_budget
        if self.tasks_created + 1 + leave > budget:
            kept = f", {leave} kept for later tests" if leave else ""
            raise BudgetExceeded(f"task budget exceeded: {self.tasks_created} of {budget} "
                                 f"tasks already created{kept}")
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

    def wait_final(self, tasks: Sequence[CreatedTask]) -> dict[str, dict[str, Any]]:
        """Poll all ``tasks`` together until each is ready or failed; their final bodies."""
        timeout = self._settings.wait_timeout
        started = time.monotonic()
        stop = threading.Event()
        pending = [t for t in tasks if t.task_id not in self._final]
        if pending:
            with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
                futures = [pool.submit(self._poll, t.task_id, started + timeout, stop)
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
        late = [t for t in tasks if t.task_id not in self._final]
        if late:
            detail = ", ".join(f"{t.task_id} (last status: {self._last(t.task_id)})"
                               for t in late)
            raise ProvisioningError(f"timed out after {timeout:g} s waiting for {len(late)} "
                                    f"task(s) to become final: {detail}")
        wrong = [t for t in tasks if self._final[t.task_id].get("status") != t.kind]
        if wrong:
            detail = ", ".join(f"{t.task_id} meant to become {t.kind} ended "
                               f"{self._final[t.task_id].get('status')}" for t in wrong)
            raise ProvisioningError(f"could not provision: {detail}")
        return {t.task_id: self._final[t.task_id] for t in tasks}

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

    def _poll(self, task_id: str, deadline: float, stop: threading.Event) -> None:
        interval = 0.2
        while not stop.is_set():
            response = self._client.retrieve_task(task_id)
            body = answer_json(response)
            status = body.get("status") if response.status_code == 200 else None
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
            interval = min(2.0, interval * 1.5)

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
