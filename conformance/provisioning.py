"""Black-box provisioning: an index, tasks headed for ready or failed, a ledger, and cleanup.

Everything goes through the public API. Every resource created is written to the ledger
before anything else happens to it, so cleanup (at the end, or by ``cleanup_ledger`` after
a killed run) deletes exactly what this suite made and nothing else.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from conformance.client import ApiClient, TargetUnavailable, repr_error
from conformance.media import sample_video, undecodable_bytes
from conformance.settings import Settings

__all__ = ["BudgetExceeded", "CreatedTask", "Ledger", "LedgerEntry", "Provisioner",
           "ProvisioningError", "cleanup_ledger", "sweep"]

FINAL = frozenset({"ready", "failed"})
Kind = Literal["ready", "failed"]
UPLOAD_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+-(ready|failed)-\d+\.mp4$")
INDEX_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+$")


class ProvisioningError(Exception):
    """The suite could not bring the target into the state a test needs: an error, exit 3."""


class BudgetExceeded(ProvisioningError):
    """Creating one more resource would exceed the run's task or upload budget."""


@dataclass
class LedgerEntry:
    kind: str
    """index, task or video."""
    id: str
    parents: dict[str, str]
    run_id: str
    created_at: str
    state: str = "created"
    """created or deleted."""


