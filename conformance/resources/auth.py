"""AUTH-REQUIRED's trials: every operation the suite uses, sent with each kind of key that is
not valid (none, empty, unknown, and look-alikes of the valid key: with a suffix, without its
last character, in another case), and what changed afterwards.

Each key kind is tried once, all its operations in a row. Right after an operation that could
do harm, the harm it could do is looked for, so that a change is blamed on the operation that
made it: a delete of a deletable task (is the task still there?), a video delete (is the
owner's delete of its ready task still refused for the video's sake?), a create (is there a
task under its unique filename, anywhere in the account?), an index create or delete. The
state of every task of the pool and of the run's indexes is read once before and once after
each key kind (the after of one is the before of the next); what changed that no operation
explains is the key kind's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources import media
from conformance.resources.cleanup import answer_json, is_gone
from conformance.resources.creates import create_that_must_make_nothing
from conformance.resources.deletions import first_refusal
from conformance.resources.errors import ProvisioningError, SubjectDestroyed
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import Survey
from conformance.settings import Secret
from conformance.subjects import AUTH_KEYS
from conformance.wire.client import ApiClient

__all__ = ["KEY_KINDS", "AuthTrials", "KeyTrial"]

KEY_KINDS: dict[str, str] = dict(zip(("missing", "empty", "unknown", "suffixed", "truncated",
                                      "recased"), AUTH_KEYS, strict=True))
"""Short names (test ids, transcript labels) of the subject matrix's key kinds."""


def _lookalike(kind: str, key: str) -> Secret | None:
    match kind:
        case "missing":
            return None
        case "empty":
            return Secret("")
        case "unknown":
            return Secret("conformance-invalid-" + secrets.token_hex(16))
        case "suffixed":
            return Secret(key + "x")
        case "truncated":
            return Secret(key[:-1])
        case _:
            return Secret(key.swapcase())


@dataclass
class KeyTrial:
    """One key kind's requests, and what changed."""

    kind: str
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)
    """Operation -> the change it made, in words."""
    unlooked: dict[str, str] = field(default_factory=dict)
    """Operation -> why what it could change was not looked at."""
    unexplained: list[str] = field(default_factory=list)
    """Changes after the key kind's requests that no one operation explains."""
    skipped: str | None = None
    """Why the key kind could not be tried at all."""


@dataclass
class _State:
    tasks: dict[str, dict[str, Any] | str]
    """Role -> the task as read, or why it could not be (a task that vanished with no delete
    naming it is no key's doing: DEL-ONLY-THAT's watch has it, and it is left out)."""
    listed: dict[str, set[str]]
    """Index -> the task IDs its list shows."""


