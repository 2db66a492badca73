"""The catalogue of named faults: each breaks the clauses it names, by patching the emulator's
named decisions (rules.py) for the subjects its description says, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from conformance.emulator.asks import Admission, Answer, Caller
from conformance.emulator.media import Probe
from conformance.emulator.model import NotFound, Refused
from conformance.emulator.patches import (
    after,
    also,
    answer,
    code_changed,
    creating,
    duration_as_string,
    error,
    history,
    hls_status_lowered,
    is_subject,
    keyless,
    last_page_of_the_unfiltered_list,
    last_window,
    oldest_same_index,
    past_the_end,
    refusal_status,
    refused_for_its_state,
    revisit_queued,
    status_changed,
    succeeded,
    task_delete,
    the_task,
    unfiltered_totals,
    unfinished,
    updated_before_created,
    viewed,
    when,
    with_hls,
    with_last_deleted,
    without,
)
from conformance.emulator.rules import FINAL_SUBJECTS, Patch


class Fault(NamedTuple):
    name: str
    clauses: tuple[str, ...]
    description: str
    patches: tuple[Patch, ...]


def _faults(*rows: tuple[Any, ...]) -> dict[str, Fault]:
    return {row[0]: Fault(row[0], tuple(row[1].split()), row[2], tuple(row[3:]))
            for row in rows}


_ANNOUNCED = Answer(204, headers={"content-length": "2"})  # h11 sends no bytes after it


def _as_if_nothing_was_uploaded(decision: Any, ask: Any) -> Admission:
    if ask.index is None:  # refused for its index, as any create would be
        return decision(replace(ask, subject=ask.index_subject))
    return Admission(ask.index, Probe("video_file_broken"))


def _refused_bound_for(final: str) -> Any:
    """A refused delete of an unfinished task whose schedule ends ``final``."""
    return lambda a: (a.operation == "delete_task" and a.refusal is not None
                      and a.subject not in FINAL_SUBJECTS
                      and a.task.schedule.final_status == final)


def _named_loosely(decision: Any, ask: Any) -> Any:
    """The one task of the caller whose ID starts with the text stripped of spaces, or is the
    start of it (else the usual answer)."""
    text = ask.text.replace(" ", "")
    if len(text) >= 20:
        found = [t for t in ask.owned() if t.startswith(text) or text.startswith(t)]
        if len(found) == 1:
            return found[0]
    return decision(ask)


# The first family breaks each clause once, on the obvious subject.
FAULTS: dict[str, Fault] = _faults(
    ("delete-200-empty-object", "DEL-204",
     "A successful task delete answers 200 with the JSON body {} instead of 204.",
     when("deleted_answer", task_delete, answer(lambda: Answer(200, {})))),
    ("delete-204-with-body", "DEL-EMPTY",
     "A successful task delete answers 204 announcing Content-Length: 2 (no bytes follow).",
     when("deleted_answer", task_delete, answer(_ANNOUNCED))),
    ("delete-pending-accepted", "DEL-TERMINAL-ONLY",
     "A task that is not yet ready or failed is deleted (204) instead of refused.",
     when("may_delete", unfinished, answer(None))),
    ("delete-ready-with-video-accepted", "DEL-VIDEO-FIRST",
     "A ready task is deleted (204) while its video still exists.",
     when("may_delete", is_subject("ready-with-video"), answer(None))),
    ("delete-failed-refused", "DEL-FAILED",
     "A failed task's delete is refused with 400 task_cannot_be_deleted.",
     when("may_delete", is_subject("failed"),
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
     when("missing", history("delete_task", "deleted"), answer(Answer(204)))),
    ("unknown-id-delete-204", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 204 (another account's "
     "task, live or deleted, still answers 404).",
     when("missing", history("delete_task", "never"), answer(Answer(204)))),
    ("malformed-id-accepted", "DEL-MALFORMED",
     "Deleting a malformed task ID (a path segment that is not 24 lowercase hex) answers 204.",
     when("path_id", lambda a: a.operation == "delete_task" and a.kind != "well-formed",
          answer(Answer(204)))),
    ("delete-without-key-accepted", "AUTH-REQUIRED",
     "A task delete without x-api-key is carried out as the first account.",
     when("caller", keyless("delete_task"), lambda d, a: Caller(a.first))),
    ("invalid-key-403", "AUTH-REQUIRED",
     "An unknown (present) API key answers 403 instead of 401.",
     after("caller", refusal_status(403), lambda a: a.kind not in ("valid", "missing"))),
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
     when("missing", history("retrieve_task", "never"),
          error("internal_error", "Unexpected lookup failure.", 500))),
    ("task-bad-status-enum", "TASK-SHAPE",
     "Retrieve renders hls.status in lowercase ('complete'), outside its enum.",
     after("task_fields", hls_status_lowered, viewed("retrieve"))),
    ("duration-as-string", "TASK-SHAPE",
     "Retrieve renders system_metadata.duration as a string (\"5.0\").",
     after("task_fields", duration_as_string, viewed("retrieve"))),
    ("status-goes-backwards", "TASK-LIFECYCLE",
     "Tasks bound for ready go indexing -> queued -> indexing before ready (a revisited "
     "state; 0.4 s in queued).",
     after("schedule", revisit_queued)),
    ("updated-before-created", "TASK-LIFECYCLE",
     "Retrieve renders updated_at one second before created_at.",
     after("task_fields", updated_before_created, viewed("retrieve"))),
    ("create-omits-video-id", "CREATE-OK",
     "Create answers {_id} without video_id (the task object still carries it).",
     after("created_answer", without("video_id"), creating("create_task"))),
    ("create-without-index-accepted", "CREATE-REJECTS",
     "Create without index_id is accepted and files the task under the newest index.",
     when("may_create", lambda a: a.subject == "missing-index" and a.newest is not None, lambda d,
          a: Admission(a.newest, a.probe))),
    ("list-items-have-hls", "LIST-SHAPE",
     "List items carry the hls object of streamable tasks.",
     after("task_fields", with_hls, viewed("list"))),
    ("list-never-empty-page", "LIST-PAGING",
     "A page past the end answers the last non-empty page again instead of empty data.",
     when("window", past_the_end, last_window)),
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
     when("deleted_answer", lambda a: task_delete(a) and a.subject == "failed",
          answer(lambda: Answer(200, {})))),
    ("video-delete-204-with-length", "DEL-EMPTY",
     "A successful video delete answers 204 announcing Content-Length: 2 (no bytes follow); "
     "task deletes are unchanged.",
     when("deleted_answer", lambda a: a.operation == "delete_video", answer(_ANNOUNCED))),
    ("delete-accepted-while-indexing", "DEL-TERMINAL-ONLY",
     "A task in status indexing is deleted (204); every other non-final status is still "
     "refused.",
     when("may_delete", is_subject("indexing"), answer(None))),
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
     when("may_delete", is_subject("failed"), lambda d,
          a: NotFound("resource_not_exist", f"Task {a.task.id} does not exist."))),
    ("unfinished-refusal-wrong-code", "DEL-REFUSAL-CODE",
     "Refused deletes of non-final tasks carry code parameter_invalid; refusals of ready tasks "
     "whose video exists keep task_cannot_be_deleted.",
     after("may_delete", code_changed("parameter_invalid"), unfinished)),
    ("deleted-task-listed-on-last-page", "DEL-GONE",
     "In the account's unfiltered list, the last page, when it is not page 1, ends with one "
     "extra item: the account's most recently deleted task (totals unchanged; filtered lists, "
     "page 1, retrieve and delete treat it as gone).",
     after("page_items", with_last_deleted, last_page_of_the_unfiltered_list)),
    ("unknown-id-delete-403", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 403 forbidden (another "
     "account's task, live or deleted, still answers 404).",
     when("missing", history("delete_task", "never"),
          error("forbidden", "You are not allowed to delete this task.", 403))),
    ("uppercase-id-accepted", "DEL-MALFORMED",
     "Deleting a task ID of 24 hex characters with an uppercase letter answers 204 and deletes "
     "nothing; other malformed IDs are still refused with 400.",
     when("path_id", lambda a: a.operation == "delete_task" and a.kind == "uppercase",
          answer(Answer(204)))),
    ("list-without-key-accepted", "AUTH-REQUIRED",
     "A list request without x-api-key is answered as the first account (200); every other "
     "operation still needs a key.",
     when("caller", keyless("list_tasks"), lambda d, a: Caller(a.first))),
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
     after("created_answer", status_changed(201), creating("create_task"))),
    ("create-without-source-accepted", "CREATE-REJECTS",
     "A create with an existing index_id but neither video_file nor video_url answers 200 "
     "and makes a task that fails with video_file_broken (a missing or unknown index is still "
     "refused).",
     when("may_create", is_subject("no-source"), _as_if_nothing_was_uploaded)),
    ("list-duration-as-string", "LIST-SHAPE",
     "List items render system_metadata.duration as a string (\"5.0\"); retrieve is "
     "unchanged.",
     after("task_fields", duration_as_string, viewed("list"))),
    ("delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful task delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there).",
     after("delete_effects", also(oldest_same_index), succeeded("delete_task"))),
    ("video-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful video delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there, never the task whose video it was).",
     after("delete_effects", also(oldest_same_index), succeeded("delete_video"))),
    ("refused-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every task delete refused for the task's state (400, not 404 or 401) deletes the oldest "
     "other task of the same index (the earliest-created one still there).",
     after("delete_effects", also(oldest_same_index), refused_for_its_state)),
    ("delete-renames-neighbours", "DEL-ONLY-THAT",
     "Every successful task delete sets system_metadata.filename of every other task of the "
     "same index to renamed.mp4.",
     after("delete_effects", also(lambda a: a.neighbours.same_index(), "rename", "renamed.mp4"),
           succeeded("delete_task"))),
    # The third family: subjects of the subject matrix (conformance/subjects.py) that no fault
    # above tried: look-alike keys, isolation in each state, a task gone from some views only
    # or not for good, filters' recall, sort keys, page_info, probes bound for failed, forms
    # of a real ID.
    ("empty-key-accepted", "AUTH-REQUIRED",
     "An x-api-key header with an empty value is answered as the first account.",
     when("caller", lambda a: a.kind == "empty", lambda d, a: Caller(a.first))),
    ("key-with-suffix-accepted", "AUTH-REQUIRED",
     "A key made of a valid key with characters added is answered as that key's account.",
     when("caller", lambda a: a.kind == "suffix", lambda d, a: Caller(a.account))),
    ("key-without-last-character-accepted", "AUTH-REQUIRED",
     "A valid key without its last character is answered as that key's account.",
     when("caller", lambda a: a.kind == "truncated", lambda d, a: Caller(a.account))),
    ("key-case-insensitive", "AUTH-REQUIRED",
     "Keys are matched without regard to case.",
     when("caller", lambda a: a.kind == "case", lambda d, a: Caller(a.account))),
    ("invalid-key-video-delete-applied", "AUTH-REQUIRED",
     "A video delete with an unknown key answers 401 but deletes the video, if the first "
     "account has it.",
     when("caller", lambda a: a.operation == "delete_video" and a.kind not in ("valid", "missing"),
          lambda d, a: Caller(a.first, d(a).refusal))),
    ("foreign-create-into-index", "TENANT-ISOLATION",
     "A create naming another account's index makes the task in that index (200).",
     when("reach", lambda a: a.operation == "create_task", answer(True))),
    ("foreign-video-delete", "TENANT-ISOLATION",
     "A video delete naming another account's index deletes that account's video (204).",
     when("reach", lambda a: a.operation == "delete_video", answer(True))),
    ("foreign-retrieve-of-failed-task", "TENANT-ISOLATION",
     "Retrieve finds other accounts' failed tasks (their other tasks stay isolated).",
     when("reach", lambda a: a.operation == "retrieve_task" and a.subject == "failed",
          answer(True))),
    ("foreign-retrieve-of-unfinished-task", "TENANT-ISOLATION",
     "Retrieve finds other accounts' tasks that are not yet ready or failed.",
     when("reach", lambda a: a.operation == "retrieve_task" and unfinished(a), answer(True))),
    ("deleted-task-listed-by-status", "DEL-GONE",
     "Deleted tasks still appear in lists filtered by status (as they were when deleted); "
     "other lists, retrieve and delete treat them as gone.",
     when("shown", lambda a: a.view.startswith("list-by-status") and a.deleted_at is not None,
          answer(True))),
    ("deleted-task-comes-back", "DEL-GONE",
     "A deleted task comes back 3 seconds after its 204: retrieve, lists and delete see it "
     "again as it was.",
     after("delete_effects", also(the_task, "revive", after=3.0), succeeded("delete_task"))),
    ("list-ignores-index-filter", "LIST-FILTER-SORT",
     "The index_id filter is ignored.",
     when("matches", lambda a: a.name == "index_id", answer(True))),
    ("list-status-filter-drops-failed", "LIST-FILTER-SORT",
     "Lists filtered by status never show failed tasks (totals agree with the items).",
     when("matches", lambda a: a.name == "status" and a.status == "failed", answer(False))),
    ("list-sort-by-updated-ignored", "LIST-FILTER-SORT",
     "sort_by=updated_at is answered in created_at order.",
     after("order", lambda q, o: ("created_at", o[1]))),
    ("list-status-filter-needs-index", "LIST-FILTER-SORT",
     "The status filter is ignored unless index_id is given too.",
     when("matches", lambda a: a.name == "status" and a.query.index_id is None, answer(True))),
    ("list-page-echo-first", "LIST-PAGING",
     "page_info.page is always 1, whichever page was asked for.",
     after("page_info", lambda a, i: {**i, "page": 1})),
    ("list-totals-unfiltered", "LIST-PAGING",
     "On filtered lists, total_results and total_page count the account's whole list.",
     after("page_info", unfiltered_totals, lambda a: a.view != "list")),
    ("refused-delete-fails-task", "DEL-TERMINAL-ONLY",
     "A refused delete of a task bound for ready that is not yet final answers the usual 400 "
     "but makes the task end failed.",
     after("delete_effects", also(the_task, "end-failed"), _refused_bound_for("ready"))),
    ("refused-delete-removes-failing-task", "DEL-TERMINAL-ONLY",
     "A refused delete of a task bound for failed that is not yet final answers the usual 400 "
     "but removes the task (tasks bound for ready are kept).",
     after("delete_effects", also(the_task), _refused_bound_for("failed"))),
    ("malformed-id-normalised", "DEL-MALFORMED",
     "A task delete whose ID is malformed but, stripped of spaces, starts with or is the start "
     "of the ID of exactly one task of the caller, deletes that task (204).",
     when("path_id", lambda a: a.operation == "delete_task" and a.kind != "well-formed",
          _named_loosely)),
)


def fault_patches(names: Any) -> list[Patch]:
    """The patches of these faults, in catalogue order."""
    return [p for f in FAULTS.values() if f.name in names for p in f.patches]
