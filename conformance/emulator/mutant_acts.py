"""Mutants of the decisions about acting: who may call what, whose resources a caller reaches,
which states may be deleted, what a delete changes, how missing and malformed IDs are
answered, what a video delete and a create do. Each family is rule x subject x kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NamedTuple

from conformance.emulator.asks import KEY_KINDS, Admission, Answer, Caller
from conformance.emulator.media import Probe
from conformance.emulator.model import DomainError, NotFound, Refused
from conformance.emulator.patches import (
    after,
    also,
    answer,
    code_changed,
    error,
    history,
    is_subject,
    oldest_other_index,
    oldest_ready_same_index,
    oldest_same_index,
    refusal_status,
    status_changed,
    succeeded,
    the_task,
    when,
)
from conformance.emulator.rules import FINAL_SUBJECTS, Patch

OPERATIONS = ("create_task", "list_tasks", "retrieve_task", "delete_task", "delete_video",
              "create_index", "delete_index")
CHANGING = ("create_task", "delete_task", "delete_video", "create_index", "delete_index")
UNFINISHED = ("validating", "pending", "queued", "indexing", "validating-to-failed")
REFUSED = (*UNFINISHED, "ready-with-video")
DELETABLE = ("failed", "ready-without-video")
OWNED = {"unfinished": lambda s: s not in FINAL_SUBJECTS,
         "ready-with-video": lambda s: s == "ready-with-video",
         "ready-without-video": lambda s: s == "ready-without-video",
         "failed": lambda s: s == "failed"}
"""The owner's subjects of isolation: what another account must not reach."""


class Mutant(NamedTuple):
    """One generated mutant: the rule it patches, its kind of mutation and subject, the
    clauses it declares broken, and the patches themselves."""

    rule: str
    kind: str
    subject: str
    clauses: tuple[str, ...]
    description: str
    patches: tuple[Patch, ...]

    @property
    def name(self) -> str:
        """``rule.kind.subject``, as the catalogue and ``--mutant`` know it."""
        return f"{self.rule}.{_slug(self.kind)}.{_slug(self.subject)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_=+.-]+", "-", text.lower()).strip("-")


def made(rule: str, kind: str, subject: str, clauses: str, description: str,
         *patches: Patch) -> Mutant:
    return Mutant(rule, kind, subject, tuple(clauses.split()), description, patches)


def refusal_clause(subject: str) -> str:
    """The clause a delete of this subject is refused under."""
    return "DEL-VIDEO-FIRST" if subject.startswith("ready") else "DEL-TERMINAL-ONLY"


def success_clause(subject: str) -> str:
    return "DEL-VIDEO-FIRST" if subject.startswith("ready") else "DEL-FAILED"


def _refused() -> DomainError:
    return Refused("task_cannot_be_deleted", "The task cannot be deleted.")


KEY_WORDS = {"missing": "no key", "empty": "an empty key", "unknown": "an unknown key",
             "suffix": "a valid key with a suffix",
             "truncated": "a valid key without its last character(s)",
             "case": "a valid key in another case"}


def callers() -> Iterator[Mutant]:
    for op in OPERATIONS:
        for kind in KEY_KINDS:
            yield made("caller", "accepted", f"{kind} key, {op}", "AUTH-REQUIRED",
                       f"{op} with {KEY_WORDS[kind]} is answered as the account the key "
                       "resembles (or the first one).",
                       when("caller", lambda a, op=op, kind=kind: a.operation == op
                            and a.kind == kind, lambda d, a: Caller(a.account or a.first)))
        yield made("caller", "status-403", f"any invalid key, {op}", "AUTH-REQUIRED",
                   f"{op} without a valid key answers 403 instead of 401.",
                   after("caller", refusal_status(403), lambda a, op=op: a.operation == op
                         and a.kind != "valid"))
    for op in CHANGING:
        if op == "create_index":
            continue  # an index nobody can list: nothing anyone could see changed
        yield made("caller", "acted-despite-401", f"unknown key, {op}", "AUTH-REQUIRED",
                   f"{op} with an unknown key answers 401 but is carried out as the first "
                   "account.",
                   when("caller", lambda a, op=op: a.operation == op and a.kind == "unknown",
                        lambda d, a: Caller(a.first, d(a).refusal)))


