"""Property-based testing from ``specs/``: schemathesis set-up, our checks, a safety guard that
keeps generated requests on this run's own resources, and failures mapped to clause IDs.

Test modules list ``pytest_plugins = ["conformance.properties"]``: pytest then registers this
module right after importing them, its ``pytest_configure`` runs at once (a historic hook) and
configures the schemas the module loaded, before their tests are built from them.
(PYTEST_DONT_REWRITE: the test modules import it before pytest registers it.)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import CustomFailure, Failure, FailureGroup

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.client import Exchange, Transcript, backoff_delay, retry_after_seconds
from conformance.media import sample_video
from conformance.plugin import register_violation_mapper, run_state
from conformance.provisioning import BudgetExceeded, Ledger, Provisioner
from conformance.settings import Settings
from conformance.spec import load_spec, spec_path

# Clause a failure of each kind means, by operation (see clause_for).
SHAPE = {"createTask": "CREATE-OK", "listTasks": "LIST-SHAPE", "retrieveTask": "TASK-SHAPE",
         "deleteTask": "DEL-204", "deleteVideo": "DEL-204", "deleteIndex": "DEL-204",
         # No clause covers index creation; provisioning relies on it like on task creation.
         "createIndex": "CREATE-OK"}
REJECTS = {"createTask": "CREATE-REJECTS", "listTasks": "LIST-FILTER-SORT",
           "retrieveTask": "DEL-MALFORMED",
           "deleteTask": "DEL-MALFORMED", "deleteVideo": "DEL-MALFORMED",
           "deleteIndex": "DEL-MALFORMED"}
ACCEPTS = {**SHAPE, "listTasks": "LIST-FILTER-SORT", "deleteTask": "DEL-UNKNOWN",
           "deleteVideo": "DEL-UNKNOWN", "deleteIndex": "DEL-UNKNOWN"}
FIXED = {"not_a_server_error": "NO-5XX", "ignored_auth": "AUTH-REQUIRED",
         "missing_required_header": "AUTH-REQUIRED", "use_after_free": "DEL-GONE",
         "ensure_resource_availability": "CREATE-OK"}
STATELESS_CLAUSES = ("NO-5XX", "ERR-ENVELOPE", "AUTH-REQUIRED", "DEL-204", "DEL-EMPTY",
                     "DEL-UNKNOWN", "DEL-MALFORMED", "TASK-SHAPE", "CREATE-OK",
                     "CREATE-REJECTS", "LIST-SHAPE", "LIST-FILTER-SORT")
STATEFUL_CLAUSES = (*STATELESS_CLAUSES, "DEL-GONE")
OUT_OF_SEQUENCES = ("createIndex", "deleteIndex")
"""Index creation and deletion stay out of sequences: their tasks go into the run's index."""
# Safety: the live API's IDs are MongoDB ObjectIds whose first four bytes are the creation
# time in seconds. An ID that starts with ffffffff would be made in 2106, so no resource has
# it. Every 24-hex run in a path ID (or a create's index_id) that does not name a resource
# this run's property tests created gets that prefix, whatever else the value holds.
IMPOSSIBLE_PREFIX = "ffffffff"
_HEX_RUN = re.compile(r"[0-9a-fA-F]{24,}")
LIVE_TASK_ALLOWANCE, LIVE_INDEX_ALLOWANCE = 2, 1
LOOPBACK_TASK_ALLOWANCE, LOOPBACK_INDEX_ALLOWANCE = 40, 200
# One budget per run: a property-test create is granted only when the provisioner reserves
# it from the run's task and upload budget, within the caps above. The scenario tests need
# their own tasks: the pool's 3 and test_02's 1 to 3 fresh ones come first (file order), the
# client category's 1 to 2 fresh ones (test_30) come after the property tests. So while
# client tests are still to run, CLIENT_TASKS stay unspent: under nightly --max-tasks 8 the
# property tests get 8 - (3 + 1..3) - 2 = 0 to 2 creates, and the client category its 2.
CLIENT_TASKS = 2
UNREACHABLE_VIDEO_URL = "https://video.invalid/conformance-property-test"
"""``.invalid`` never resolves (RFC 6761), and no video extension: the task fails."""