class Ledger:
    """Every resource a run created; rewritten atomically on each change when it has a path."""

    def __init__(self, path: Path | None, run_id: str, base_url: str | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.base_url = base_url
        self._entries: list[LedgerEntry] = []
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> Ledger:
        return cls(settings.report_dir / "ledger.json", settings.run_id, settings.base_url)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read a ledger file; further changes are written back to it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            ledger = cls(Path(path), str(data["run_id"]), data.get("base_url"))
            ledger._entries = [LedgerEntry(**e) for e in data["entries"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProvisioningError(f"ledger {path} cannot be read: {repr_error(exc)}") from None
        return ledger

    def add(self, kind: str, id: str, **parents: str) -> LedgerEntry:
        entry = LedgerEntry(kind, id, parents, self.run_id,
                            datetime.now(UTC).isoformat(timespec="seconds"))
        with self._lock:
            self._entries.append(entry)
            self._write()
        return entry

    def mark_deleted(self, kind: str, id: str) -> None:
        with self._lock:
            for entry in self._entries:
                if entry.kind == kind and entry.id == id:
                    entry.state = "deleted"
            self._write()

    def entries(self, kind: str | None = None, state: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [e for e in self._entries
                    if kind in (None, e.kind) and state in (None, e.state)]

    def _write(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"run_id": self.run_id, "base_url": self.base_url,
                "entries": [asdict(e) for e in self._entries]}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)  # a killed run leaves the old or the new file whole


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
                body = _json(response)
                if response.status_code not in (200, 201) or not _has_id(body):
                    raise ProvisioningError(f"could not create the temporary index {name}: "
                                            f"POST /indexes answered {_short(response)}")
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
        body = _json(response)
        if response.status_code != 200 or not _has_id(body):
            raise ProvisioningError(f"could not create a {kind} task: POST /tasks answered "
                                    f"{_short(response)}")
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
        status = _json(response).get("status") if response.status_code == 200 else None
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
        return _clean(self._ledger, self._client, self._settings.wait_timeout, self._progress)

    def _poll(self, task_id: str, deadline: float, stop: threading.Event) -> None:
        interval = 0.2
        while not stop.is_set():
            response = self._client.retrieve_task(task_id)
            body = _json(response)
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


def cleanup_ledger(path: Path, client: ApiClient, *, wait_timeout: float = 60.0,
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Remove what a (killed) run's ledger says it created and still exists."""
    ledger = Ledger.load(path)
    if ledger.base_url and ledger.base_url.rstrip("/") != client.base_url:
        return [f"ledger {path} was written for {ledger.base_url}, not {client.base_url}: "
                "nothing deleted"]
    return _clean(ledger, client, wait_timeout, progress or (lambda _m: None))


def _clean(ledger: Ledger, client: ApiClient, wait_timeout: float,
           progress: Callable[[str], None]) -> list[str]:
    client = client.unchecked()
    problems: list[str] = []
    try:
        final = _await_final(ledger, client, wait_timeout, progress, problems)
        tasks = {e.id: e for e in ledger.entries("task", "created")}
        videos = {e.parents.get("task_id"): e for e in ledger.entries("video", "created")}
        for task_id, status in final.items():
            video = videos.get(task_id)
            if status == "ready" and video and not _delete(ledger, client, video, problems):
                continue  # the task cannot go while its video stays
            _delete(ledger, client, tasks[task_id], problems)
        # Videos whose task is gone (failed tasks, or tasks a test deleted) go on their own.
        live = {e.id for e in ledger.entries("task", "created")}
        for entry in ledger.entries("video", "created"):
            if entry.parents.get("task_id") not in live:
                _delete(ledger, client, entry, problems)
        for entry in ledger.entries("index", "created"):
            _delete(ledger, client, entry, problems)
    except TargetUnavailable as exc:
        problems.append(f"cleanup stopped, the target is unavailable: {exc}")
    return problems


def _await_final(ledger: Ledger, client: ApiClient, wait_timeout: float,
                 progress: Callable[[str], None], problems: list[str]) -> dict[str, str]:
    """The final status of every live task in the ledger, waiting (bounded) for the rest."""
    final: dict[str, str] = {}
    pending = {e.id: "never read" for e in ledger.entries("task", "created")}
    started = time.monotonic()
    deadline, told, interval = started + wait_timeout, started, 0.2
    while pending:
        for task_id in list(pending):
            response = client.retrieve_task(task_id)
            status = _json(response).get("status") if response.status_code == 200 else None
            if _is_gone(response):
                ledger.mark_deleted("task", task_id)
                del pending[task_id]
            elif status in FINAL:
                final[task_id] = str(status)
                del pending[task_id]
            else:
                pending[task_id] = str(status) if status else f"answer {response.status_code}"
        if not pending or time.monotonic() + interval > deadline:
            break
        if time.monotonic() - told >= 2.0:
            told = time.monotonic()
            progress(f"cleanup: waiting for {len(pending)} task(s) to become final: "
                     f"{told - started:.0f} s elapsed, deadline {wait_timeout:g} s")
        time.sleep(interval)
        interval = min(2.0, interval * 1.5)
    problems += [f"task {task_id} left behind: still {status} after {wait_timeout:g} s"
                 for task_id, status in pending.items()]
    return final


def _delete(ledger: Ledger, client: ApiClient, entry: LedgerEntry,
            problems: list[str]) -> bool:
    """Delete one ledger entry; True when it is gone afterwards."""
    if entry.kind == "task":
        response = client.delete_task(entry.id)
    elif entry.kind == "video":
        response = client.delete_video(entry.parents["index_id"], entry.id)
    else:
        response = client.delete_index(entry.id)
    if response.status_code in (200, 204) or _is_gone(response):
        ledger.mark_deleted(entry.kind, entry.id)
        return True
    problems.append(f"{entry.kind} {entry.id} left behind: delete answered {_short(response)}")
    return False


def sweep(client: ApiClient, *, dry_run: bool = True) -> list[str]:
    """Find leftovers of earlier runs by their upload names and remove only those."""
    lines: list[str] = []
    try:
        _sweep(client.unchecked(), dry_run, lines)
    except TargetUnavailable as exc:
        lines.append(f"sweep stopped, the target is unavailable: {exc}")
    return lines


def _sweep(client: ApiClient, dry_run: bool, lines: list[str]) -> None:
    found: dict[str, dict[str, Any]] = {}
    for page in itertools.count(1):
        response = client.list_tasks(page=page, page_limit=50)
        body = _json(response)
        data = body.get("data") if response.status_code == 200 else None
        if not isinstance(data, list):
            lines.append(f"listing tasks failed: page {page} answered {_short(response)}")
            return
        for task in data:
            if isinstance(task, dict) and UPLOAD_MARKER.match(_filename(task)):
                found.setdefault(str(task.get("_id")), task)
        total = (body.get("page_info") or {}).get("total_page")
        if not data or (isinstance(total, int) and page >= total) or page >= 1000:
            break
    for task_id, task in found.items():
        status, video_id = task.get("status"), task.get("video_id")
        what = f"task {task_id} ({status}, {_filename(task)})"
        if status not in FINAL:
            lines.append(f"skip {what}: not final yet, sweep again later")
            continue
        with_video = status == "ready" and isinstance(video_id, str)
        if dry_run:
            lines.append(f"would delete {what}" + (f" and its video {video_id}"
                                                    if with_video else ""))
            continue
        if with_video:
            answer = client.delete_video(str(task.get("index_id")), str(video_id))
            if answer.status_code not in (200, 204) and not _is_gone(answer):
                lines.append(f"could not delete the video of {what}: {_short(answer)}")
                continue
        answer = client.delete_task(task_id)
        ok = answer.status_code in (200, 204) or _is_gone(answer)
        lines.append(f"deleted {what}" if ok else f"could not delete {what}: {_short(answer)}")
    if not found:
        lines.append("no leftovers of earlier runs found")


def _filename(task: dict[str, Any]) -> str:
    meta = task.get("system_metadata")
    name = meta.get("filename") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _has_id(body: dict[str, Any]) -> bool:
    return isinstance(body.get("_id"), str) and bool(body["_id"])


def _is_gone(response: httpx.Response) -> bool:
    return response.status_code == 404 or (
        response.status_code == 400 and _json(response).get("code") == "resource_not_exist")


def _short(response: httpx.Response) -> str:
    text = response.text.replace("\n", " ")
    return f"{response.status_code} {text[:200]}" if text else str(response.status_code)
