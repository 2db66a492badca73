"""How a generated answer is judged: our contract checks in schemathesis' check signature, and
the clause each failed check names."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from schemathesis.core.failures import CustomFailure, Failure, FailureGroup

from conformance import checks
from conformance.checks.answers import json_body
from conformance.clauses import ContractViolation
from conformance.properties.generation import operation_id
from conformance.properties.hints import breaks_only_hints
from conformance.resources.watch import Watch
from conformance.run.state import register_violation_mapper
from conformance.wire.transcript import Exchange

__all__ = ["DELETES", "Grant", "as_httpx", "clause_for", "contract_checks",
           "failure_clauses", "naming_clauses"]

# Clause a failure of each kind means, by operation (see clause_for). An operation or a kind
# of failure the contract has no clause for is judged by none: index creation is provisioning
# only ("200 or 201 with _id"), and only DELETE /tasks/{id} has clauses for unknown and
# malformed IDs (DEL-UNKNOWN, DEL-MALFORMED): retrieve and the video and index deletes have
# none, so what they answer an ID that cannot exist is a hint's business, never a check's.
SHAPE = {"createTask": "CREATE-OK", "listTasks": "LIST-SHAPE", "retrieveTask": "TASK-SHAPE",
         "deleteTask": "DEL-204", "deleteVideo": "DEL-204", "deleteIndex": "DEL-204"}
REJECTS = {"createTask": "CREATE-REJECTS", "listTasks": "LIST-FILTER-SORT",
           "deleteTask": "DEL-MALFORMED"}
ACCEPTS = {"createTask": "CREATE-OK", "listTasks": "LIST-FILTER-SORT",
           "deleteTask": "DEL-UNKNOWN"}
FIXED = {"not_a_server_error": "NO-5XX", "ignored_auth": "AUTH-REQUIRED",
         "missing_required_header": "AUTH-REQUIRED", "use_after_free": "DEL-GONE",
         "ensure_resource_availability": "CREATE-OK"}
DELETES = {"deleteTask": ("task", "task_id"), "deleteVideo": ("video", "video-id"),
           "deleteIndex": ("index", "index-id")}
"""Delete operations: the kind of resource each removes and its path parameter."""
_WELL_FORMED = re.compile(r"[0-9a-f]{24}")


def clause_for(check: str, operation: str, status: int | None, *, own: bool = False,
               made: bool = False) -> str | None:
    """The clause a failed schemathesis check breaks, for this operation and answer status;
    None: no clause judges it (the failure is dropped). ``own``: the path names a task the
    run made and did not delete, which retrieve must answer (TASK-SHAPE); ``made``: a task
    the run made, deleted or not (one it did not make never existed)."""
    if status is not None and status >= 500:
        # A server error is NO-5XX's alone: the same answer also fails the status and
        # acceptance checks, which would otherwise name the operation's shape clause.
        return "NO-5XX"
    if check in FIXED:
        return FIXED[check]
    if check == "negative_data_rejection":
        return REJECTS.get(operation)
    if check == "status_code_conformance" and operation == "deleteTask" and not made \
            and status is not None and 200 <= status < 300:
        return None  # a 2xx for an ID the run never made: contract_checks names its clause
    if check == "positive_data_acceptance" and operation == "deleteTask" and (own or made):
        # The run's own task is no unknown ID: a live one's status decides which delete
        # clause its answer is held to (the scenario tests judge each status), a deleted
        # one's second delete is DEL-GONE's.
        return None if own else "DEL-GONE"
    if check == "positive_data_acceptance":
        return "TASK-SHAPE" if own and operation == "retrieveTask" else ACCEPTS.get(operation)
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


@contextmanager
def naming_clauses(case: Any, response: Any, watch: Watch | None = None, *,
                   own: bool = False, made: bool = False) -> Iterator[None]:
    """Tag each failure with its clause while the answer's status is still known; drop the
    refusals the contract does not require (a request that broke only generation hints, or a
    clamped ``page_limit``: see ``hints.breaks_only_hints``). A created task not found again
    after another successful delete is DEL-ONLY-THAT's, not CREATE-OK's (``watch`` knows).
    ``own`` and ``made``: see ``clause_for``."""
    try:
        yield
    except FailureGroup as group:
        op = operation_id(case.operation.label)
        kept = []
        for failure in group.exceptions:
            if isinstance(failure, Failure) and "negative_data_rejection" in failure.checks \
                    and 200 <= response.status_code < 300 and breaks_only_hints(case, response):
                continue
            if watch is not None and isinstance(failure, Failure) \
                    and "ensure_resource_availability" in failure.checks \
                    and _named_by_a_delete(case, watch):
                continue
            clause = "NO-5XX" if response.status_code >= 500 else \
                _failure_clause(failure) if isinstance(failure, CustomFailure) else (
                    clause_for(failure.checks[0], op, response.status_code, own=own,
                               made=made)
                    if failure.checks else None)
            if clause == "CREATE-OK" and watch is not None and isinstance(failure, Failure) \
                    and "ensure_resource_availability" in failure.checks \
                    and _removed_by_another_delete(case, watch):
                clause = "DEL-ONLY-THAT"
            if clause is None:
                continue  # no clause of the contract judges this (see SHAPE)
            failure.conformance_clause = clause  # type: ignore[attr-defined]
            # The finding's evidence: the exchange the guard recorded of this case.
            failure.conformance_case_id = case.id  # type: ignore[attr-defined]
            kept.append(failure)
        if not kept:
            return
        if len(kept) < len(group.exceptions):
            group = FailureGroup(kept, group.message)
        raise group from None


def _named_by_a_delete(case: Any, watch: Watch) -> bool:
    """A delete of the run named the task since it was made: a refusal that removed it is
    judged by the scenario tests of the refusing clause, not as a create that made nothing."""
    task_id = (case.path_parameters or {}).get("task_id")
    if not isinstance(task_id, str):
        return False
    named = [d for d in watch.deletes_since(task_id) if d.kind == "task" and d.target == task_id]
    # This case's own delete is logged already (the guard logs on arrival): it does not count.
    own = 1 if operation_id(case.operation.label) == "deleteTask" else 0
    return len(named) > own


def _removed_by_another_delete(case: Any, watch: Watch) -> bool:
    task_id = (case.path_parameters or {}).get("task_id")
    return isinstance(task_id, str) and any(d.succeeded and d.target != task_id
                                            for d in watch.deletes_since(task_id))


@dataclass
class Grant:
    granted: bool
    """True: sent into the run's index, so it must be accepted (CREATE-OK); False: sent to
    an index that cannot exist, so it must be refused (CREATE-REJECTS)."""
    undecodable: bool = False
    """Granted with bytes that are no video: a target may refuse them at once with a 4xx
    (contract.md, "Live targets may differ") instead of making a task that fails."""


def contract_checks(op: str, exchange: Exchange | None, grant: Grant | None,
                    made: Collection[str] = ()) -> list[Callable[..., Any]]:
    """Our checks for one case of operation ``op``, to add to schemathesis' configured
    defaults (trap 8); ``exchange`` is what was recorded of the answer, for reproduce lines;
    ``made``: the tasks the run's property tests created (any other ID never existed)."""

    def error_answer_has_envelope(ctx: Any, response: Any, case: Any) -> None:
        if 400 <= response.status_code < 500:
            checks.error_answer_has_envelope(as_httpx(response, exchange))

    def delete_answer_is_204_without_body(ctx: Any, response: Any, case: Any) -> None:
        if not 200 <= response.status_code < 300:
            return
        answer = as_httpx(response, exchange)
        task_id = (case.path_parameters or {}).get("task_id")
        if op == "deleteTask" and task_id not in made:
            # A 2xx for an ID that never existed is no successful delete of anything: its
            # clause is DEL-UNKNOWN (DEL-MALFORMED for a malformed one), never DEL-204.
            if isinstance(task_id, str) and _WELL_FORMED.fullmatch(task_id):
                checks.unknown_id_answer_is_not_found(answer)
            else:
                checks.malformed_id_answer_is_client_error(answer)
            return
        checks.delete_answer_is_204_without_body(answer)

    def task_object_is_well_formed(ctx: Any, response: Any, case: Any) -> None:
        if response.status_code == 200:
            checks.task_object_is_well_formed(json_body(response),
                                              response=as_httpx(response, exchange))

    def create_is_judged(ctx: Any, response: Any, case: Any) -> None:
        if grant is not None and response.status_code != 429:
            if grant.undecodable and 400 <= response.status_code < 500:
                return
            answer = as_httpx(response, exchange)
            (checks.create_answer_is_ok if grant.granted else checks.create_is_rejected)(answer)

    # Each operation gets only the checks that can judge its answers (answers are converted
    # for a check only when it has something to judge: most are 2xx of other operations).
    found: list[Callable[..., Any]] = [error_answer_has_envelope]
    if op in DELETES:
        found.append(delete_answer_is_204_without_body)
    elif op == "retrieveTask":
        found.append(task_object_is_well_formed)
    elif op == "createTask":
        found.append(create_is_judged)
    return found


def as_httpx(response: Any, exchange: Exchange | None) -> httpx.Response:
    """The answer as the checks read it. ``response.content`` is decoded already: a content
    coding (gzip...) and the encoded length must not travel along, or it is decoded twice."""
    coded = any(v.strip().lower() not in ("", "identity")
                for v in response.headers.get("content-encoding") or ())
    framing = {"transfer-encoding", *(("content-encoding", "content-length") if coded else ())}
    headers = [(k, v) for k, values in response.headers.items() for v in values
               if k.lower() not in framing]
    answer = httpx.Response(response.status_code, headers=headers, content=response.content,
                            request=httpx.Request(response.request.method,
                                                  str(response.request.url)))
    if exchange is not None:
        answer.extensions["conformance.exchange"] = exchange
    return answer
