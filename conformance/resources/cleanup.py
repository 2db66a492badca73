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

from conformance.resources.ledger import Ledger, LedgerEntry
from conformance.wire.client import ApiClient, TargetUnavailable

__all__ = ["FINAL", "UPLOAD_MARKER", "SweepResult", "answer_json", "answer_line", "clean",
           "cleanup_ledger", "is_gone", "sweep"]

FINAL = frozenset({"ready", "failed"})
UPLOAD_MARKER = re.compile(r"^conformance-[0-9A-Za-z_]+-(ready|failed)-\d+\.mp4$")


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
    """Delete what ``ledger`` lists and still exists; the problems met, as lines."""
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
            status = answer_json(response).get("status") if response.status_code == 200 else None
            if is_gone(response):
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
    for page in itertools.count(1):
        response = client.list_tasks(page=page, page_limit=50)
        body = answer_json(response)
        data = body.get("data") if response.status_code == 200 else None
        if not isinstance(data, list):
            result.problem(f"listing tasks failed: page {page} answered {answer_line(response)}")
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
            result.problem(f"skip {what}: not final yet, sweep again later")
            continue
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
    if not found:
        result.say("no leftovers of earlier runs found")


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
