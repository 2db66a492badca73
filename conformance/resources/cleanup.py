"""Removing what runs left behind: a ledger's resources, or leftovers found by their marker.

Every deletion goes through an unchecked client (cleanup judges no clause) and counts a 404
(or 400 ``resource_not_exist``) as gone. Problems come back as lines, never as exceptions,
so a failed cleanup never turns into a clause failure.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.resources.interrupts import INTERRUPTS
from conformance.resources.ledger import Ledger, LedgerEntry
from conformance.wire.client import ApiClient, TargetUnavailable

__all__ = ["FINAL", "INDEX_MARKER", "UPLOAD_MARKER", "CleanupStopped", "SweepResult",
           "answer_json", "answer_line", "clean", "cleanup_ledger", "is_gone", "sweep"]

FINAL = frozenset({"ready", "failed"})
UPLOAD_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+-(ready|failed)-\d+\.mp4$")
INDEX_MARKER = re.compile(r"^conformance-[0-9a-f]{8}(_[0-9A-Za-z]+)?$")
"""The names of the indexes a run makes: `conformance-<run id>`, with a suffix for the others
(the second index, the property tests' ones)."""


def cleanup_ledger(path: Path, client: ApiClient, *, wait_timeout: float = 60.0,
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Remove what a (killed) run's ledger says it created and still exists."""
    ledger = Ledger.load(path)
    if ledger.base_url and ledger.base_url.rstrip("/") != client.base_url:
        return [f"ledger {path} was written for {ledger.base_url}, not {client.base_url}: "
                "nothing deleted"]
    return clean(ledger, client, wait_timeout, progress or (lambda _m: None))


def clean(ledger: Ledger, client: ApiClient, wait_timeout: float,
          progress: Callable[[str], None]) -> list[str]:
    """Delete what ``ledger`` lists and still exists; the problems met, as lines.

    The run's own indexes go first: where the target removes an index's videos and tasks
    with it, nothing needs to wait for a task to become final, and a read as the owner
    confirms each task and video gone. Whatever is still there (the target refused the index
    delete, or kept its tasks, or they live in a configured index) is removed one by one:
    videos, then tasks once final (a bounded wait), then the indexes that refused before.
    A signal makes cleanup stop waiting, a second one stops it (``interrupts.py``).
    """
    client = client.unchecked()
    problems: list[str] = []
    INTERRUPTS.enter_cleanup()
    made = ledger.remaining()
    if made:
        counts = {k: sum(1 for e in made if e.kind == k) for k in ("index", "task", "video")}
        progress("cleanup: removing what the run made: " + ", ".join(
            f"{n} {k}{'' if n == 1 else 'es' if k == 'index' else 's'}"
            for k, n in counts.items() if n))
    try:
        refused = _remove_indexes(ledger, client)
        _confirm_gone(ledger, client)
        final = _await_final(ledger, client, wait_timeout, progress, problems)
        tasks = {e.id: e for e in ledger.entries("task", "created")}
        videos = {e.parents.get("task_id"): e for e in ledger.entries("video", "created")}
        for task_id, status in final.items():
            _check_stop()
            video = videos.get(task_id)
            if status == "ready" and video and not _delete(ledger, client, video, problems):
                continue  # the task cannot go while its video stays
            _delete(ledger, client, tasks[task_id], problems)
        # Videos whose task is gone (failed tasks, or tasks a test deleted) go on their own.
        live = {e.id for e in ledger.entries("task", "created")}
        for entry in ledger.entries("video", "created"):
            if entry.parents.get("task_id") not in live:
                _check_stop()
                _delete(ledger, client, entry, problems)
        for entry in refused:
            _check_stop()
            _delete(ledger, client, entry, problems)
        _confirm_gone(ledger, client)
    except TargetUnavailable as exc:
        problems.append(f"cleanup stopped, the target is unavailable: {exc}")
    except CleanupStopped:
        problems.append("cleanup stopped by a second signal before it was done")
    return problems


class CleanupStopped(Exception):
    """A second signal during cleanup: send nothing more."""


def _check_stop() -> None:
    if INTERRUPTS.stop:
        raise CleanupStopped


def _remove_indexes(ledger: Ledger, client: ApiClient) -> list[LedgerEntry]:
    """Delete the run's indexes first; the ones the target refused (retried at the end)."""
    refused = []
    for entry in ledger.entries("index", "created"):
        _check_stop()
        response = client.delete_index(entry.id)
        if response.status_code in (200, 204) or is_gone(response):
            ledger.mark_deleted("index", entry.id)
            ledger.mark_in_index(entry.id, "unconfirmed")
        else:
            refused.append(entry)
    return refused


def _confirm_gone(ledger: Ledger, client: ApiClient) -> None:
    """Read back, as the owner, what went with its index: a task no longer listed in its
    index (one list per index, or one retrieve per task when the list cannot say) is
    deleted, a listed one is live again; a video goes with its index when its task did (the
    contract has no read of a video, and a video cannot outlive its index)."""
    waiting: dict[str, list[LedgerEntry]] = {}
    for entry in ledger.entries("task", "unconfirmed"):
        waiting.setdefault(entry.parents.get("index_id", ""), []).append(entry)
    for index_id, entries in waiting.items():
        _check_stop()
        listed = _still_listed(client, index_id, {e.id for e in entries})
        for entry in entries:
            if listed is None:
                _check_stop()
                gone = is_gone(client.retrieve_task(entry.id))
            else:
                gone = entry.id not in listed
            ledger.mark("task", entry.id, "deleted" if gone else "created")
    deleted = {e.id for e in ledger.entries("task", "deleted")}
    for entry in ledger.entries("video", "unconfirmed"):
        gone = entry.parents.get("task_id") in deleted
        ledger.mark("video", entry.id, "deleted" if gone else "created")


def _still_listed(client: ApiClient, index_id: str, wanted: set[str]) -> set[str] | None:
    """Which of ``wanted`` the list of ``index_id`` still shows; None when it cannot tell."""
    found: set[str] = set()
    for page in range(1, 21):
        response = client.list_tasks(index_id=index_id, page=page, page_limit=50)
        if response.status_code in (400, 404):
            return set()  # the index is unknown: nothing is in it
        data = answer_json(response).get("data")
        if response.status_code != 200 or not isinstance(data, list):
            return None
        found |= {str(t.get("_id")) for t in data if isinstance(t, dict)} & wanted
        total = (answer_json(response).get("page_info") or {}).get("total_page")
        if not data or (isinstance(total, int) and page >= total):
            return found
    return None


def _await_final(ledger: Ledger, client: ApiClient, wait_timeout: float,
                 progress: Callable[[str], None], problems: list[str]) -> dict[str, str]:
    """The final status of every live task in the ledger, waiting (bounded) for the rest,
    or not at all once a signal asked cleanup to hurry."""
    final: dict[str, str] = {}
    pending = {e.id: "never read" for e in ledger.entries("task", "created")}
    started = time.monotonic()
    deadline, told, interval = started + wait_timeout, started - 2.0, 0.2
    while pending:
        for task_id in list(pending):
            _check_stop()
            response = client.retrieve_task(task_id)
            status = answer_json(response).get("status") if response.status_code == 200 else None
            if is_gone(response):
                ledger.mark_deleted("task", task_id)
                del pending[task_id]
            elif status in FINAL:
                final[task_id] = str(status)
                del pending[task_id]
            else:
                pending[task_id] = str(status) if status else f"answer {response.status_code}"
        if not pending or INTERRUPTS.hurry or time.monotonic() + interval > deadline:
            break
        if time.monotonic() - told >= 2.0:
            told = time.monotonic()
            progress(f"cleanup: waiting for {len(pending)} task(s) to become final: "
                     f"{told - started:.0f} s elapsed, deadline {wait_timeout:g} s")
        INTERRUPTS.sleep(interval)
        interval = min(2.0, interval * 1.5)
    why = "cleanup was told not to wait" if INTERRUPTS.hurry else f"after {wait_timeout:g} s"
    for task_id, status in pending.items():
        ledger.note_status(task_id, status)
        problems.append(f"task {task_id} left behind: still {status} ({why})")
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
    if response.status_code in (200, 204) or is_gone(response):
        ledger.mark_deleted(entry.kind, entry.id)
        return True
    problems.append(f"{entry.kind} {entry.id} left behind: delete answered {answer_line(response)}")
    return False


@dataclass
class SweepResult:
    """What a sweep did or would do, in order, and which of those lines are problems: a
    leftover that stays (not final yet, a refused delete) or a sweep cut short."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.lines.append(line)
        self.problems.append(line)

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


def sweep(client: ApiClient, *, dry_run: bool = True) -> SweepResult:
    """Find leftovers of earlier runs by their upload names and remove only those."""
    result = SweepResult()
    try:
        _sweep(client.unchecked(), dry_run, result)
    except TargetUnavailable as exc:
        result.problem(f"sweep stopped, the target is unavailable: {exc}")
    return result


def _sweep(client: ApiClient, dry_run: bool, result: SweepResult) -> None:
    found: dict[str, dict[str, Any]] = {}
    # Indexes holding a task that is not final (a run may still be going), or one the suite
    # did not make: such an index is not removed whole.
    keep: set[str] = set()
    for page in itertools.count(1):
        response = client.list_tasks(page=page, page_limit=50)
        body = answer_json(response)
        data = body.get("data") if response.status_code == 200 else None
        if not isinstance(data, list):
            result.problem(f"listing tasks failed: page {page} answered {answer_line(response)}")
            return
        for task in data:
            if not isinstance(task, dict):
                continue
            ours = bool(UPLOAD_MARKER.match(_filename(task)))
            if task.get("status") not in FINAL or not ours:
                keep.add(str(task.get("index_id")))
            if ours:
                found.setdefault(str(task.get("_id")), task)
        total = (body.get("page_info") or {}).get("total_page")
        if not data or (isinstance(total, int) and page >= total) or page >= 1000:
            break
    indexes = _marked_indexes(client, result)
    for task_id, task in found.items():
        status, video_id = task.get("status"), task.get("video_id")
        what = f"task {task_id} ({status}, {_filename(task)})"
        if status not in FINAL:
            result.problem(f"skip {what}: not final yet, sweep again later")
            continue
        if task.get("index_id") in indexes and task.get("index_id") not in keep:
            continue  # removed with its index below
        with_video = status == "ready" and isinstance(video_id, str)
        if dry_run:
            result.say(f"would delete {what}" + (f" and its video {video_id}"
                                                  if with_video else ""))
            continue
        if with_video:
            answer = client.delete_video(str(task.get("index_id")), str(video_id))
            if answer.status_code not in (200, 204) and not is_gone(answer):
                result.problem(f"could not delete the video of {what}: {answer_line(answer)}")
                continue
        answer = client.delete_task(task_id)
        if answer.status_code in (200, 204) or is_gone(answer):
            result.say(f"deleted {what}")
        else:
            result.problem(f"could not delete {what}: {answer_line(answer)}")
    for index_id, name in indexes.items():
        held = sum(1 for t in found.values() if t.get("index_id") == index_id)
        what = f"index {index_id} ({name})" + (f" with its {held} task(s)" if held else "")
        if index_id in keep:
            result.problem(f"skip index {index_id} ({name}): it holds a task that is not final "
                           "yet or that no run made; sweep again later")
        elif dry_run:
            result.say(f"would delete {what}")
        else:
            answer = client.delete_index(index_id)
            if answer.status_code in (200, 204) or is_gone(answer):
                result.say(f"deleted {what}")
            else:
                result.problem(f"could not delete {what}: {answer_line(answer)}")
    if not found and not indexes:
        result.say("no leftovers of earlier runs found")


def _marked_indexes(client: ApiClient, result: SweepResult) -> dict[str, str]:
    """The account's indexes named by a run (``conformance-<run id>``), by ID; a target that
    cannot list indexes leaves them to ``cleanup --ledger`` (one line says so)."""
    marked: dict[str, str] = {}
    for page in itertools.count(1):
        response = client.request("GET", "/indexes", params={"page": page, "page_limit": 50})
        body = answer_json(response)
        data = body.get("data") if response.status_code == 200 else None
        if not isinstance(data, list):
            result.say(f"the target lists no indexes (GET /indexes answered "
                       f"{answer_line(response)}): indexes of earlier runs are found only "
                       "through their ledgers (conformance cleanup --ledger FILE)")
            return marked
        for index in data:
            name = index.get("index_name") if isinstance(index, dict) else None
            if isinstance(name, str) and INDEX_MARKER.match(name):
                marked[str(index.get("_id"))] = name
        total = (body.get("page_info") or {}).get("total_page")
        if not data or (isinstance(total, int) and page >= total) or page >= 1000:
            return marked
    return marked


def _filename(task: dict[str, Any]) -> str:
    meta = task.get("system_metadata")
    name = meta.get("filename") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def answer_json(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty dict when it has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def is_gone(response: httpx.Response) -> bool:
    """The target says the resource does not exist (any more)."""
    return response.status_code == 404 or (
        response.status_code == 400 and answer_json(response).get("code") == "resource_not_exist")


def answer_line(response: httpx.Response) -> str:
    """Status and the start of the body, on one line, for a problem message (the body as
    the transcript recorded it: redacted)."""
    exchange = response.extensions.get("conformance.exchange")
    recorded = getattr(exchange, "response_body", None)
    text = (recorded if isinstance(recorded, str) else response.text).replace("\n", " ")
    return f"{response.status_code} {text[:200]}" if text else str(response.status_code)
