"""The catalogue of named faults (each breaks the clauses it names) and conforming variations
(the tasks-gone ones aside: they show the endpoints withdrawn, see their descriptions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Fault(NamedTuple):
    name: str
    clauses: tuple[str, ...]
    description: str


class Variation(NamedTuple):
    name: str
    description: str


def _faults(*rows: tuple[str, str, str]) -> dict[str, Fault]:
    return {name: Fault(name, tuple(clauses.split()), text) for name, clauses, text in rows}


FAULTS: dict[str, Fault] = _faults(
    ("delete-200-empty-object", "DEL-204",
     "A successful task delete answers 200 with the JSON body {} instead of 204."),
    ("delete-204-with-body", "DEL-EMPTY",
     "A successful task delete answers 204 announcing Content-Length: 2 (no bytes follow)."),
    ("delete-pending-accepted", "DEL-TERMINAL-ONLY",
     "A task that is not yet ready or failed is deleted (204) instead of refused."),
    ("delete-ready-with-video-accepted", "DEL-VIDEO-FIRST",
     "A ready task is deleted (204) while its video still exists."),
    ("delete-failed-refused", "DEL-FAILED",
     "A failed task's delete is refused with 400 task_cannot_be_deleted."),
    ("refusal-wrong-code", "DEL-REFUSAL-CODE",
     "Refused task deletes carry code parameter_invalid instead of task_cannot_be_deleted."),
    ("deleted-task-still-retrievable", "DEL-GONE",
     "A deleted task can still be retrieved (200); list and delete treat it as gone."),
    ("deleted-task-still-listed", "DEL-GONE",
     "A deleted task still appears in list pages; retrieve and delete treat it as gone."),
    ("second-delete-204", "DEL-GONE",
     "Deleting an already deleted task answers 204 again."),
    ("unknown-id-delete-204", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 204 (another account's "
     "task, live or deleted, still answers 404)."),
    ("malformed-id-accepted", "DEL-MALFORMED",
     "Deleting a malformed task ID (a path segment that is not 24 lowercase hex) answers 204."),
    ("delete-without-key-accepted", "AUTH-REQUIRED",
     "A task delete without x-api-key is carried out as the first account."),
    ("invalid-key-403", "AUTH-REQUIRED",
     "An unknown (present) API key answers 403 instead of 401."),
    ("tenant-leak", "TENANT-ISOLATION",
     "Retrieve finds tasks of every account, not only the caller's; list and delete stay "
     "isolated."),
    ("error-plain-text", "ERR-ENVELOPE",
     "Error answers carry their usual JSON text but as text/plain."),
    ("server-error-on-bad-query", "NO-5XX",
     "A list query value that is not a number where one is expected answers 500."),
    ("server-error-on-unknown-retrieve", "NO-5XX",
     "Retrieving a well-formed ID that no account ever held answers 500 (another account's "
     "task still answers 404)."),
    ("task-bad-status-enum", "TASK-SHAPE",
     "Retrieve renders hls.status in lowercase ('complete'), outside its enum."),
    ("duration-as-string", "TASK-SHAPE",
     "Retrieve renders system_metadata.duration as a string (\"5.0\")."),
    ("status-goes-backwards", "TASK-LIFECYCLE",
     "Tasks bound for ready go indexing -> queued -> indexing before ready (a revisited "
     "state; 0.4 s in queued)."),
    ("updated-before-created", "TASK-LIFECYCLE",
     "Retrieve renders updated_at one second before created_at."),
    ("create-omits-video-id", "CREATE-OK",
     "Create answers {_id} without video_id (the task object still carries it)."),
    ("create-without-index-accepted", "CREATE-REJECTS",
     "Create without index_id is accepted and files the task under the newest index."),
    ("list-items-have-hls", "LIST-SHAPE",
     "List items carry the hls object of streamable tasks."),
    ("list-never-empty-page", "LIST-PAGING",
     "A page past the end answers the last non-empty page again instead of empty data."),
    ("list-duplicates-across-pages", "LIST-PAGING",
     "Every page after the first starts with the last item of the page before it."),
    ("list-ignores-status-filter", "LIST-FILTER-SORT",
     "The status filter is ignored."),
    ("list-sort-ignored", "LIST-FILTER-SORT",
     "sort_option is ignored: pages are always newest first."),
    # The second family: each tries a clause on another of the subjects it names (a failed
    # task, a video delete, one non-final status, another account's deletable task, ...).
    ("delete-failed-200", "DEL-204",
     "A successful delete of a failed task answers 200 with the JSON body {} (deletes of ready "
     "tasks still answer 204)."),
    ("video-delete-204-with-length", "DEL-EMPTY",
     "A successful video delete answers 204 announcing Content-Length: 2 (no bytes follow); "
     "task deletes are unchanged."),
    ("delete-accepted-while-indexing", "DEL-TERMINAL-ONLY",
     "A task in status indexing is deleted (204); every other non-final status is still "
     "refused."),
    ("refused-delete-removes-task", "DEL-TERMINAL-ONLY",
     "A delete of a non-final task answers the usual 400 task_cannot_be_deleted but removes "
     "the task anyway (404 on retrieve, absent from lists)."),
    ("any-video-unlocks-index", "DEL-VIDEO-FIRST",
     "Once any video of an index has been deleted, every ready task of that index can be "
     "deleted (204) even while its own video exists."),
    ("video-delete-refused", "DEL-VIDEO-FIRST",
     "Deleting the video of a ready task answers 400 parameter_invalid and keeps the video, so "
     "the task can never be deleted."),
    ("delete-failed-404", "DEL-FAILED",
     "Deleting a failed task answers 404 resource_not_exist and keeps the task (retrievable, "
     "listed)."),
    ("unfinished-refusal-wrong-code", "DEL-REFUSAL-CODE",
     "Refused deletes of non-final tasks carry code parameter_invalid; refusals of ready tasks "
     "whose video exists keep task_cannot_be_deleted."),
    ("deleted-task-listed-on-last-page", "DEL-GONE",
     "In the account's unfiltered list, the last page, when it is not page 1, ends with one "
     "extra item: the account's most recently deleted task (totals unchanged; filtered lists, "
     "page 1, retrieve and delete treat it as gone)."),
    ("unknown-id-delete-403", "DEL-UNKNOWN",
     "Deleting a well-formed ID that no account ever held answers 403 forbidden (another "
     "account's task, live or deleted, still answers 404)."),
    ("uppercase-id-accepted", "DEL-MALFORMED",
     "Deleting a task ID of 24 hex characters with an uppercase letter answers 204 and deletes "
     "nothing; other malformed IDs are still refused with 400."),
    ("list-without-key-accepted", "AUTH-REQUIRED",
     "A list request without x-api-key is answered as the first account (200); every other "
     "operation still needs a key."),
    ("foreign-delete-of-deletable-task", "TENANT-ISOLATION",
     "Another account's key deletes (204) a task its owner could delete (failed, or ready with "
     "its video deleted); other foreign deletes still answer 404, retrieve and list stay "
     "isolated."),
    ("foreign-list-by-index", "TENANT-ISOLATION",
     "A list filtered by index_id of another account's index shows that account's tasks of "
     "the index; unfiltered lists, retrieve and delete stay isolated."),
    ("error-404-without-message", "ERR-ENVELOPE",
     "Every 404 answer's body is {\"code\": ...} without message (still application/json)."),
    ("create-201", "CREATE-OK",
     "A successful create answers 201 instead of 200 (same body {_id, video_id})."),
    ("create-without-source-accepted", "CREATE-REJECTS",
     "A create with an existing index_id but neither video_file nor video_url answers 200 "
     "and makes a task that fails with video_file_broken (a missing or unknown index is still "
     "refused)."),
    ("list-duration-as-string", "LIST-SHAPE",
     "List items render system_metadata.duration as a string (\"5.0\"); retrieve is "
     "unchanged."),
    ("delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful task delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there)."),
    ("video-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every successful video delete also deletes the oldest other task of the same index (the "
     "earliest-created one still there, never the task whose video it was)."),
    ("refused-delete-removes-neighbour", "DEL-ONLY-THAT",
     "Every task delete refused for the task's state (400, not 404 or 401) deletes the oldest "
     "other task of the same index (the earliest-created one still there)."),
    ("delete-renames-neighbours", "DEL-ONLY-THAT",
     "Every successful task delete sets system_metadata.filename of every other task of the "
     "same index to renamed.mp4."),
    # The third family: subjects of the subject matrix (conformance/subjects.py) that no fault
    # above tried: look-alike keys, isolation in each state, a task gone from some views only
    # or not for good, filters' recall, sort keys, page_info, probes bound for failed, forms
    # of a real ID.
    ("empty-key-accepted", "AUTH-REQUIRED",
     "An x-api-key header with an empty value is answered as the first account."),
    ("key-with-suffix-accepted", "AUTH-REQUIRED",
     "A key made of a valid key with characters added is answered as that key's account."),
    ("key-without-last-character-accepted", "AUTH-REQUIRED",
     "A valid key without its last character is answered as that key's account."),
    ("key-case-insensitive", "AUTH-REQUIRED",
     "Keys are matched without regard to case."),
    ("invalid-key-video-delete-applied", "AUTH-REQUIRED",
     "A video delete with an unknown key answers 401 but deletes the video, if the first "
     "account has it."),
    ("foreign-create-into-index", "TENANT-ISOLATION",
     "A create naming another account's index makes the task in that index (200)."),
    ("foreign-video-delete", "TENANT-ISOLATION",
     "A video delete naming another account's index deletes that account's video (204)."),
    ("foreign-retrieve-of-failed-task", "TENANT-ISOLATION",
     "Retrieve finds other accounts' failed tasks (their other tasks stay isolated)."),
    ("foreign-retrieve-of-unfinished-task", "TENANT-ISOLATION",
     "Retrieve finds other accounts' tasks that are not yet ready or failed."),
    ("deleted-task-listed-by-status", "DEL-GONE",
     "Deleted tasks still appear in lists filtered by status (as they were when deleted); "
     "other lists, retrieve and delete treat them as gone."),
    ("deleted-task-comes-back", "DEL-GONE",
     "A deleted task comes back 3 seconds after its 204: retrieve, lists and delete see it "
     "again as it was."),
    ("list-ignores-index-filter", "LIST-FILTER-SORT",
     "The index_id filter is ignored."),
    ("list-status-filter-drops-failed", "LIST-FILTER-SORT",
     "Lists filtered by status never show failed tasks (totals agree with the items)."),
    ("list-sort-by-updated-ignored", "LIST-FILTER-SORT",
     "sort_by=updated_at is answered in created_at order."),
    ("list-status-filter-needs-index", "LIST-FILTER-SORT",
     "The status filter is ignored unless index_id is given too."),
    ("list-page-echo-first", "LIST-PAGING",
     "page_info.page is always 1, whichever page was asked for."),
    ("list-totals-unfiltered", "LIST-PAGING",
     "On filtered lists, total_results and total_page count the account's whole list."),
    ("refused-delete-fails-task", "DEL-TERMINAL-ONLY",
     "A refused delete of a task bound for ready that is not yet final answers the usual 400 "
     "but makes the task end failed."),
    ("refused-delete-removes-failing-task", "DEL-TERMINAL-ONLY",
     "A refused delete of a task bound for failed that is not yet final answers the usual 400 "
     "but removes the task (tasks bound for ready are kept)."),
    ("malformed-id-normalised", "DEL-MALFORMED",
     "A task delete whose ID is malformed but, stripped of spaces, starts with or is the start "
     "of the ID of exactly one task of the caller, deletes that task (204)."),
)

VARIATIONS: dict[str, Variation] = {
    v.name: v
    for v in (
        Variation("rate-limit", "Every Nth request (N from CONFORMANCE_EMULATOR_RATE_LIMIT_EVERY, "
                  "default 25) answers 429 too_many_requests with Retry-After: 1."),
        Variation("rate-limit-bodiless", "Like rate-limit, but the 429 has no body and "
                  "Retry-After is an HTTP date."),
        Variation("slow-indexing", "Every phase of a task's schedule lasts four times longer."),
        Variation("extra-fields", "Task objects and list items carry undocumented fields "
                  "(estimated_time, error_reason, user_metadata)."),
        Variation("unknown-id-400", "Unknown and deleted IDs answer 400 resource_not_exist "
                  "instead of 404."),
        Variation("clamp-page-limit", "page_limit above 50 is clamped to 50 instead of refused."),
        Variation("malformed-id-404", "Malformed IDs answer 404 resource_not_exist instead of "
                  "400 parameter_invalid."),
        Variation("skip-states", "Tasks go from validating straight to ready or failed."),
        Variation("uploading-state", "Tasks begin in the documented uploading state."),
        Variation("no-system-metadata", "Task objects omit system_metadata."),
        Variation("no-hls", "Task objects omit hls even for streamable tasks."),
        Variation("error-docs-url", "Error bodies add a docs_url field."),
        Variation("json-charset", "JSON answers say application/json; charset=utf-8."),
        Variation("content-length-zero-on-204", "204 answers carry Content-Length: 0."),
        Variation("timestamps-offset", "Date-times use +00:00 and microseconds instead of Z "
                  "and milliseconds."),
        Variation("foreign-id-403", "Another account's task answers 403 resource_not_exist "
                  "instead of 404."),
        Variation("lenient-queries", "List query values the contract does not require "
                  "refusing are accepted: bad or out-of-range width, height, duration, "
                  "created_at and updated_at are ignored, a bad page reads as 1 (one past the "
                  "maximum as the maximum), a bad page_limit as 10, and an index_id that is not "
                  "24 lowercase hex matches no task (enums, page_limit above 50 and repeated "
                  "keys are still refused)."),
        Variation("tight-query-bounds", "page above 10000, width or height above 10000 and "
                  "duration above 86400 answer 400 parameter_invalid (stricter than the spec's "
                  "hints)."),
        Variation("connection-close", "Every answer carries Connection: close and the server "
                  "closes the connection after it."),
        Variation("gzip", "Answers with a body are gzip-compressed (Content-Encoding: gzip), "
                  "however small, whenever the request's Accept-Encoding admits gzip; "
                  "bodiless answers stay bodiless."),
        Variation("chunked", "JSON answers are sent with Transfer-Encoding: chunked (no "
                  "Content-Length), in two chunks."),
        Variation("reject-undecodable-at-create", "A create whose upload is not a decodable "
                  "video answers 400 video_file_broken at once and creates nothing (URL creates "
                  "are unchanged)."),
        Variation("instant-indexing", "Every task is already ready or failed when created: its "
                  "first read shows the final status."),
        Variation("brief-first-status", "A task's first status lasts 1 ms; the rest of its "
                  "schedule is unchanged."),
        Variation("echo-key-in-errors", "Every error message ends with ' (x-api-key: KEY)', "
                  "KEY being the exact value the request sent, when it sent one (401 included)."),
        Variation("advisory-headers", "Every answer of a /tasks operation carries Deprecation, "
                  "Sunset and Link rel=deprecation headers and X-Ratelimit-Limit: 600, "
                  "X-Ratelimit-Remaining (counting down) and X-Ratelimit-Reset: 60."),
        # Live targets differ from the emulator in these ways too (contract.md, "Provisioning"
        # and "Live targets may differ"): each is allowed, and the suite must take it in stride.
        Variation("index-create-200", "An index create answers 200 {_id} instead of 201."),
        Variation("rate-limit-storms", "Every Nth request (N from "
                  "CONFORMANCE_EMULATOR_STORM_EVERY, default 200) starts a storm: it and the "
                  "next five requests, whoever sends them, answer 429 in turn bodiless with no "
                  "Retry-After, too_many_requests with Retry-After: 1, and bodiless with an "
                  "HTTP-date Retry-After."),
        Variation("long-error-messages", "Every 4xx error body's message is padded past "
                  "2,000 characters (the body is still a valid envelope)."),
        Variation("keep-alive-drops", "The server drops idle keep-alive connections early: a "
                  "request that arrives on a connection idle for more than 0.03 s is not read, "
                  "and the connection is closed without an answer (as when a keep-alive timer "
                  "fires while the request is on its way); idle connections are closed after "
                  "1 s anyway."),
        Variation("busy-account", "The first account already holds 3,000 final tasks in three "
                  "other indexes, and a background actor keeps creating and deleting tasks in "
                  "indexes of its own in the first account and in the second (about ten "
                  "operations a second)."),
        Variation("new-task-404-briefly", "A new task answers 404 resource_not_exist (retrieve "
                  "and delete) and is absent from lists for its first 0.2 s (stretched by the "
                  "time scale)."),
        Variation("tasks-gone-404", "Not conforming but a removal: every /tasks operation "
                  "answers 404 endpoint_not_exists after authentication (401 still first); "
                  "index and video operations keep working."),
        Variation("tasks-gone-410", "Not conforming but a removal: every /tasks operation "
                  "answers 410 endpoint_removed after authentication (401 still first); index "
                  "and video operations keep working."),
    )
}


def validate(faults: tuple[str, ...] | list[str], variations: tuple[str, ...] | list[str]) -> None:
    """Reject unknown names early, with the catalogue in the message."""
    for kind, names, known in (("fault", faults, FAULTS), ("variation", variations, VARIATIONS)):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; known {kind}s: "
                             f"{', '.join(sorted(known))}")


@dataclass(frozen=True)
class Switches:
    """The faults and variations one emulator runs with."""

    faults: frozenset[str] = frozenset()
    variations: frozenset[str] = frozenset()

    def fault(self, name: str) -> bool:
        return name in self.faults

    def variation(self, name: str) -> bool:
        return name in self.variations
