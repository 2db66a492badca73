"""The guard between generated requests and the wire: safety rewrite, creation within the run's
budget, pacing, 429 waits and the new-task grace, and every exchange into the transcript and
ledger (how sends travel and are recorded: ``sending.py``)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import httpx
import hypothesis
import requests
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from conformance.checks.answers import json_body
from conformance.properties.generation import (
    count_as_generated,
    memoize_checks_config,
    operation_id,
)
from conformance.properties.judging import DELETES, Grant, as_httpx, contract_checks
from conformance.properties.sending import (
    LostCreates,
    Recorder,
    ResendingAdapter,
    SendLost,
    Settler,
    dropped_before,
)
from conformance.resources.errors import BudgetExceeded
from conformance.resources.interrupts import INTERRUPTS
from conformance.resources.ledger import Ledger
from conformance.resources.media import sample_video, undecodable_bytes
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import Watch
from conformance.settings import Settings
from conformance.wire.client import reads_as_gone
from conformance.wire.politeness import Pacer
from conformance.wire.transcript import Exchange, Redactor, Transcript

__all__ = ["IMPOSSIBLE_PREFIX", "LIVE_TASK_ALLOWANCE",
           "LOOPBACK_TASK_ALLOWANCE", "Guard"]

# Safety: the live API's IDs are MongoDB ObjectIds whose first four bytes are the creation
# time in seconds. An ID that starts with ffffffff would be made in 2106, so no resource has
# it. Every 24-hex run in a path ID (or a create's index_id) that does not name a resource
# this run's property tests created gets that prefix, whatever else the value holds.
IMPOSSIBLE_PREFIX = "ffffffff"
_HEX_RUN = re.compile(r"[0-9a-fA-F]{24,}")
# Live: the scenario tests' four tasks and the temporary index are all a run may make;
# generated creates go to an index that cannot exist (judged as CREATE-REJECTS there).
LIVE_TASK_ALLOWANCE, LIVE_INDEX_ALLOWANCE = 0, 0
LOOPBACK_TASK_ALLOWANCE, LOOPBACK_INDEX_ALLOWANCE = 40, 200
# One budget per run: a property-test create is granted only when the provisioner reserves
# it from the run's task and upload budget, within the caps above (the pool's tasks, made
# first, are all the other tests need).
MARKER_NUMBERS = 1000
"""Property-test uploads are numbered from here: the sweep's marker, apart from the
provisioner's own numbers."""