def _operation_ids() -> dict[str, str]:
    spec = load_spec(spec_path())
    return {f"{method.upper()} {path}": op["operationId"]
            for path, item in spec["paths"].items() for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op}


_LABELS: dict[str, str] = {}


def operation_id(label: str | None) -> str:
    if not _LABELS:
        _LABELS.update(_operation_ids())
    return _LABELS.get(label or "", "")


def clause_for(check: str, operation: str, status: int | None) -> str | None:
    """The clause a failed schemathesis check breaks, for this operation and answer status."""
    if check in FIXED:
        return FIXED[check]
    if check == "negative_data_rejection":
        return REJECTS.get(operation)
    if check == "positive_data_acceptance":
        return ACCEPTS.get(operation)
    if status is not None and status >= 500:
        return "NO-5XX"
    if status is not None and 400 <= status < 500 and check != "status_code_conformance":
        return "ERR-ENVELOPE"  # a 4xx body or content type off the declared envelope
    return SHAPE.get(operation)


def _failure_clause(failure: BaseException) -> str | None:
    found = getattr(failure, "conformance_clause", None)
    if found:
        return str(found)
    if isinstance(failure, CustomFailure) and isinstance(failure.exception, ContractViolation):
        return failure.exception.clause_id
    if isinstance(failure, Failure) and failure.checks:
        return clause_for(failure.checks[0], operation_id(failure.operation), None)
    return None


@register_violation_mapper
def failure_clauses(exc: BaseException) -> list[str] | None:
    """Clause IDs of a schemathesis failure (or group of them); None for other exceptions."""
    if isinstance(exc, FailureGroup):
        found = [_failure_clause(f) for f in exc.exceptions]
        return list(dict.fromkeys(c for c in found if c)) or None
    if isinstance(exc, Failure):
        clause = _failure_clause(exc)
        return [clause] if clause else None
    return None


