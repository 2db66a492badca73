"""The catalogue of named faults: each breaks the clauses it names, by patching the emulator's
named decisions (rules.py) for the subjects its description says, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from conformance.emulator.asks import Admission, Answer, Caller, Plan
from conformance.emulator.media import Probe
from conformance.emulator.model import DomainError, NotFound, Refused
from conformance.emulator.patches import (
    after,
    also,
    answer,
    code_changed,
    error,
    oldest_same_index,
    status_changed,
    the_task,
    when,
    without,
)
from conformance.emulator.rules import FINAL_SUBJECTS, Patch, timestamp


class Fault(NamedTuple):
    name: str
    clauses: tuple[str, ...]
    description: str
    patches: tuple[Patch, ...]


def _faults(*rows: tuple[Any, ...]) -> dict[str, Fault]:
    return {row[0]: Fault(row[0], tuple(row[1].split()), row[2], tuple(row[3:]))
            for row in rows}


_ANNOUNCED = Answer(204, headers={"content-length": "2"})  # h11 sends no bytes after it


def _task_delete(a: Any) -> bool:
    return bool(a.operation == "delete_task")


def _unfinished(a: Any) -> bool:
    return a.subject not in FINAL_SUBJECTS


def _is(subject: str) -> Any:
    return lambda a: a.subject == subject


def _history(operation: str, history: str) -> Any:
    return lambda a: a.operation == operation and a.history == history


def _keyless(operation: str) -> Any:
    return lambda a: a.operation == operation and a.kind == "missing"


def _viewed(view: str) -> Any:
    return lambda a: a.view == view


def _creating(operation: str) -> Any:
    return lambda a: a.operation == operation


def _succeeded(operation: str) -> Any:
    return lambda a: a.operation == operation and a.refusal is None


def _refused_for_its_state(a: Any) -> bool:
    return bool(a.operation == "delete_task" and a.refusal is not None
                and a.refusal.kind == "refusal")


def _refused_with(status: int) -> Any:
    def change(ask: Any, caller: Caller) -> Caller:
        refusal = caller.refusal
        if refusal is None:
            return caller
        return Caller(caller.account, DomainError(refusal.code, refusal.message, status=status,
                                                  kind=refusal.kind))
    return change


def _hls_status_lowered(ask: Any, body: dict) -> dict:
    if "hls" not in body:
        return body
    return {**body, "hls": {**body["hls"], "status": body["hls"]["status"].lower()}}


def _duration_as_string(ask: Any, body: dict) -> dict:
    meta = body.get("system_metadata")
    if not meta or "duration" not in meta:
        return body
    return {**body, "system_metadata": {**meta, "duration": str(meta["duration"])}}


def _updated_before_created(ask: Any, body: dict) -> dict:
    return {**body, "updated_at": timestamp(ask.task.created_at - 1.0)}


def _with_hls(ask: Any, body: dict) -> dict:
    return body if ask.hls is None else {**body, "hls": ask.hls}


def _revisit_queued(ask: Any, plan: Plan) -> Plan:
    if plan.final != "ready":
        return plan
    return Plan((*plan.phases[:3], ("indexing", 0.3), ("queued", 0.4), ("indexing", 0.3)),
                "ready")


def _as_if_nothing_was_uploaded(decision: Any, ask: Any) -> Admission:
    if ask.index is None:  # refused for its index, as any create would be
        return decision(replace(ask, subject=ask.index_subject))
    return Admission(ask.index, Probe("video_file_broken"))


def _past_the_end(a: Any) -> bool:
    q = a.query
    return bool(a.total and q.page > 1 and (q.page - 1) * q.page_limit >= a.total)


def _last_window(decision: Any, a: Any) -> tuple[int, int]:
    limit = a.query.page_limit
    start = (-(-a.total // limit) - 1) * limit
    return start, start + limit


def _last_page_of_the_unfiltered_list(a: Any) -> bool:
    q = a.query
    return bool(a.view == "list" and a.last_deleted is not None and q.page > 1
                and q.page == -(-a.total // q.page_limit))


def _with_last_deleted(ask: Any, items: list) -> list:
    return [*items, ask.last_deleted]


# The first family breaks each clause once, on the obvious subject.
FAULTS: dict[str, Fault] = _faults(
    ("delete-200-empty-object", "DEL-204",
     "A successful task delete answers 200 with the JSON body {} instead of 204.",
     when("deleted_answer", _task_delete, answer(lambda: Answer(200, {})))),
    ("delete-204-with-body", "DEL-EMPTY",
     "A successful task delete answers 204 announcing Content-Length: 2 (no bytes follow).",
     when("deleted_answer", _task_delete, answer(_ANNOUNCED))),
    ("delete-pending-accepted", "DEL-TERMINAL-ONLY",
     "A task that is not yet ready or failed is deleted (204) instead of refused.",
     when("may_delete", _unfinished, answer(None))),
    ("delete-ready-with-video-accepted", "DEL-VIDEO-FIRST",
     "A ready task is deleted (204) while its video still exists.",
     when("may_delete", _is("ready-with-video"), answer(None))),
    ("delete-failed-refused", "DEL-FAILED",
     "A failed task's delete is refused with 400 task_cannot_be_deleted.",
     when("may_delete", _is("failed"),
          answer(lambda: Refused("task_cannot_be_deleted", "The task has failed.")))),
    ("refusal-wrong-code", "DEL-REFUSAL-CODE",
     "Refused task deletes carry code parameter_invalid instead of task_cannot_be_deleted.",
     after("may_delete", code_changed("parameter_invalid"))),
    ("deleted-task-still-retrievable", "DEL-GONE",
     "A deleted task can still be retrieved (200); list and delete treat it as gone.",
     when("shown", lambda a: a.view == "retrieve" and a.deleted_at is not None, answer(True))),
    ("deleted-task-still-listed", "DEL-GONE",
     "A deleted task still appears in list pages; retrieve and delete treat it as gone.",
     when("shown", lambda a: a.view.startswith("list") and a.deleted_at is not None, answer(True))),
    ("second-delete-204", "DEL-GONE",
     "Deleting an already deleted task answers 204 again.",
     when("missing", _history("delete_task", "deleted"), answer(Answer(204)))),
    ("unknown-id-delete-204", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 204 (another account's "
     "task, live or deleted, still answers 404).",
     when("missing", _history("delete_task", "never"), answer(Answer(204)))),
    ("malformed-id-accepted", "DEL-MALFORMED",
     "Deleting a malformed task ID (a path segment that is not 24 lowercase hex) answers 204.",
     when("path_id", lambda a: a.operation == "delete_task" and a.kind != "well-formed",
          answer(Answer(204)))),
    ("delete-without-key-accepted", "AUTH-REQUIRED",
     "A task delete without x-api-key is carried out as the first account.",
     when("caller", _keyless("delete_task"), lambda d, a: Caller(a.first))),
    ("invalid-key-403", "AUTH-REQUIRED",
     "An unknown (present) API key answers 403 instead of 401.",
     after("caller", _refused_with(403), lambda a: a.kind not in ("valid", "missing"))),
    ("tenant-leak", "TENANT-ISOLATION",
     "Retrieve finds tasks of every account, not only the caller's; list and delete stay "
     "isolated.",
     when("reach", lambda a: a.operation == "retrieve_task", answer(True))),
    ("error-plain-text", "ERR-ENVELOPE",
     "Error answers carry their usual JSON text but as text/plain.",
     after("envelope", lambda a, r: replace(r, media_type="text/plain"))),
    ("server-error-on-bad-query", "NO-5XX",
     "A list query value that is not a number where one is expected answers 500.",
     when("envelope", lambda a: a.kind == "bad-number", lambda d,
          a: Answer(500, {"code": "internal_error", "message": "Could not convert a number."}))),
    ("server-error-on-unknown-retrieve", "NO-5XX",
     "Retrieving a well-formed ID that no account ever held answers 500 (another account's "
     "task still answers 404).",
     when("missing", _history("retrieve_task", "never"),
          error("internal_error", "Unexpected lookup failure.", 500))),
    ("task-bad-status-enum", "TASK-SHAPE",
     "Retrieve renders hls.status in lowercase ('complete'), outside its enum.",
     after("task_fields", _hls_status_lowered, _viewed("retrieve"))),
    ("duration-as-string", "TASK-SHAPE",
     "Retrieve renders system_metadata.duration as a string (\"5.0\").",
     after("task_fields", _duration_as_string, _viewed("retrieve"))),
    ("status-goes-backwards", "TASK-LIFECYCLE",
     "Tasks bound for ready go indexing -> queued -> indexing before ready (a revisited "
     "state; 0.4 s in queued).",
     after("schedule", _revisit_queued)),
    ("updated-before-created", "TASK-LIFECYCLE",
     "Retrieve renders updated_at one second before created_at.",
     after("task_fields", _updated_before_created, _viewed("retrieve"))),
    ("create-omits-video-id", "CREATE-OK",
     "Create answers {_id} without video_id (the task object still carries it).",
     after("created_answer", without("video_id"), _creating("create_task"))),
    ("create-without-index-accepted", "CREATE-REJECTS",
     "Create without index_id is accepted and files the task under the newest index.",
     when("may_create", lambda a: a.subject == "missing-index" and a.newest is not None, lambda d,
          a: Admission(a.newest, a.probe))),
    ("list-items-have-hls", "LIST-SHAPE",
     "List items carry the hls object of streamable tasks.",
     after("task_fields", _with_hls, _viewed("list"))),
    ("list-never-empty-page", "LIST-PAGING",
     "A page past the end answers the last non-empty page again instead of empty data.",
     when("window", _past_the_end, _last_window)),
    ("list-duplicates-across-pages", "LIST-PAGING",
     "Every page after the first starts with the last item of the page before it.",
     after("window", lambda a, w: (w[0] - 1, w[1] - 1), lambda a: a.query.page > 1)),
    ("list-ignores-status-filter", "LIST-FILTER-SORT",
     "The status filter is ignored.",
     when("matches", lambda a: a.name == "status", answer(True))),
    ("list-sort-ignored", "LIST-FILTER-SORT",
     "sort_option is ignored: pages are always newest first.",
     after("order", lambda q, o: (o[0], True))),
    # The second family: each tries a clause on another of the subjects it names (a failed
    # task, a video delete, one non-final status, another account's deletable task, ...).
    ("delete-failed-200", "DEL-204",
     "A successful delete of a failed task answers 200 with the JSON body {} (deletes of ready "
     "tasks still answer 204).",
     when("deleted_answer", lambda a: _task_delete(a) and a.subject == "failed",
          answer(lambda: Answer(200, {})))),
    ("video-delete-204-with-length", "DEL-EMPTY",
     "A successful video delete answers 204 announcing Content-Length: 2 (no bytes follow); "
     "task deletes are unchanged.",
     when("deleted_answer", lambda a: a.operation == "delete_video", answer(_ANNOUNCED))),
    ("delete-accepted-while-indexing", "DEL-TERMINAL-ONLY",
     "A task in status indexing is deleted (204); every other non-final status is still "
     "refused.",
     when("may_delete", _is("indexing"), answer(None))),
    ("refused-delete-removes-task", "DEL-TERMINAL-ONLY",
     "A delete of a non-final task answers the usual 400 task_cannot_be_deleted but removes "
     "the task anyway (404 on retrieve, absent from lists).",
     after("delete_effects", also(the_task),
           lambda a: a.refusal is not None and a.subject not in FINAL_SUBJECTS)),
    ("any-video-unlocks-index", "DEL-VIDEO-FIRST",
     "Once any video of an index has been deleted, every ready task of that index can be "
     "deleted (204) even while its own video exists.",
     when("may_delete", lambda a: a.subject == "ready-with-video" and a.index_unlocked,
          answer(None))),
    ("video-delete-refused", "DEL-VIDEO-FIRST",
     "Deleting the video of a ready task answers 400 parameter_invalid and keeps the video, so "
     "the task can never be deleted.",
     when("may_delete_video", lambda a: a.task is not None,
          error("parameter_invalid", "The video cannot be deleted.", 400))),
    ("delete-failed-404", "DEL-FAILED",
     "Deleting a failed task answers 404 resource_not_exist and keeps the task (retrievable, "
     "listed).",
     when("may_delete", _is("failed"), lambda d,
          a: NotFound("resource_not_exist", f"Task {a.task.id} does not exist."))),
    ("unfinished-refusal-wrong-code", "DEL-REFUSAL-CODE",
     "Refused deletes of non-final tasks carry code parameter_invalid; refusals of ready tasks "
     "whose video exists keep task_cannot_be_deleted.",
     after("may_delete", code_changed("parameter_invalid"), _unfinished)),
    ("deleted-task-listed-on-last-page", "DEL-GONE",
     "In the account's unfiltered list, the last page, when it is not page 1, ends with one "
     "extra item: the account's most recently deleted task (totals unchanged; filtered lists, "
     "page 1, retrieve and delete treat it as gone).",
     after("page_items", _with_last_deleted, _last_page_of_the_unfiltered_list)),
    ("unknown-id-delete-403", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 403 forbidden (another "
     "account's task, live or deleted, still answers 404).",
     when("missing", _history("delete_task", "never"),
          error("forbidden", "You are not allowed to delete this task.", 403))),
    ("uppercase-id-accepted", "DEL-MALFORMED",
     "Deleting a task ID of 24 hex characters with an uppercase letter answers 204 and deletes "
     "nothing; other malformed IDs are still refused with 400.",
     when("path_id", lambda a: a.operation == "delete_task" and a.kind == "uppercase",
          answer(Answer(204)))),
    ("list-without-key-accepted", "AUTH-REQUIRED",
     "A list request without x-api-key is answered as the first account (200); every other "
     "operation still needs a key.",
     when("caller", _keyless("list_tasks"), lambda d, a: Caller(a.first))),
    ("foreign-delete-of-deletable-task", "TENANT-ISOLATION",
     "Another account's key deletes (204) a task its owner could delete (failed, or ready with "
     "its video deleted); other foreign deletes still answer 404, retrieve and list stay "
     "isolated.",
     when("reach",
          lambda a: a.operation == "delete_task" and a.subject in ("failed", "ready-without-video"),
          answer(True))),
    ("foreign-list-by-index", "TENANT-ISOLATION",
     "A list filtered by index_id of another account's index shows that account's tasks of "
     "the index; unfiltered lists, retrieve and delete stay isolated.",
     when("reach", lambda a: a.operation == "list_tasks_by_index", answer(True))),
    ("error-404-without-message", "ERR-ENVELOPE",
     "Every 404 answer's body is {\"code\": ...} without message (still application/json).",
     after("envelope", without("message"), lambda a: a.status == 404)),
    ("create-201", "CREATE-OK",
     "A successful create answers 201 instead of 200 (same body {_id, video_id}).",
     after("created_answer", status_changed(201), _creating("create_task"))),
    ("create-without-source-accepted", "CREATE-REJECTS",
     "A create with an existing index_id but neither video_file nor video_url answers 200 "
     "and makes a task that fails with video_file_broken (a missing or unknown index is still "
     "refused).",
     when("may_create", _is("no-source"), _as_if_nothing_was_uploaded)),
    ("list-duration-as-string", "LIST-SHAPE",
     "List items render system_metadata.duration as a string (\"5.0\"); retrieve is "
     "unchanged.",
     after("task_fields", _duration_as_string, _viewed("list"))),
    ("delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful task delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there).",
     after("delete_effects", also(oldest_same_index), _succeeded("delete_task"))),
    ("video-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful video delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there, never the task whose video it was).",
     after("delete_effects", also(oldest_same_index), _succeeded("delete_video"))),
    ("refused-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every task delete refused for the task's state (400, not 404 or 401) deletes the oldest "
     "other task of the same index (the earliest-created one still there).",
     after("delete_effects", also(oldest_same_index), _refused_for_its_state)),
    ("delete-renames-neighbours", "DEL-ONLY-THAT",
     "Every successful task delete sets system_metadata.filename of every other task of the "
     "same index to renamed.mp4.",
     after("delete_effects", also(lambda a: a.neighbours.same_index(), "rename", "renamed.mp4"),
           _succeeded("delete_task"))),
)


def fault_patches(names: Any) -> list[Patch]:
    """The patches of these faults, in catalogue order."""
    return [p for f in FAULTS.values() if f.name in names for p in f.patches]