class Guard:
    """Everything between a generated case and the wire: the safety rewrite, the creation
    budget, pacing and 429 waits, the transcript and ledger."""

    def __init__(self, settings: Settings, transcript: Transcript, ledger: Ledger,
                 provisioner: Provisioner, *, watch: Watch | None = None) -> None:
        assert settings.base_url is not None and settings.api_key is not None
        self.settings, self.transcript, self.ledger = settings, transcript, ledger
        self.provisioner = provisioner
        self.watch = watch
        self.base_url = settings.base_url
        self._base_path = urlsplit(settings.base_url).path.rstrip("/")
        self._key = settings.api_key.reveal()
        # The transcript's own redaction, so recorded calls hide keys exactly as the clients'.
        self._redactor = Redactor()
        self._redactor.add(self._key)
        if settings.second_api_key is not None:
            self._redactor.add(settings.second_api_key.reveal())
        loopback = settings.relaxed
        self.task_allowance = LOOPBACK_TASK_ALLOWANCE if loopback else LIVE_TASK_ALLOWANCE
        self.over_budget = 0
        self.index_allowance = LOOPBACK_INDEX_ALLOWANCE if loopback else LIVE_INDEX_ALLOWANCE
        self.tasks_created = self.indexes_created = 0
        self._grants = self._index_grants = 0
        self.tasks: set[str] = set()
        self.videos: dict[str, str] = {}  # video_id -> index_id
        self._video_tasks: dict[str, str] = {}  # video_id -> task_id
        self.indexes: set[str] = set()
        self.calls = self.unjudged = 0
        self._decided: dict[str, Grant] = {}
        self._upload_names: dict[str, str] = {}  # case id -> marked filename
        self._auth_confirmed: set[str] = set()  # operation labels
        self._exchanges: dict[str, Exchange] = {}
        self._lost: set[str] = set()  # cases whose answer cannot stand for their request
        self.lost_creates = LostCreates(provisioner.find_by_filename, self._keep_task)
        self._lock = threading.Lock()
        # The same pace limit as the suite's clients: generated requests count against it too.
        self._pacer = Pacer(settings.effective_rate, time.sleep)
        self.log_path = settings.report_dir / "properties-requests.jsonl"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        self.recorder = Recorder(transcript, self._key, self._redactor, self._log)
        self.settler = Settler(self.recorder, self._pacer, self._redactor.scrub,
                               self._not_shown_yet)
        self.session = requests.Session()
        adapter = ResendingAdapter(self.recorder.failure)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._schemas: list[Any] = []

    @property
    def sent(self) -> int:
        """Requests answered: the cases' and the checks' own (429s and resends aside)."""
        return self.calls + self.settler.probes

    @property
    def rate_limited(self) -> int:
        return self.settler.rate_limited

    def close(self) -> None:
        self._log.close()
        self.session.close()
        for schema in self._schemas:
            schema.hooks.unregister(self._after_call)

    def attach(self, schema: Any) -> Any:
        """Record every call made for ``schema`` (check replays too) into transcript and ledger."""
        if all(schema is not known for known in self._schemas):
            schema.hooks.register_hook_with_name(self._after_call, "after_call")
            memoize_checks_config(schema)
            self._schemas.append(schema)
        return schema

    # -- safety ------------------------------------------------------------------------------

    def _confine(self, value: Any, own: set[str]) -> Any:
        if not isinstance(value, str) or value in own:
            return value
        return _HEX_RUN.sub(lambda m: IMPOSSIBLE_PREFIX + m.group()[8:], value)

    def secure(self, case: Any) -> bool:
        """Rewrite ``case`` in place so it can only touch this run's property-test resources;
        False when it must not be sent at all (an index create beyond the allowance)."""
        linked = case._override  # values links put in, before the rewrite
        try:
            return self._secure(case)
        finally:
            count_as_generated(case, linked)

    def _secure(self, case: Any) -> bool:
        op = operation_id(case.operation.label)
        params = case.path_parameters or {}
        run_index = {self.provisioner.index_id()} if op == "deleteVideo" and self.videos \
            else set()
        own = {"task_id": self.tasks, "video-id": set(self.videos),
               "index-id": self.indexes | run_index}
        for name, value in list(params.items()):
            params[name] = self._confine(value, own.get(name, set()))
        # Only a positive case that carries the key may create; a keyless one is AUTH-REQUIRED's.
        positive = (case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
                    and (case.headers or {}).get("x-api-key") == self._key)
        if op == "createTask":
            self._place_task(case, positive)
        elif op == "createIndex":
            # Any index create may succeed (a lax target accepts bad data): all count.
            with self._lock:
                if self._index_grants >= self.index_allowance:
                    return False
                self._index_grants += 1
                number = self._index_grants
            if positive and isinstance(case.body, dict):
                self._name_index(case.body, number)
        return True

    def _name_index(self, body: dict[str, Any], number: int) -> None:
        body["index_name"] = f"conformance-{self.settings.run_id}_p{number}"
        for model in body.get("models") or []:
            if isinstance(model, dict):
                model["model_name"] = "marengo3.0"  # the one model provisioning uses

    def _place_task(self, case: Any, positive: bool) -> None:
        body = case.body
        if not isinstance(body, dict):
            return
        upload = not ("video_url" in body and "video_file" not in body)
        with self._lock:
            size = len(sample_video()) if upload else \
                0 if self.settings.failing_video_url else len(undecodable_bytes())
            grant = positive and self._grants < self.task_allowance and self._reserve(size)
            if grant:
                self._grants += 1
            number = MARKER_NUMBERS + self._grants
        if not grant:
            # Into an index that cannot exist: whatever the value, no hex run names one.
            body["index_id"] = self._confine(body.get("index_id"), set())
            if positive:
                self._decided[case.id] = Grant(False)
            return
        body["index_id"] = self.provisioner.index_id()
        # An upload becomes the real sample (a task headed for ready, whose video must be
        # deleted first); a URL becomes the configured failing URL, or else undecodable bytes
        # (a task headed for failed), as the provisioner makes them. Uploads carry the run's
        # marker in their filename, like the provisioner's, so `cleanup --sweep` finds them.
        if not upload and self.settings.failing_video_url:
            body["video_url"] = self.settings.failing_video_url
        else:
            body.pop("video_url", None)
            body["video_file"] = sample_video() if upload else undecodable_bytes()
            kind = "ready" if upload else "failed"
            self._upload_names[case.id] = f"conformance-{self.settings.run_id}-{kind}-{number}.mp4"
        metadata = body.get("user_metadata")
        marked = {} if metadata is None else json.loads(metadata) \
            if _is_json_object(metadata) else {"generated": str(metadata)[:200]}
        body["user_metadata"] = json.dumps({**marked, "conformance_run": self.settings.run_id})
        self._decided[case.id] = Grant(True, undecodable=not upload and
                                       not self.settings.failing_video_url)

    def _reserve(self, upload_bytes: int) -> bool:
        """Spend one task (and its upload's bytes) from the run's budget; False when spent."""
        try:
            self.provisioner.reserve_task(upload_bytes)
        except BudgetExceeded:
            self.over_budget += 1
            return False
        return True

    # -- sending and recording ---------------------------------------------------------------

    def call_kwargs(self) -> dict[str, Any]:
        """Transport arguments of every request: the run's session, and the hook that waits
        out 429s (and a new task's grace), which also reaches the requests checks send on
        their own (``ignored_auth``'s probes)."""
        return {"base_url": self.base_url, "session": self.session, "timeout": 30,
                "hooks": {"response": [self.settler]}}

    def send(self, case: Any) -> Any:
        """Send with pacing; 429s are waited out (RATE-LIMIT), never judged. An example whose
        answer cannot stand for its request (a create or delete whose connection dropped) is
        not judged: Hypothesis is told to pass it over."""
        self._pacer.wait()
        creates = operation_id(case.operation.label) in ("createTask", "createIndex")
        try:
            # A Ctrl-C waits until a create's answer is in the ledger (_after_call).
            with INTERRUPTS.shielded() if creates else nullcontext(), \
                    self.settler.calling():  # its answer is recorded with the case
                response = case.call(**self.call_kwargs(), **self._named_upload(case))
        except SendLost as exc:
            self._after_lost_create(case, exc)
            self.unjudged += 1
            hypothesis.reject()
        if case.id in self._lost:
            self.unjudged += 1
            hypothesis.reject()
        return response

    def _named_upload(self, case: Any) -> dict[str, Any]:
        """A granted upload's form with the run's marker as the file's name (schemathesis
        names a file part after its field), passed as the request's own body."""
        name = self._upload_names.get(case.id)
        if name is None:
            return {}
        form = case.operation.schema.transport.serialize_case(case)
        files = [(field, (name, *part[1:]) if field == "video_file" else part)
                 for field, part in form.get("files") or []]
        return {"files": files, "data": form.get("data")}

    def _not_shown_yet(self, response: requests.Response) -> bool:
        if self.watch is None or response.status_code not in (400, 404):
            return False
        task_id = self._task_in(response.request)
        return task_id is not None and self.watch.not_shown_yet(
            task_id, httpx.Response(response.status_code, content=response.content))

    def _task_in(self, request: requests.PreparedRequest) -> str | None:
        """The ID of a task this guard made, when ``request`` reads or deletes it."""
        path = urlsplit(str(request.url)).path.removeprefix(self._base_path)
        parts = path.split("/")
        if len(parts) == 3 and parts[1] == "tasks" and parts[2] in self.tasks:
            return parts[2]
        return None

    def _still_ours(self, kind: str, target: str) -> bool:
        """``target`` is a resource this guard made that no delete of the run removed yet."""
        made = {"task": self.tasks, "video": self.videos, "index": self.indexes}[kind]
        if target not in made:
            return False
        watch = self.watch
        if watch is None:
            return True
        if kind == "task":
            return not watch.expected_gone(target)
        # A video goes with its index, and may go with its task.
        parents = {target, self.videos.get(target), self._video_tasks.get(target)}
        return not any(d.succeeded and d.target in parents for d in watch.deletes)

    def owns(self, case: Any) -> bool:
        """The case's path names a task this guard made and the run has not deleted."""
        task_id = (case.path_parameters or {}).get("task_id")
        return task_id in self.tasks and not (self.watch is not None
                                              and self.watch.expected_gone(str(task_id)))

    def _after_lost_create(self, case: Any, lost: SendLost) -> None:
        """A create whose connection dropped after it was sent may have made a task: it is
        looked for by its unique filename once the property tests are done (``LostCreates``),
        when a new task has had its grace to show, so no test waits for it here."""
        name = self._upload_names.get(case.id)
        if operation_id(case.operation.label) == "createTask" and name is not None:
            self.lost_creates.add(str((case.body or {}).get("index_id")), name, str(lost))

    def _keep_task(self, task_id: str, index_id: str, video_id: str | None) -> None:
        self.tasks.add(task_id)
        self.tasks_created += 1
        self.ledger.add("task", task_id, index_id=index_id)
        if video_id is not None:
            self.videos[video_id] = index_id
            self._video_tasks[video_id] = task_id
            self.ledger.add("video", video_id, index_id=index_id, task_id=task_id)
        if self.watch is not None:
            self.watch.track(task_id, index_id, video_id, core=False)

    def _after_call(self, context: Any, case: Any, response: Any) -> None:
        self.calls += 1
        exchange = self.recorder.case_answer(case, response, self._upload_names.get(case.id))
        self._exchanges[case.id] = exchange
        op = operation_id(case.operation.label)
        status = response.status_code
        body = json_body(response) if 200 <= status < 300 else None
        if op == "createTask" and isinstance(body, dict) and isinstance(body.get("_id"), str):
            video_id = body.get("video_id") if isinstance(body.get("video_id"), str) else None
            self._keep_task(body["_id"], str((case.body or {}).get("index_id")), video_id)
        elif op == "createIndex" and isinstance(body, dict) and isinstance(body.get("_id"), str):
            self.indexes.add(body["_id"])
            self.indexes_created += 1
            self.ledger.add("index", body["_id"], name=str((case.body or {}).get("index_name")))
        elif op == "retrieveTask" and self.watch is not None:
            task_id = self._task_in(response.request)
            if task_id is not None:  # a sighting of a task this guard made
                self.watch.saw(task_id, as_httpx(response, exchange))
        elif op in DELETES:
            kind, name = DELETES[op]
            target = str((case.path_parameters or {}).get(name))
            # Sent again after its connection dropped, and gone: if it named something of the
            # run's, the first send may have deleted it and its own answer is lost (the same
            # reading as wire.client.answer_lost); an ID that cannot exist was never there.
            lost = self._still_ours(kind, target) and dropped_before(response.request) \
                and reads_as_gone(status, response.content)
            if lost:
                self._lost.add(case.id)
            if 200 <= status < 300 or lost:
                self.provisioner.note_deleted(kind, target)
            if self.watch is not None:
                path = urlsplit(str(response.request.url)).path.removeprefix(self._base_path)
                self.watch.deleted(path, status, f"DELETE {path} -> {status}", exchange.curl(),
                                   lost=lost)

    def excluded_for(self, case: Any) -> list[Callable[..., Any]]:
        """Built-in checks to skip for this case: ``ignored_auth`` once it held for the
        operation (as ``st run`` does: enforcement belongs to the operation, and each
        confirmation costs two requests)."""
        return [ignored_auth] if case.operation.label in self._auth_confirmed else []

    def judged(self, case: Any, response: Any) -> None:
        """Note a case whose checks all held: a keyed 2xx confirmed the operation's auth."""
        if 200 <= response.status_code < 300 and (case.headers or {}).get("x-api-key") == \
                self._key:
            self._auth_confirmed.add(case.operation.label)

    def checks_for(self, case: Any) -> list[Callable[..., Any]]:
        """Our checks for this case, bound to what the guard recorded and decided of it."""
        return contract_checks(operation_id(case.operation.label), self._exchanges.get(case.id),
                               self._decided.get(case.id), self.tasks)

    def made(self, case: Any) -> bool:
        """The case's path names a task this guard made (deleted since or not)."""
        return (case.path_parameters or {}).get("task_id") in self.tasks

    def summary(self) -> str:
        unjudged = f", {self.unjudged} not judged (a create or delete whose connection " \
            "dropped)" if self.unjudged else ""
        return (f"property tests: {self.sent} requests ({self.rate_limited} 429(s) waited "
                f"out{unjudged}), {self.tasks_created} task(s) and "
                f"{self.indexes_created} index(es) created (allowance {self.task_allowance} "
                f"and {self.index_allowance}, tasks from the run's budget; {self.over_budget} "
                f"create(s) past the budget sent to an index that cannot exist); request log "
                f"{self.log_path}")


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False