class AuthTrials:
    """Run each key kind's trial once, on first use (a ``-k`` selection runs only its own)."""

    def __init__(self, api: ApiClient, api_key: Secret, pool: Pool, survey: Survey,
                 provisioner: Provisioner, ledger: Ledger, listing: Listing,
                 stranger: ApiClient | None, never_issued: str) -> None:
        self._api, self._raw, self._key = api, api.unchecked(), api_key
        self._pool, self._survey = pool, survey
        self._provisioner, self._ledger, self._listing = provisioner, ledger, listing
        self._stranger = stranger
        self._never_issued = never_issued
        self._trials: dict[str, KeyTrial] = {}
        self._state: _State | None = None
        self._video_baseline: str | None = None
        """None until looked at; "" when the owner's delete of the ready task is refused
        while its video exists; else why a video delete's effect cannot be seen."""

    def trial(self, kind: str) -> KeyTrial:
        if kind not in self._trials:
            self._trials[kind] = self._run(kind)
        return self._trials[kind]

    # -- one key kind ------------------------------------------------------------------------

    def _run(self, kind: str) -> KeyTrial:
        found = KeyTrial(kind)
        key = self._key.reveal()
        secret = _lookalike(kind, key)
        if secret is not None and kind == "recased" and secret.reveal() == key:
            found.skipped = "the valid key has no letters, so it has no other case"
            return found
        # Labelled as the transcript, reproductions and replay know them: a look-alike is
        # replayed as an invalid key, never as the valid key it resembles.
        caller = self._api.with_key(secret, label="none" if secret is None else "invalid")
        caller = caller.unchecked()
        before = self._state or self._read_state()
        for operation, send in self._operations(caller, found).items():
            send()
            if operation not in found.answers:
                found.unlooked.setdefault(operation, "it was not sent")
        self._state = after = self._read_state()
        self._compare(found, before, after)
        return found

    def _operations(self, caller: ApiClient,
                    found: KeyTrial) -> dict[str, Callable[[], None]]:
        pool = self._pool
        return {
            "create task": lambda: self._create_task(caller, found),
            "list tasks": lambda: found.answers.__setitem__(
                "list tasks", caller.list_tasks(index_id=pool.index_id)),
            "retrieve task": lambda: found.answers.__setitem__(
                "retrieve task", caller.retrieve_task(self._some_task())),
            "delete task": lambda: self._delete_task(caller, found),
            "delete video": lambda: self._delete_video(caller, found),
            "create index": lambda: self._create_index(caller, found),
            "delete index": lambda: self._delete_index(caller, found),
        }

    def _some_task(self) -> str:
        pool = self._pool
        role = next((r for r in ("shared_ready", *pool.tasks) if pool.usable(r)), None)
        return pool.tasks[role].task_id if role is not None else self._never_issued

    def _create_task(self, caller: ApiClient, found: KeyTrial) -> None:
        index = self._pool.index_id
        lookups = [("the owner's list", self._raw)]
        if self._stranger is not None:
            lookups.append(("the other account's list", self._stranger))
        tried = create_that_must_make_nothing(
            lambda name: caller.create_task(index, video_file=(name or "auth.mp4",
                                                               media.undecodable_bytes())),
            self._provisioner.upload_name("failed"), lookups, self._survey.filename,
            self._ledger, index)
        found.answers["create task"] = tried.response
        made = tried.made()
        if made is not None:
            found.changed["create task"] = f"it made a task: {made}"
        elif tried.unlooked is not None:
            found.unlooked["create task"] = f"a task it made was not looked for in the " \
                f"account: {tried.unlooked}"

    def _delete_task(self, caller: ApiClient, found: KeyTrial) -> None:
        pool = self._pool
        # A deletable task: a target that ignored the key would really delete it.
        role = next((r for r in ("doomed_failed", "kept_failed") if pool.usable(r)), None)
        if role is None:
            found.answers["delete task"] = caller.delete_task(self._never_issued)
            found.unlooked["delete task"] = "no deletable task of the run was left to name"
            return
        found.answers["delete task"] = caller.delete_task(pool.tasks[role].task_id)
        read = self._read(role)
        if isinstance(read, httpx.Response) and is_gone(read):
            pool.destroyed(role, "AUTH-REQUIRED")
            self._provisioner.note_deleted("task", pool.tasks[role].task_id)
            found.changed["delete task"] = f"the {role} task it named is gone " \
                f"({read.status_code} to its owner)"

    def _delete_video(self, caller: ApiClient, found: KeyTrial) -> None:
        pool = self._pool
        why = self._baseline()
        if why:
            found.answers["delete video"] = caller.delete_video(pool.index_id,
                                                                self._never_issued)
            found.unlooked["delete video"] = f"no video to name whose loss would show: {why}"
            return
        task = pool.tasks["doomed_ready"]
        assert task.video_id is not None
        found.answers["delete video"] = caller.delete_video(task.index_id, task.video_id)
        # Refused again for the video's sake: the video is still there.
        check = self._raw.delete_task(task.task_id)
        if check.is_success:
            pool.destroyed("doomed_ready", "AUTH-REQUIRED")
            self._provisioner.note_deleted("task", task.task_id)
            found.changed["delete video"] = (
                f"the video {task.video_id} is gone: its owner's delete of ready task "
                f"{task.task_id}, refused before, then answered {check.status_code}")

    def _baseline(self) -> str:
        """Why a video delete's effect cannot be seen ("" when it can): the owner's delete of
        the ready task must be refused while its video exists, before any try, and refused
        again right after (the refusal itself left the video: ``deletions.first_refusal``,
        which blames a refusal that changed its task on DEL-VIDEO-FIRST)."""
        if self._video_baseline is None:
            pool = self._pool
            if not pool.usable("doomed_ready") or pool.tasks["doomed_ready"].video_id is None:
                self._video_baseline = f"the pool's doomed_ready task " \
                    f"{pool.why_not('doomed_ready')}"
                return self._video_baseline
            task = pool.tasks["doomed_ready"]
            try:
                refused, _, again = first_refusal(self._raw, pool, self._provisioner,
                                                  "doomed_ready")
            except ProvisioningError as exc:
                self._video_baseline = str(exc)
                return self._video_baseline
            statuses = [r.status_code for r in (refused, again) if r is not None]
            self._video_baseline = "" if statuses == [400, 400] and \
                pool.usable("doomed_ready") else (
                f"its owner's delete of ready task {task.task_id} while the video exists "
                f"answered {' then '.join(map(str, statuses))}, not two refusals that left it "
                "as it was (see DEL-VIDEO-FIRST)")
        return self._video_baseline

    def _create_index(self, caller: ApiClient, found: KeyTrial) -> None:
        response = caller.create_index(f"conformance-{self._ledger.run_id}_auth")
        found.answers["create index"] = response
        body = answer_json(response)
        if response.is_success and isinstance(body.get("_id"), str):
            self._ledger.add("index", body["_id"], name="auth")
            found.changed["create index"] = f"it made index {body['_id']}"

    def _delete_index(self, caller: ApiClient, found: KeyTrial) -> None:
        pool = self._pool
        # The run's own second index, whose loss would show; never an index the user gave.
        index = pool.second_index if pool.usable("kept_failed") else None
        found.answers["delete index"] = caller.delete_index(index or self._never_issued)
        if index is None:
            found.unlooked["delete index"] = "the run's second index holds no task to miss"
            return
        read = self._read("kept_failed")
        if isinstance(read, str) or is_gone(read):
            pool.destroyed("kept_failed", "AUTH-REQUIRED")
            found.changed["delete index"] = f"the run's index {index} lost its task " \
                f"{pool.tasks['kept_failed'].task_id}"

    # -- state ------------------------------------------------------------------------------

    def _read(self, role: str) -> httpx.Response | str:
        try:
            return self._pool.read(role, self._raw)
        except SubjectDestroyed as exc:
            return str(exc)

    def _read_state(self) -> _State:
        pool = self._pool
        tasks: dict[str, dict[str, Any] | str] = {}
        for role in pool.tasks:
            if pool.usable(role):
                read = self._read(role)
                if not isinstance(read, str):
                    tasks[role] = answer_json(read) if read.status_code == 200 else \
                        f"it reads {read.status_code}"
        indexes = [i for i in (pool.index_id, pool.second_index) if i is not None]
        return _State(tasks, {i: self._listing.walk(self._raw, index_id=i).ids()
                              for i in indexes})

    def _compare(self, found: KeyTrial, before: _State, after: _State) -> None:
        explained = set(found.changed)
        for role, was in before.tasks.items():
            if role not in after.tasks and not self._pool.usable(role):
                continue  # destroyed, and the clause that destroyed it is named where it was
            now = after.tasks.get(role, "it could not be read")
            if isinstance(was, str) or now == was:
                continue
            change = _task_change(was, now)
            if change is not None and not explained & {"delete task", "delete video",
                                                       "delete index"}:
                found.unexplained.append(f"the pool's {role} task {change}")
        # A task lost from a list is judged by reading it (above); a task gained is new.
        for index, ids in before.listed.items():
            new = after.listed.get(index, set())
            if new - ids and "create task" not in explained:
                found.unexplained.append(f"index {index}'s list gained {sorted(new - ids)}")


_ORDER = ("uploading", "validating", "pending", "queued", "indexing")


def _task_change(was: dict[str, Any], now: dict[str, Any] | str) -> str | None:
    """How a task read changed in a way no request may cause (None: it did not)."""
    if isinstance(now, str):
        return f"could not be read any more: {now}"
    for name in ("_id", "index_id", "video_id", "created_at"):
        if was.get(name) != now.get(name):
            return f"changed its {name} from {was.get(name)!r} to {now.get(name)!r}"
    before, after = was.get("status"), now.get("status")
    if before != after and (before in ("ready", "failed") or (
            before in _ORDER and after in _ORDER and _ORDER.index(after) < _ORDER.index(before))):
        return f"went from {before!r} to {after!r}"
    return None