def reaches() -> Iterator[Mutant]:
    for owned, test in OWNED.items():
        yield made("reach", "retrieve", owned, "TENANT-ISOLATION",
                   f"Another account retrieves the owner's {owned} tasks.",
                   when("reach", lambda a, t=test: a.operation == "retrieve_task"
                        and t(a.subject), answer(True)))
        for op, how in (("list_tasks_by_index", "a list by the owner's index_id"),
                        ("list_tasks", "its unfiltered list")):
            yield made("reach", op.replace("_", "-"), owned, "TENANT-ISOLATION",
                       f"Another account sees the owner's {owned} tasks in {how}.",
                       when("reach", lambda a, t=test, op=op: a.operation == op
                            and t(a.subject), answer(True)))
    for subject in DELETABLE:
        yield made("reach", "delete", subject, "TENANT-ISOLATION",
                   f"Another account deletes (204) the owner's {subject} tasks.",
                   when("reach", lambda a, s=subject: a.operation == "delete_task"
                        and a.subject == s, answer(True)))
    for owned in ("unfinished", "ready-with-video"):
        test = OWNED[owned]
        yield made("reach", "delete-past-the-rules", owned, "TENANT-ISOLATION",
                   f"Another account deletes (204) the owner's {owned} tasks, which even "
                   "the owner could not delete.",
                   when("reach", lambda a, t=test: a.operation == "delete_task"
                        and t(a.subject), answer(True)),
                   when("may_delete", lambda a, t=test: a.caller != a.task.account
                        and t(a.subject), answer(None)))
    yield made("reach", "delete-video", "ready-with-video", "TENANT-ISOLATION",
               "Another account deletes the video of the owner's ready task (204).",
               when("reach", lambda a: a.operation == "delete_video", answer(True)))
    yield made("reach", "create-into-index", "index", "TENANT-ISOLATION",
               "Another account creates a task (200) in the owner's index.",
               when("reach", lambda a: a.operation == "create_task", answer(True)))


def deletions() -> Iterator[Mutant]:
    for subject in REFUSED:
        clause = refusal_clause(subject)
        yield made("may_delete", "accepted", subject, clause,
                   f"A {subject} task is deleted (204) instead of refused.",
                   when("may_delete", is_subject(subject), answer(None)))
        yield made("may_delete", "status-409", subject, clause,
                   f"A delete of a {subject} task is refused with 409 instead of 400.",
                   after("may_delete", status_changed(409), is_subject(subject)))
        yield made("may_delete", "wrong-code", subject, "DEL-REFUSAL-CODE",
                   f"A refused delete of a {subject} task carries code parameter_invalid.",
                   after("may_delete", code_changed("parameter_invalid"), is_subject(subject)))
    yield made("may_delete", "status-500", "queued", "DEL-TERMINAL-ONLY NO-5XX",
               "A delete of a queued task answers 500 instead of the refusal.",
               after("may_delete", status_changed(500), is_subject("queued")))
    for subject in DELETABLE:
        clause = success_clause(subject)
        yield made("may_delete", "refused", subject, clause,
                   f"A delete of a {subject} task is refused (400 task_cannot_be_deleted).",
                   when("may_delete", is_subject(subject), lambda d, a: _refused()))
        yield made("may_delete", "refused-404", subject, clause,
                   f"A delete of a {subject} task answers 404 and keeps it.",
                   when("may_delete", is_subject(subject), lambda d, a: NotFound(
                       "resource_not_exist", "The task does not exist.")))


def _refused_as(subject: str, operation: str = "delete_task") -> Callable[[Any], bool]:
    return lambda a: (a.operation == operation and a.refusal is not None
                      and a.subject == subject)


NEIGHBOURS = {
    "removes-same-index": ("bury", oldest_same_index, "the oldest other task of its index"),
    "removes-other-index": ("bury", oldest_other_index, "the oldest task of another index"),
    "fails-ready-neighbour": ("fail", oldest_ready_same_index,
                              "the oldest other ready task of its index (turned failed)"),
    "renames-same-index": ("rename", oldest_same_index,
                           "the filename of the oldest other task of its index"),
    "deletes-neighbour-video": ("forget-video", oldest_ready_same_index,
                                "the video of the oldest other ready task of its index"),
}
TRIGGERS = {
    "failed-deleted": ("a successful delete of a failed task",
                       succeeded("delete_task", "failed")),
    "ready-deleted": ("a successful delete of a ready task",
                      succeeded("delete_task", "ready-without-video")),
    "refused": ("a refused task delete", lambda a: a.operation == "delete_task"
                and a.refusal is not None and a.refusal.kind == "refusal"),
    "video-deleted": ("a successful video delete", succeeded("delete_video")),
}


