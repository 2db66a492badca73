"""The subject matrix: per clause, the subjects it must be judged on (contract.md, "Each
clause holds for every subject, not for one example").

A subject is a head and its items ("the key in another case: delete video"). The suite
records each subject it judged with :func:`subject` (which refuses one the matrix does not
name) so the report's "subjects judged" can be held against this table, and ``docs/clauses.md``
shows it. Items ``None`` stand for what the target shows (the unfinished statuses a task goes
through): at least one must be judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.clauses import CLAUSES

__all__ = ["AUTH_KEYS", "AUTH_OPERATIONS", "GONE_AGAIN", "GONE_GAP", "GONE_VIEWS",
           "ISOLATION_STATES", "SUBJECTS", "Subject", "subject", "subjects"]


@dataclass(frozen=True)
class Subject:
    head: str
    items: tuple[str, ...] | None
    """None: whatever the target shows (at least one), as ``each`` says."""
    each: str = ""
    when: str = ""
    """A precondition the clean emulator never offers ("on a target that rate limits"): such
    a subject can only be judged where it holds."""

    def texts(self) -> list[str]:
        return [f"{self.head}: {item}" for item in self.items or ("...",)]


AUTH_OPERATIONS = ("create task", "list tasks", "retrieve task", "delete task", "delete video",
                   "create index", "delete index")
AUTH_KEYS = ("no key", "an empty key", "an unknown key", "the key with a suffix",
             "the key without its last character", "the key in another case")
"""Surrounding whitespace is no key kind: it is not part of a header value (RFC 9110)."""
ISOLATION_STATES = ("unfinished", "ready with its video", "ready without its video", "failed")
GONE_VIEWS = ("retrieve", "every page of the list", "list by index_id", "list by status",
              "list by repeated status keys", "second delete")
GONE_GAP = 4.0
"""Seconds at least between a delete and the look "again at the end of the run" that judges
it: a task that comes back a few seconds after its 204 is not gone for good."""
GONE_AGAIN = f"at the end of the run ({GONE_GAP:g} s or more after the delete)"
_DELETED = ("a failed task", "a ready task whose video was deleted", "a video")


def _s(head: str, *items: str, each: str = "", when: str = "") -> Subject:
    return Subject(head, items or None, each, when)


SUBJECTS: dict[str, tuple[Subject, ...]] = {
    "DEL-204": (_s("successful delete", *_DELETED),),
    "DEL-EMPTY": (_s("successful delete", *_DELETED),),
    "DEL-TERMINAL-ONLY": (
        _s("bound for ready", each="each unfinished status it shows"),
        _s("bound for failed", each="each unfinished status it shows"),
        _s("after a refusal", "the task ends like its siblings from the same video"),
    ),
    "DEL-VIDEO-FIRST": (_s("a ready task", "refused while its own video exists",
                           "still refused once another video of its index was deleted",
                           "deleted once its own video was deleted"),),
    "DEL-FAILED": (_s("a failed task", "deleted directly"),),
    "DEL-REFUSAL-CODE": (_s("refusal", "an unfinished task", "a ready task with its video"),),
    "DEL-GONE": (_s("right after the delete", *GONE_VIEWS),
                 _s(GONE_AGAIN, *GONE_VIEWS)),
    "DEL-UNKNOWN": (_s("delete", "well-formed IDs no account holds"),),
    "DEL-MALFORMED": (
        _s("made-up IDs", "generated malformed IDs"),
        _s("forms of a real task's ID", "a character added", "a character removed",
           "an encoded space before it", "an encoded space after it", "in upper case"),
    ),
    "AUTH-REQUIRED": tuple(_s(key, *AUTH_OPERATIONS) for key in AUTH_KEYS),
    "TENANT-ISOLATION": (
        *(_s(op, *ISOLATION_STATES) for op in ("retrieve", "delete task", "delete video",
                                               "list", "list by the owner's index_id")),
        _s("create into the owner's index", "the run's index"),
    ),
    "ERR-ENVELOPE": (_s("every 4xx answer of the run", each="their number"),),
    "NO-5XX": (_s("every answer of the run", each="their number"),),
    "TASK-SHAPE": (_s("retrieve", "a ready task", "a failed task"),
                   _s("every read", each="each status a task object of the run was read at")),
    "TASK-LIFECYCLE": (_s("statuses", "of a task probed while unfinished",
                          "of every task of the pool"),
                       _s("timestamps", "updated_at not before created_at"),
                       _s("every read", "every task of the run in the order read",
                          "updated_at not before created_at in every object"),),
    "CREATE-OK": (_s("create", "every task the pool made"),
                  _s("create from a video URL", "a URL the target can fetch",
                     when="on a target on this machine, or with --ready-video-url")),
    "CREATE-REJECTS": (
        _s("rejected create", "without index_id", "without a video source",
           "with an unknown index",
           "with a malformed index"),
        _s("creates nothing", "looked for in the account by its unique filename"),
    ),
    "LIST-SHAPE": (_s("list", "the run's index", "the account's first page",
                      "video_id of a task whose create returned one"),
                   _s("every read", "every list answer of the run")),
    "LIST-PAGING": (
        _s("filtered lists", "more than one page walked", "page_info.page as asked",
           "totals of filtered lists", "a page past the end by index_id",
           "a page past the end by status"),
        _s("the account's list", "page_info.page as asked", "total_page of total_results",
           "no task on two pages", "no task skipped between pages", "a page far past the end"),
        _s("every list answer of the run", "page_info.page as asked",
           "total_page of total_results"),
    ),
    "LIST-FILTER-SORT": (
        _s("filter alone", "index_id", "status"),
        _s("filters combined", "index_id and status", "repeated status keys"),
        _s("status", "ready", "failed"),
        _s("unfinished status", each="each unfinished status a task of the run was listed at"),
        _s("at the end of the run", "status failed shows every failed task of the run"),
        _s("sort", "created_at asc", "created_at desc", "updated_at asc", "updated_at desc"),
        _s("page_limit above 50", "refused or clamped"),
    ),
    "RATE-LIMIT": (_s("429 answers waited out", each="their number",
                      when="on a target that rate limits"),),
    "DEL-ONLY-THAT": (
        _s("after every successful delete", "the run's other tasks read again"),
        _s("at the end of the run", "every live task read and listed",
           "every video the run did not delete"),
    ),
}


def subjects(clause_id: str) -> tuple[Subject, ...]:
    return SUBJECTS[clause_id]


def subject(clause_id: str, head: str, item: str) -> str:
    """``"head: item"``, the text the run records a subject of ``clause_id`` by; a subject the
    matrix does not name is a programming error, raised loudly."""
    for entry in SUBJECTS[clause_id]:
        if entry.head == head and (entry.items is None or item in entry.items):
            if ", " in item or ": " in head:  # the report joins items with ", "
                raise ValueError(f"subject {head!r}: {item!r} cannot be shown unambiguously")
            return f"{head}: {item}"
    raise KeyError(f"{clause_id} has no subject {head!r}: {item!r} in conformance.subjects")


def _validate() -> None:
    missing = [cid for cid in CLAUSES if cid not in SUBJECTS]
    unknown = [cid for cid in SUBJECTS if cid not in CLAUSES]
    if missing or unknown:
        raise RuntimeError(f"subject matrix out of step with the catalogue: missing {missing}, "
                           f"unknown {unknown}")


_validate()
