"""Checks on the task object, its lifecycle, and the create answer that makes one."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from conformance.checks.answers import client_error, fail, json_body, what, where

TASK_STATUSES = ("uploading", "validating", "pending", "queued", "indexing", "ready", "failed")
FINAL_STATUSES = frozenset({"ready", "failed"})
LIFECYCLE_RANK = {s: i for i, s in enumerate(TASK_STATUSES[:-1])} | {
    "failed": TASK_STATUSES.index("ready")}
"""Position in the documented lifecycle; ready and failed share the last rank so that one can
never follow the other."""
HLS_STATUSES = ("PROCESSING", "COMPLETE", "CANCELED", "ERROR")
REQUIRED_TASK_FIELDS = ("_id", "index_id", "status", "created_at", "updated_at")
MAX_PAGE_LIMIT = 50
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def is_date_time(value: Any) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def parse_time(value: str) -> datetime:
    text = value.upper().replace("Z", "+00:00")
    # Python before 3.11 accepted at most 6 fraction digits; normalise to stay portable.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


# --- the task object ------------------------------------------------------------------------

def task_object_is_well_formed(body: Any, *, in_list: bool = False,
                               response: httpx.Response | None = None) -> None:
    """TASK-SHAPE (LIST-SHAPE for list items): documented fields have documented types."""
    clause_id = "LIST-SHAPE" if in_list else "TASK-SHAPE"
    subject = "a list item" if in_list else "the task object"

    def bad(message: str) -> None:
        fail(clause_id, f"{subject}: {message}; got {json.dumps(body)[:400]}", response)

    if not isinstance(body, Mapping):
        bad("expected a JSON object")
        return
    for name in REQUIRED_TASK_FIELDS:
        if name not in body or body[name] is None:
            bad(f"expected the required field {name!r}")
    for name in ("_id", "index_id"):
        if not isinstance(body[name], str) or not body[name]:
            bad(f"expected {name!r} to be a non-empty string")
    if "video_id" in body and body["video_id"] is not None \
            and not isinstance(body["video_id"], str):
        bad("expected 'video_id' to be a string")
    if body["status"] not in TASK_STATUSES:
        bad(f"expected 'status' to be one of {', '.join(TASK_STATUSES)}")
    for name in ("created_at", "updated_at"):
        if not is_date_time(body[name]):
            bad(f"expected {name!r} to be an RFC 3339 date-time")
    meta = body.get("system_metadata")
    if meta is not None:
        if not isinstance(meta, Mapping):
            bad("expected 'system_metadata' to be an object")
        kinds = {"filename": (lambda v: isinstance(v, str), "a string"),
                 "duration": (is_number, "a number"),
                 "width": (is_int, "an integer"), "height": (is_int, "an integer")}
        for name, (test, kind) in kinds.items():
            if meta.get(name) is not None and not test(meta[name]):
                bad(f"expected system_metadata.{name} to be {kind}")
    if "hls" in body and in_list:
        bad("expected no 'hls' in list items (it is returned on retrieve only)")
    hls = body.get("hls")
    if hls is not None:
        _hls_is_well_formed(hls, bad)


def _hls_is_well_formed(hls: Any, bad: Any) -> None:
    if not isinstance(hls, Mapping):
        bad("expected 'hls' to be an object")
    if hls.get("video_url") is not None and not isinstance(hls["video_url"], str):
        bad("expected hls.video_url to be a string")
    urls = hls.get("thumbnail_urls")
    if urls is not None and (not isinstance(urls, list)
                             or not all(isinstance(u, str) for u in urls)):
        bad("expected hls.thumbnail_urls to be an array of strings")
    if hls.get("status") is not None and hls["status"] not in HLS_STATUSES:
        bad(f"expected hls.status to be one of {', '.join(HLS_STATUSES)}")
    if hls.get("updated_at") is not None and not is_date_time(hls["updated_at"]):
        bad("expected hls.updated_at to be an RFC 3339 date-time")


def retrieve_answer_is_task(response: httpx.Response, task_id: str,
                            clause_id: str = "TASK-SHAPE") -> dict[str, Any]:
    """Retrieve answers 200 with a well-formed task object carrying ``task_id``."""
    if response.status_code != 200:
        fail(clause_id, f"{where(response)}: expected 200 with the task, got "
             f"{what(response)}", response)
    body = json_body(response)
    task_object_is_well_formed(body, response=response)
    if body["_id"] != task_id:
        fail(clause_id, f"expected the task {task_id}, got _id {body['_id']!r}", response)
    return dict(body)


def task_is_unchanged(before: Mapping[str, Any], response: httpx.Response,
                      clause_id: str) -> None:
    """The task still exists with the same identity, and its status did not go backwards (a
    status outside the enum is TASK-SHAPE's to judge, not a change)."""
    wanted = f"task {before.get('_id')} unchanged"
    if response.status_code != 200:
        fail(clause_id, f"expected the {wanted} and retrievable (200), got "
             f"{what(response)}", response)
    after = json_body(response)
    if not isinstance(after, Mapping):
        fail(clause_id, f"expected the {wanted}, got {what(response)}", response)
    for name in ("_id", "index_id", "video_id", "created_at"):
        if before.get(name) != after.get(name):
            fail(clause_id, f"expected the {wanted}, but {name} went from "
                 f"{before.get(name)!r} to {after.get(name)!r}", response)
    statuses_move_forward([str(before.get("status")), str(after.get("status"))],
                          clause_id=clause_id, subject=f"task {before.get('_id')}")


# --- lifecycle ------------------------------------------------------------------------------

def statuses_move_forward(statuses: Sequence[str], *, clause_id: str = "TASK-LIFECYCLE",
                          subject: str = "the task") -> None:
    """TASK-LIFECYCLE: observed statuses never go back, and a final status stays final.

    A status outside the documented enum has no place in the lifecycle: it is TASK-SHAPE's
    finding (judged on every task object the run reads), so it is passed over here."""
    previous: str | None = None
    for status in statuses:
        if status not in LIFECYCLE_RANK:
            continue
        if previous is not None and status != previous:
            if previous in FINAL_STATUSES:
                fail(clause_id, f"{subject}: expected the final status {previous!r} to stay, "
                     f"observed {list(statuses)}")
            if LIFECYCLE_RANK[status] < LIFECYCLE_RANK[previous]:
                fail(clause_id, f"{subject}: expected statuses to move forward only "
                     f"({' -> '.join(TASK_STATUSES[:-1])} | failed), observed "
                     f"{list(statuses)}")
        previous = status


def status_read_later_follows(before: str, after: str, earlier: httpx.Response,
                              later: httpx.Response, subject: str = "the task") -> None:
    """TASK-LIFECYCLE: a status read by a request sent once an earlier read was answered
    (``earlier`` showed ``before``, ``later`` shows ``after``) is not an earlier one of the
    lifecycle, and follows a final status only by being that status. Statuses outside the
    enum are TASK-SHAPE's, passed over."""
    if before not in LIFECYCLE_RANK or after not in LIFECYCLE_RANK or before == after:
        return
    if before in FINAL_STATUSES:
        fail("TASK-LIFECYCLE", f"{subject}: expected the final status {before!r} to stay, "
             f"read {after!r} afterwards", later)
    if LIFECYCLE_RANK[after] < LIFECYCLE_RANK[before]:
        fail("TASK-LIFECYCLE", f"{subject}: expected statuses to move forward only "
             f"({' -> '.join(TASK_STATUSES[:-1])} | failed), read {before!r} and then "
             f"{after!r}", later)


def task_timestamps_are_ordered(body: Mapping[str, Any],
                                response: httpx.Response | None = None) -> None:
    """TASK-LIFECYCLE: updated_at is not before created_at. Judged only between two RFC 3339
    date-times: a time missing or malformed is TASK-SHAPE's (LIST-SHAPE's) finding."""
    created, updated = body.get("created_at"), body.get("updated_at")
    if not (is_date_time(created) and is_date_time(updated)):
        return
    if parse_time(str(updated)) < parse_time(str(created)):
        fail("TASK-LIFECYCLE", f"task {body.get('_id')}: expected updated_at >= created_at, "
             f"got created_at {created} and updated_at {updated}", response)


# --- create ---------------------------------------------------------------------------------

def create_answer_is_ok(response: httpx.Response) -> dict[str, Any]:
    """CREATE-OK: 200 with string _id and video_id."""
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        fail("CREATE-OK", f"{where(response)}: expected 200 with {{_id, video_id}}, got "
             f"{what(response)}", response)
    for name in ("_id", "video_id"):
        if not isinstance(body.get(name), str) or not body[name]:
            fail("CREATE-OK", f"expected {name!r} to be a non-empty string in the create "
                 f"answer, got {what(response)}", response)
    return body


def created_task_is_retrievable(response: httpx.Response, task_id: str) -> dict[str, Any]:
    """CREATE-OK: the task a create answered is then retrievable (200 with a task body)."""
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        fail("CREATE-OK", f"expected the created task {task_id} to be retrievable, got "
             f"{what(response)}", response)
    return dict(body)


def create_is_rejected(response: httpx.Response) -> None:
    """CREATE-REJECTS: an incomplete create answers a 4xx error body."""
    client_error(response, "CREATE-REJECTS", "a 4xx (nothing created)")