def effects() -> Iterator[Mutant]:
    for subject in REFUSED:
        yield made("delete_effects", "refused-but-removed", subject, refusal_clause(subject),
                   f"A delete of a {subject} task is refused (400) but removes the task.",
                   after("delete_effects", also(the_task), _refused_as(subject)))
        if subject != "validating-to-failed":  # failing is where it was going anyway
            clauses = refusal_clause(subject) + (
                " TASK-LIFECYCLE" if subject.startswith("ready") else "")
            yield made("delete_effects", "refused-but-failed", subject, clauses,
                       f"A delete of a {subject} task is refused (400) but turns it failed.",
                       after("delete_effects", also(the_task, "fail"), _refused_as(subject)))
    yield made("delete_effects", "refused-but-video-deleted", "ready-with-video",
               "DEL-VIDEO-FIRST", "A delete of a ready task is refused (400) but deletes "
               "its video.",
               after("delete_effects", also(the_task, "forget-video"),
                     _refused_as("ready-with-video")))
    for subject in DELETABLE:
        yield made("delete_effects", "kept", subject, "DEL-GONE",
                   f"A delete of a {subject} task answers 204 but keeps it.",
                   after("delete_effects", lambda a, e: (), succeeded("delete_task", subject)))
        yield made("delete_effects", "back-after-2s", subject, "DEL-GONE",
                   f"A deleted {subject} task comes back 2 s after its 204.",
                   after("delete_effects", also(the_task, "revive", after=2.0),
                         succeeded("delete_task", subject)))
    for trigger, (what, test) in TRIGGERS.items():
        for kind, (effect, pick, whom) in NEIGHBOURS.items():
            clauses = "DEL-ONLY-THAT" + (" TASK-LIFECYCLE" if effect == "fail" else "")
            yield made("delete_effects", kind, trigger, clauses,
                       f"Every {what} also changes {whom}.",
                       after("delete_effects", also(pick, effect, "renamed.mp4"), test))


def missing_ids() -> Iterator[Mutant]:
    answers: list[tuple[str, str, str, str, Any]] = [
        ("delete_task", "never", "204", "DEL-UNKNOWN", answer(Answer(204))),
        ("delete_task", "never", "200", "DEL-UNKNOWN", answer(lambda: Answer(200, {}))),
        ("delete_task", "never", "403", "DEL-UNKNOWN", error("forbidden", "Forbidden.", 403)),
        ("delete_task", "never", "500", "DEL-UNKNOWN NO-5XX",
         error("internal_error", "Lookup failed.", 500)),
        ("delete_task", "deleted", "204", "DEL-GONE", answer(Answer(204))),
        ("delete_task", "deleted", "409", "DEL-GONE",
         error("task_already_deleted", "The task was deleted.", 409)),
        ("delete_task", "deleted", "500", "DEL-GONE NO-5XX",
         error("internal_error", "Lookup failed.", 500)),
        ("retrieve_task", "deleted", "410", "DEL-GONE",
         error("resource_deleted", "The task was deleted.", 410)),
        ("retrieve_task", "deleted", "500", "DEL-GONE NO-5XX",
         error("internal_error", "Lookup failed.", 500)),
        ("retrieve_task", "never", "500", "NO-5XX",
         error("internal_error", "Lookup failed.", 500)),
        ("delete_task", "foreign", "204", "TENANT-ISOLATION", answer(Answer(204))),
        ("retrieve_task", "foreign", "500", "TENANT-ISOLATION NO-5XX",
         error("internal_error", "Lookup failed.", 500)),
    ]
    for op, past, kind, clauses, then in answers:
        whose = {"never": "an ID no account ever held", "deleted": "a task it deleted",
                 "foreign": "another account's live task"}[past]
        yield made("missing", kind, f"{op} of {past}", clauses,
                   f"{op} of {whose} answers {kind.split('-')[0]}.",
                   when("missing", history(op, past), then))


def _act_on_near(decision: Any, ask: Any) -> Any:
    """A malformed ID read as the live task it is a near miss of (refused when none)."""
    near = ask.near()
    return decision(ask) if near is None else near


def malformed_ids() -> Iterator[Mutant]:
    from conformance.emulator.asks import ID_KINDS

    for kind in ID_KINDS:
        yield made("path_id", "accepted", kind, "DEL-MALFORMED",
                   f"A delete of a malformed ({kind}) task ID answers 204 and deletes nothing.",
                   when("path_id", lambda a, k=kind: a.operation == "delete_task"
                        and a.kind == k, answer(Answer(204))))
    for kind in ("extra-char", "missing-char", "spaced"):
        yield made("path_id", "read-as-the-task", kind, "DEL-MALFORMED",
                   f"A delete of a malformed ({kind}) form of a live task's ID acts on that "
                   "task.",
                   when("path_id", lambda a, k=kind: a.operation == "delete_task"
                        and a.kind == k, _act_on_near))
    for kind in ("non-hex", "long"):
        yield made("path_id", "500", kind, "DEL-MALFORMED NO-5XX",
                   f"A delete of a malformed ({kind}) task ID answers 500.",
                   when("path_id", lambda a, k=kind: a.operation == "delete_task"
                        and a.kind == k, error("internal_error", "Bad ID.", 500)))
    yield made("path_id", "500", "retrieve, long", "NO-5XX",
               "A retrieve of a malformed (long) task ID answers 500.",
               when("path_id", lambda a: a.operation == "retrieve_task" and a.kind == "long",
                    error("internal_error", "Bad ID.", 500)))