def schemathesis_config(settings: Settings | None) -> dict[str, Any]:
    """The run's schemathesis configuration, in ``schemathesis.toml`` form."""
    no = {"enabled": False}
    config: dict[str, Any] = {
        "generation": {"mode": "all"},  # trap 9: positive and negative, said explicitly
        "checks": {
            # HTTP method semantics outside the contract: no clause to report them under.
            "unsupported_method": no, "allow_header_conformance": no,
            "object_level_authorization": no,
            "use_after_free": {"enabled": True}, "ensure_resource_availability": {"enabled": True},
        },
        "operations": [
            # Trap 7: negative multipart bodies are often still valid forms. Whether a
            # positive create is accepted depends on the index existing, which the spec
            # cannot say: the guard's CREATE-OK / CREATE-REJECTS checks judge creates.
            {"include-operation-id": "createTask",
             "checks": {"negative_data_rejection": no, "positive_data_acceptance": no}},
            # Index creation is provisioning only: the contract does not say what it refuses.
            {"include-operation-id": "createIndex", "checks": {"negative_data_rejection": no}},
            # An unknown well-formed ID may answer 400 resource_not_exist (DEL-UNKNOWN).
            *({"include-operation-id": op, "checks": {"positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "404", "429"]}}}
              for op in ("retrieveTask", "deleteTask", "deleteVideo", "deleteIndex")),
        ],
    }
    if settings is not None:
        profile = settings.profile
        config["seed"] = settings.effective_seed
        config["generation"].update({"max-examples": profile.examples,
                                     "deterministic": profile.derandomize})
        if not profile.derandomize:  # Hypothesis: derandomize implies no database
            config["generation"]["database"] = str(settings.report_dir / "hypothesis")
        config["phases"] = {"stateful": {"max-steps": profile.stateful_steps}}
        if settings.base_url:
            config["base-url"] = settings.base_url
        if settings.api_key is not None:
            config["auth"] = {"openapi": {"x-api-key": {"api_key": settings.api_key.reveal()}}}
    return config


_PENDING: list[Any] = []
_RUN: dict[str, Settings] = {}


def _project_config(settings: Settings | None, raw: dict[str, Any]) -> Any:
    return SchemathesisConfig.from_dict(schemathesis_config(settings)).projects.get(raw)


def load_schema(settings: Settings | None = None, excluded: tuple[str, ...] = ()) -> Any:
    """The spec as a schemathesis schema, configured for the run now or at ``pytest_configure``
    (a test module loads it at import time, before any run state is reachable)."""
    settings = settings or _RUN.get("settings")
    config = SchemathesisConfig.from_dict(schemathesis_config(settings))
    schema: Any = schemathesis.openapi.from_path(spec_path(), config=config)
    if excluded:
        schema = schema.exclude(operation_id=list(excluded))
    if settings is None:
        _PENDING.append(schema)
    return schema


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = run_state(config).settings
    except KeyError:
        return  # --help, or the conformance plugin is not loaded
    _RUN["settings"] = settings
    while _PENDING:
        _configure_in_place(_PENDING.pop(), settings)


def _configure_in_place(schema: Any, settings: Settings) -> None:
    """``parametrize()`` clones the schema but shares its config object: update that object."""
    fresh = _project_config(settings, schema.raw_schema)
    target = schema.config
    names = {n for cls in type(fresh).__mro__ for n in getattr(cls, "__slots__", ())}
    for name in names - {"_parent", "__weakref__", "__dict__"}:
        if hasattr(fresh, name):
            setattr(target, name, getattr(fresh, name))
    target._source_keys = fresh._source_keys
    target._parent.update(seed=settings.effective_seed, max_failures=None)


# --- our checks, in schemathesis' check signature -------------------------------------------

def _as_httpx(response: Any, exchange: Exchange | None) -> httpx.Response:
    headers = [(k, v) for k, values in response.headers.items() for v in values]
    answer = httpx.Response(response.status_code, headers=headers, content=response.content,
                            request=httpx.Request(response.request.method,
                                                  str(response.request.url)))
    if exchange is not None:
        answer.extensions["conformance.exchange"] = exchange
    return answer


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


@dataclass
class _Grant:
    granted: bool
    """True: sent into the run's index, so it must be accepted (CREATE-OK); False: sent to
    an index that cannot exist, so it must be refused (CREATE-REJECTS)."""


class Guard:
    """Everything between a generated case and the wire: the safety rewrite, the creation
    budget, pacing and 429 waits, the transcript and ledger, and our checks."""

    def __init__(self, settings: Settings, transcript: Transcript, ledger: Ledger,
                 provisioner: Provisioner, *, keep_for_later: int = 0) -> None:
        assert settings.base_url is not None and settings.api_key is not None
        self.settings, self.transcript, self.ledger = settings, transcript, ledger
        self.provisioner = provisioner
        self.base_url = settings.base_url
        self._key = settings.api_key.reveal()
        loopback = settings.is_loopback
        self.task_allowance = LOOPBACK_TASK_ALLOWANCE if loopback else LIVE_TASK_ALLOWANCE
        self.keep_for_later = keep_for_later  # of the run's budget, for tests after these
        self.over_budget = 0
        self.index_allowance = LOOPBACK_INDEX_ALLOWANCE if loopback else LIVE_INDEX_ALLOWANCE
        self.tasks_created = self.indexes_created = 0
        self._grants = self._index_grants = 0
        self.tasks: set[str] = set()
        self.videos: dict[str, str] = {}  # video_id -> index_id
        self.indexes: set[str] = set()
        self.requests = 0
        self._decided: dict[str, _Grant] = {}
        self._exchanges: dict[str, Exchange] = {}
        self._lock = threading.Lock()
        self._interval = 1.0 / settings.effective_rate if settings.effective_rate else 0.0
        self._next_send = 0.0
        self.session = requests.Session()
        self.log_path = settings.report_dir / "properties-requests.jsonl"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        self._schemas: list[Any] = []

    def close(self) -> None:
        self._log.close()
        self.session.close()
        for schema in self._schemas:
            schema.hooks.unregister(self._after_call)

    def attach(self, schema: Any) -> Any:
        """Record every call made for ``schema`` (check replays too) into transcript and ledger."""
        if all(schema is not known for known in self._schemas):
            schema.hooks.register_hook_with_name(self._after_call, "after_call")
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
            _count_as_generated(case, linked)

    def _secure(self, case: Any) -> bool:
        op = operation_id(case.operation.label)
        params = case.path_parameters or {}
        run_index = {self.provisioner_index()} if op == "deleteVideo" and self.videos else set()
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

    def provisioner_index(self) -> str:
        return self.provisioner.index_id()

    def _place_task(self, case: Any, positive: bool) -> None:
        body = case.body
        if not isinstance(body, dict):
            return
        upload = not ("video_url" in body and "video_file" not in body)
        with self._lock:
            grant = positive and self._grants < self.task_allowance and self._reserve(upload)
            if grant:
                self._grants += 1
        if not grant:
            # Into an index that cannot exist: whatever the value, no hex run names one.
            body["index_id"] = self._confine(body.get("index_id"), set())
            if positive:
                self._decided[case.id] = _Grant(False)
            return
        body["index_id"] = self.provisioner_index()
        # An upload becomes the real sample (a task headed for ready, whose video must be
        # deleted first); a URL becomes one that cannot be fetched (a task headed for failed).
        if not upload:
            body["video_url"] = self.settings.failing_video_url or UNREACHABLE_VIDEO_URL
        else:
            body.pop("video_url", None)
            body["video_file"] = sample_video()
        metadata = body.get("user_metadata")
        if metadata is not None and not _is_json_object(metadata):
            body["user_metadata"] = json.dumps({"generated": str(metadata)[:200]})
        self._decided[case.id] = _Grant(True)

    def _reserve(self, upload: bool) -> bool:
        """Spend one task (and the sample's bytes) from the run's budget; False when spent."""
        try:
            self.provisioner.reserve_task(len(sample_video()) if upload else 0,
                                          leave=self.keep_for_later)
        except BudgetExceeded:
            self.over_budget += 1
            return False
        return True

    # -- sending -----------------------------------------------------------------------------

    def call_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "session": self.session, "timeout": 30}

    def send(self, case: Any) -> Any:
        """Send with pacing; 429s are waited out (RATE-LIMIT), never judged."""
        for attempt in range(6):
            self._pace()
            response = case.call(**self.call_kwargs())
            if response.status_code != 429 or attempt == 5:
                return response
            wait = retry_after_seconds(response.headers.get("retry-after", [None])[0])
            time.sleep(min(60.0, backoff_delay(attempt) if wait is None else wait))
        raise AssertionError("unreachable")

    def _pace(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_send)
            self._next_send = slot + self._interval
        if slot > now:
            time.sleep(slot - now)

    def _after_call(self, context: Any, case: Any, response: Any) -> None:
        self.requests += 1
        exchange = self._record(case, response)
        self._exchanges[case.id] = exchange
        op = operation_id(case.operation.label)
        body = _json(response) if 200 <= response.status_code < 300 else None
        if op == "createTask" and isinstance(body, dict) and isinstance(body.get("_id"), str):
            index_id = str((case.body or {}).get("index_id"))
            self.tasks.add(body["_id"])
            self.tasks_created += 1
            self.ledger.add("task", body["_id"], index_id=index_id)
            if isinstance(body.get("video_id"), str):
                self.videos[body["video_id"]] = index_id
                self.ledger.add("video", body["video_id"], index_id=index_id, task_id=body["_id"])
        elif op == "createIndex" and isinstance(body, dict) and isinstance(body.get("_id"), str):
            self.indexes.add(body["_id"])
            self.indexes_created += 1
            self.ledger.add("index", body["_id"], name=str((case.body or {}).get("index_name")))
        elif 200 <= response.status_code < 300 and op in _DELETES:
            kind, name = _DELETES[op]
            self.provisioner.note_deleted(kind, str((case.path_parameters or {}).get(name)))

    def _record(self, case: Any, response: Any) -> Exchange:
        request = response.request
        sent_key = request.headers.get("x-api-key")
        label = "none" if sent_key is None else "primary" if sent_key == self._key else "invalid"
        headers = {k: ("$TWELVELABS_API_KEY" if k.lower() == "x-api-key" else self._scrub(v))
                   for k, v in request.headers.items()}
        form: tuple[tuple[str, str], ...] = ()
        files: tuple[tuple[str, str, int], ...] = ()
        text = ""
        if operation_id(case.operation.label) == "createTask" and isinstance(case.body, dict):
            form = tuple((k, self._scrub(str(v))) for k, v in case.body.items()
                         if not isinstance(v, bytes))
            files = tuple((k, "upload", len(v)) for k, v in case.body.items()
                          if isinstance(v, bytes))
        elif request.body:
            raw = request.body
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        exchange = Exchange(
            method=str(request.method), url=self._scrub(str(request.url)),
            request_headers=headers, request_body=self._scrub(text[:2000]),
            status=response.status_code,
            response_headers={k: self._scrub(", ".join(v)) for k, v in response.headers.items()},
            response_body=self._scrub(response.content[:2000].decode("utf-8", "replace")),
            elapsed_ms=round(response.elapsed * 1000, 1), key_label=label, form=form,
            files=files, json_body=bool(text))
        self.transcript.append(exchange)
        self._log.write(json.dumps({"method": exchange.method, "url": exchange.url,
                                    "status": exchange.status}) + "\n")
        return exchange

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "$TWELVELABS_API_KEY") if self._key else text

    # -- judging -----------------------------------------------------------------------------

    def checks_for(self, case: Any) -> list[Callable[..., Any]]:
        """Our checks for this case, added to schemathesis' configured defaults (trap 8)."""
        op = operation_id(case.operation.label)
        exchange = self._exchanges.get(case.id)
        grant = self._decided.get(case.id)

        def error_answer_has_envelope(ctx: Any, response: Any, case: Any) -> None:
            checks.error_answer_has_envelope(_as_httpx(response, exchange))

        def delete_answer_is_204_without_body(ctx: Any, response: Any, case: Any) -> None:
            if op in _DELETES and 200 <= response.status_code < 300:
                checks.delete_answer_is_204_without_body(_as_httpx(response, exchange))

        def task_object_is_well_formed(ctx: Any, response: Any, case: Any) -> None:
            if op == "retrieveTask" and response.status_code == 200:
                checks.task_object_is_well_formed(_json(response),
                                                  response=_as_httpx(response, exchange))

        def create_is_judged(ctx: Any, response: Any, case: Any) -> None:
            if grant is not None and response.status_code != 429:
                answer = _as_httpx(response, exchange)
                (checks.create_answer_is_ok if grant.granted else checks.create_is_rejected)(
                    answer)

        found = [error_answer_has_envelope, delete_answer_is_204_without_body,
                 task_object_is_well_formed]
        return [*found, create_is_judged] if op == "createTask" else found

    @contextmanager
    def naming_clauses(self, case: Any, response: Any) -> Iterator[None]:
        """Tag each failure with its clause while the answer's status is still known."""
        try:
            yield
        except FailureGroup as group:
            op = operation_id(case.operation.label)
            for failure in group.exceptions:
                clause = _failure_clause(failure) if isinstance(failure, CustomFailure) else (
                    clause_for(failure.checks[0], op, response.status_code)
                    if failure.checks else None)
                if clause:
                    failure.conformance_clause = clause  # type: ignore[attr-defined]
            raise

    def exercise(self, case: Any) -> None:
        """One stateless example: secure, send, judge."""
        self.attach(case.operation.schema)
        if not self.secure(case):
            return
        response = self.send(case)
        with self.naming_clauses(case, response):
            case.validate_response(response, additional_checks=self.checks_for(case),
                                   transport_kwargs=self.call_kwargs())

    # -- stateful ----------------------------------------------------------------------------

    def state_machine(self) -> Any:
        """The spec's link graph as a Hypothesis state machine, bound to this run's target at
        build time (trap 5 does not arise: it is built inside the test, not at import)."""
        schema = self.attach(load_schema(self.settings, OUT_OF_SEQUENCES))
        guard = self

        class Sequences(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return guard.call_kwargs()

            def call(self, case: Any, **kwargs: Any) -> Any:
                if not guard.secure(case):
                    hypothesis.reject()
                return guard.send(case)

            def validate_response(self, response: Any, case: Any,
                                  additional_checks: list[Any] | None = None,
                                  **kwargs: Any) -> None:
                with guard.naming_clauses(case, response):
                    super().validate_response(
                        response, case,
                        additional_checks=[*(additional_checks or []), *guard.checks_for(case)],
                        **kwargs)

        return hypothesis.seed(self.settings.effective_seed)(Sequences)

    def run_state_machine(self) -> None:
        profile = self.settings.profile
        database = None if profile.derandomize else \
            hypothesis.database.DirectoryBasedExampleDatabase(
                str(self.settings.report_dir / "hypothesis"))
        machine = self.state_machine()
        machine.run(settings=hypothesis.settings(
            max_examples=max(3, profile.examples // 2), stateful_step_count=profile.stateful_steps,
            derandomize=profile.derandomize, database=database, deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse,
                    hypothesis.Phase.generate, hypothesis.Phase.shrink]))

    def summary(self) -> str:
        return (f"property tests: {self.requests} requests, {self.tasks_created} task(s) and "
                f"{self.indexes_created} index(es) created (allowance {self.task_allowance} "
                f"and {self.index_allowance}, tasks from the run's budget keeping "
                f"{self.keep_for_later} for later tests; {self.over_budget} create(s) past "
                f"the budget sent to an index that cannot exist); request log {self.log_path}")


_DELETES = {"deleteTask": ("task", "task_id"), "deleteVideo": ("video", "video-id"),
            "deleteIndex": ("index", "index-id")}


def _count_as_generated(case: Any, linked: Any) -> None:
    """schemathesis takes any value that differs from the generated one for a link's (its
    stateful checks then trust it); the guard's rewrites are folded into the generated values
    instead. Reaches into ``Case._components``: pinned by schemathesis<5."""
    for location, stored in getattr(case, "_components", {}).items():
        current = case.get_container(location)
        if not (stored.is_generated and isinstance(stored.value, dict)
                and isinstance(current, dict)):
            continue
        kept = getattr(linked, location.container_name, {}) or {}
        for name in list(stored.value):
            if name not in current and name not in kept:
                del stored.value[name]
        for name, value in current.items():
            if name not in kept:
                stored.value[name] = value


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (TypeError, ValueError):
        return False


def tasks_needed_later(items: list[pytest.Item]) -> int:
    """Tasks to leave in the budget for tests after the property tests (see CLIENT_TASKS)."""
    using = [n for n, item in enumerate(items)
             if "property_guard" in getattr(item, "fixturenames", ())]
    later = items[using[-1] + 1:] if using else []
    return CLIENT_TASKS if any(item.get_closest_marker("client") for item in later) else 0


@pytest.fixture(scope="session")
def property_guard(request: pytest.FixtureRequest, ledger: Ledger,
                   provisioner: Provisioner) -> Iterator[Guard]:
    """The run's guard of generated requests. What it let create is in the ledger and is
    removed by the provisioner's cleanup (that fixture outlives this one)."""
    state = run_state(request.config)
    guard = Guard(state.settings, state.transcript, ledger, provisioner,
                  keep_for_later=tasks_needed_later(request.session.items))
    try:
        yield guard
    finally:
        guard.close()
        state.notes.append(guard.summary())
