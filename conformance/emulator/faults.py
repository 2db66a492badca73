"""The catalogue of named faults (each breaks the clauses it names) and conforming variations."""

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
