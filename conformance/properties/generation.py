"""The run's schemathesis configuration, and the spec loaded as a schemathesis schema with it."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from conformance.settings import Settings
from conformance.spec import load_spec, spec_path

__all__ = ["configure_pending", "count_as_generated", "load_schema", "memoize_checks_config",
           "operation_id", "schemathesis_config"]


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
            # A refusal is any 4xx (DEL-MALFORMED is lenient on which: 405, 414 ...); a 5xx
            # is NO-5XX's alone. Whether a refusal is required at all: hints.py.
            "negative_data_rejection": {"expected-statuses": ["4xx", "5xx"]},
        },
        "phases": {
            # The spec's few examples only seed IDs the guard rewrites anyway; building them
            # costs a Hypothesis run per example at collection. Coverage covers the edges.
            "examples": {"enabled": False},
            # Methods the spec does not declare: no clause judges them (unsupported_method off).
            "coverage": {"unexpected-methods": []},
        },
        "operations": [
            # Trap 7: negative multipart bodies are often still valid forms. Whether a
            # positive create is accepted depends on the index existing, which the spec
            # cannot say: the guard's CREATE-OK / CREATE-REJECTS checks judge creates.
            {"include-operation-id": "createTask",
             "checks": {"negative_data_rejection": no, "positive_data_acceptance": no}},
            # Index creation is provisioning only: the contract does not say what it refuses.
            {"include-operation-id": "createIndex", "checks": {"negative_data_rejection": no}},
            # An unknown well-formed ID may answer 400 resource_not_exist (DEL-UNKNOWN); a
            # valid list query may still meet a target's own bound on what the spec leaves
            # open (a hint), refused with the envelope: no clause says it must be served.
            *({"include-operation-id": op, "checks": {"positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "404", "429"]}}}
              for op in ("retrieveTask", "deleteTask", "deleteVideo", "deleteIndex",
                         "listTasks")),
        ],
    }
    if settings is not None:
        profile = settings.profile
        config["seed"] = settings.effective_seed
        config["generation"].update({"max-examples": settings.examples,
                                     "deterministic": profile.derandomize})
        if not profile.derandomize:  # Hypothesis: derandomize implies no database
            config["generation"]["database"] = str(settings.report_dir / "hypothesis")
        config["phases"]["stateful"] = {"max-steps": profile.stateful_steps}
        if not settings.relaxed:
            # The coverage phase walks every parameter's edges: hundreds of requests a live
            # account pays for. Under live rules the drawn examples alone are sent.
            config["phases"]["coverage"]["enabled"] = False
        if settings.base_url:
            config["base-url"] = settings.base_url
        if settings.api_key is not None:
            config["auth"] = {"openapi": {"x-api-key": {"api_key": settings.api_key.reveal()}}}
    return config


@cache
def _spec() -> dict[str, Any]:
    """The spec parsed once per process (both property modules and the labels load it)."""
    return load_spec(spec_path())


_PENDING: list[Any] = []
_RUN: dict[str, Settings] = {}


def load_schema(settings: Settings | None = None, excluded: tuple[str, ...] = ()) -> Any:
    """The spec as a schemathesis schema, configured for the run now or by
    ``configure_pending`` (a test module loads it at import time, before any run state is
    reachable)."""
    settings = settings or _RUN.get("settings")
    config = SchemathesisConfig.from_dict(schemathesis_config(settings))
    schema: Any = schemathesis.openapi.from_dict(copy.deepcopy(_spec()), config=config)
    if excluded:
        schema = schema.exclude(operation_id=list(excluded))
    if settings is None:
        _PENDING.append(schema)
    return schema


def configure_pending(settings: Settings) -> None:
    """Configure for this run every schema loaded before it was known, and those loaded later."""
    _RUN["settings"] = settings
    while _PENDING:
        _configure_in_place(_PENDING.pop(), settings)


def _configure_in_place(schema: Any, settings: Settings) -> None:
    """``parametrize()`` clones the schema but shares its config object: update that object."""
    fresh = SchemathesisConfig.from_dict(schemathesis_config(settings)).projects.get(
        schema.raw_schema)
    target = schema.config
    names = {n for cls in type(fresh).__mro__ for n in getattr(cls, "__slots__", ())}
    for name in names - {"_parent", "__weakref__", "__dict__"}:
        if hasattr(fresh, name):
            setattr(target, name, getattr(fresh, name))
    target._source_keys = fresh._source_keys
    target._parent.update(seed=settings.effective_seed, max_failures=None)


def memoize_checks_config(schema: Any) -> None:
    """Each operation's checks configuration computed once per run: ``Case.validate_response``
    merges the configuration hierarchy again for every answer (about 0.6 ms, a tenth of a
    request's time here), which schemathesis' own runner does once per operation. Called once
    the run's configuration is in place (the guard attaches a schema only in a test)."""
    config = schema.config
    if getattr(config, "_conformance_memo", None) is not None:
        return
    original = config.checks_config_for
    memo: dict[tuple[str | None, str | None], Any] = {}

    def checks_config_for(*, operation: Any = None, phase: str | None = None) -> Any:
        key = (None if operation is None else operation.label, phase)
        found = memo.get(key)
        if found is None:
            found = memo[key] = original(operation=operation, phase=phase)
        return found

    config.checks_config_for = checks_config_for
    config._conformance_memo = memo


_LABELS: dict[str, str] = {}


def operation_id(label: str | None) -> str:
    """The spec's operationId for a schemathesis operation label (``"DELETE /tasks/{id}"``)."""
    if not _LABELS:
        spec = _spec()
        _LABELS.update({f"{method.upper()} {path}": op["operationId"]
                        for path, item in spec["paths"].items() for method, op in item.items()
                        if isinstance(op, dict) and "operationId" in op})
    return _LABELS.get(label or "", "")


def count_as_generated(case: Any, linked: Any) -> None:
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