def videos() -> Iterator[Mutant]:
    exists: Callable[..., bool] = lambda a: a.task is not None  # noqa: E731
    yield made("may_delete_video", "refused", "ready-with-video", "DEL-VIDEO-FIRST",
               "A video delete is refused (400 parameter_invalid) and keeps the video.",
               when("may_delete_video", exists, error("parameter_invalid", "No.", 400)))
    yield made("may_delete_video", "404", "ready-with-video", "DEL-VIDEO-FIRST",
               "A video delete answers 404 and keeps the video.",
               when("may_delete_video", exists, error("resource_not_exist", "No video.", 404,
                                                      "unknown-id")))
    yield made("delete_effects", "video-kept", "video-deleted", "DEL-VIDEO-FIRST",
               "A video delete answers 204 but keeps the video (its task stays undeletable).",
               after("delete_effects", lambda a, e: (), succeeded("delete_video")))
    yield made("delete_effects", "removes-its-task", "video-deleted",
               "DEL-ONLY-THAT DEL-VIDEO-FIRST",
               "A video delete also removes the task whose video it was.",
               after("delete_effects", also(the_task), succeeded("delete_video")))


REJECTED = ("missing-index", "malformed-index", "unknown-index", "no-source")


def _admitted(decision: Any, ask: Any) -> Admission:
    index = ask.index or ask.newest
    return Admission(index, ask.probe or Probe("video_file_broken"))


def _made_and_refused(decision: Any, ask: Any) -> Admission:
    return replace(_admitted(decision, ask), refusal=decision(ask).refusal)


def creates() -> Iterator[Mutant]:
    for subject in REJECTED:
        test: Callable[..., bool] = lambda a, s=subject: a.subject == s  # noqa: E731
        yield made("may_create", "accepted", subject, "CREATE-REJECTS",
                   f"A create with {subject} is accepted (200) and makes a task in the "
                   "caller's newest index.", when("may_create", test, _admitted))
        yield made("may_create", "pretended", subject, "CREATE-REJECTS",
                   f"A create with {subject} answers 200 with IDs but makes nothing.",
                   when("may_create", test, answer(Admission(pretend=True))))
        yield made("may_create", "made-and-refused", subject, "CREATE-REJECTS",
                   f"A create with {subject} is refused (400) but makes a task anyway.",
                   when("may_create", test, _made_and_refused))
    for subject in ("unknown-index", "no-source"):
        yield made("may_create", "500", subject, "CREATE-REJECTS NO-5XX",
                   f"A create with {subject} answers 500.",
                   when("may_create", lambda a, s=subject: a.subject == s,
                        lambda d, a: Admission(refusal=DomainError(
                            "internal_error", "Create failed.", status=500))))
    for source in ("file", "url"):
        yield made("may_create", "refused", f"valid {source}", "CREATE-OK",
                   f"A valid create from a {source} is refused (400 parameter_invalid).",
                   when("may_create", lambda a, s=source: a.subject == "valid"
                        and a.source == s, lambda d, a: Admission(refusal=DomainError(
                            "parameter_invalid", "Refused.", status=400))))
    bodies: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "without-_id": lambda b: {"video_id": b["video_id"]},
        "_id-a-number": lambda b: {**b, "_id": 12345},
        "video_id-a-number": lambda b: {**b, "video_id": 67890},
    }
    creating: Callable[..., bool] = lambda a: a.operation == "create_task"  # noqa: E731
    for kind, change in bodies.items():
        yield made("created_answer", kind, "create_task", "CREATE-OK",
                   f"A successful create answers 200 with a body {kind}.",
                   after("created_answer", lambda a, r, c=change: replace(r, body=c(r.body)),
                         creating))
    yield made("created_answer", "202", "create_task", "CREATE-OK",
               "A successful create answers 202 instead of 200.",
               after("created_answer", status_changed(202), creating))
    yield made("shown", "never-retrievable", "new task", "CREATE-OK",
               "A created task answers 404 to retrieve, for good (lists show it).",
               when("shown", lambda a: a.view == "retrieve" and a.deleted_at is None,
                    answer(False)))


