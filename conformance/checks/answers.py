"""Checks on any answer: no server errors, the error envelope, and error answers by status."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx

from conformance.checks.judged import evidence_of, judging_check
from conformance.clauses import ContractViolation

# --- helpers shared by the other check modules (not re-exported by the package) -------------

def reproduce_line(response: httpx.Response | None) -> str | None:
    """A curl line for the exchange behind ``response``, the key never spelled out."""
    if response is None:
        return None
    exchange = response.extensions.get("conformance.exchange")  # set by ApiClient
    if exchange is not None and hasattr(exchange, "curl"):
        return str(exchange.curl())
    try:
        request = response.request
    except RuntimeError:
        return None
    line = f"curl -X {request.method} '{request.url}'"
    if "x-api-key" in request.headers:
        line += ' -H "x-api-key: $TWELVELABS_API_KEY"'
    return line


def fail(clause_id: str, message: str, response: httpx.Response | None = None) -> None:
    """Raise the violation with its evidence: the check that judged, and the exchanges of
    the answers it was given (``judged.py``)."""
    judged = judging_check()
    raise ContractViolation(clause_id, message, reproduce=reproduce_line(response),
                            evidence=evidence_of(judged, response), judged_by=judged)


def shown_body(response: httpx.Response) -> str:
    """The answer's body as a message may quote it: as the transcript recorded it (keys a
    target echoed are scrubbed there), else as received."""
    exchange = response.extensions.get("conformance.exchange")
    recorded = getattr(exchange, "response_body", None)
    if isinstance(recorded, str):
        return recorded
    return response.content.decode("utf-8", "replace")


def what(response: httpx.Response, limit: int = 300) -> str:
    """The answer in one short phrase: status, content type, start of the body."""
    text = shown_body(response)
    body = text[:limit]
    more = "..." if len(text) > limit else ""
    ctype = response.headers.get("content-type", "no content type")
    return f"{response.status_code} ({ctype}) {body!r}{more}" if body else \
        f"{response.status_code} ({ctype}) with an empty body"


def json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def where(response: httpx.Response) -> str:
    try:
        return f"{response.request.method} {response.request.url.path}"
    except RuntimeError:
        return "the request"


def error_code(response: httpx.Response) -> Any:
    body = json_body(response)
    return body.get("code") if isinstance(body, dict) else None


# --- every answer ---------------------------------------------------------------------------

def answer_is_not_a_server_error(response: httpx.Response) -> None:
    """NO-5XX: no request is answered with a 5xx."""
    if response.status_code >= 500:
        fail("NO-5XX", f"{where(response)}: expected any answer but a server error, "
             f"got {what(response)}", response)


def error_answer_has_envelope(response: httpx.Response) -> None:
    """ERR-ENVELOPE: a 4xx is JSON with string code and message (a 429 may be bodiless)."""
    status = response.status_code
    if not 400 <= status < 500:
        return
    if status == 429 and not response.content.strip():
        return
    ctype = response.headers.get("content-type", "")
    mime = ctype.split(";", 1)[0].strip().lower()
    expected = f"{where(response)}: expected a {status} with a JSON body " \
               "{\"code\": string, \"message\": string}"
    if mime != "application/json":
        fail("ERR-ENVELOPE", f"{expected}, got content type {ctype or 'none'}: "
             f"{what(response)}", response)
    problem = _error_body_problem(response)
    if problem is not None:
        fail("ERR-ENVELOPE", f"{expected}, {problem}: {what(response)}", response)


def _error_body_problem(response: httpx.Response) -> str | None:
    """What keeps the body from being read as {code, message}; None when it can be.

    The declared content type is not looked at: that is ERR-ENVELOPE's business alone, and
    a clause about the status or the code must not fail twice for it."""
    body = json_body(response)
    if not isinstance(body, dict):
        return "but the body is not a JSON object"
    for name in ("code", "message"):
        if not isinstance(body.get(name), str):
            return f"but {name!r} is {'missing' if name not in body else repr(body[name])}"
    return None


def client_error(response: httpx.Response, clause_id: str, expected: str,
                 allowed: Iterable[int] | None = None) -> None:
    """The answer is a 4xx (or one of ``allowed``): the status a clause asks for.

    The error body itself is ERR-ENVELOPE's business alone (judged on every answer of the
    run): a clause about the status or a code must not fail a second time for it."""
    status = response.status_code
    ok = status in set(allowed) if allowed is not None else 400 <= status < 500
    if not ok:
        fail(clause_id, f"{where(response)}: expected {expected}, got {what(response)}",
             response)


# --- auth and isolation ---------------------------------------------------------------------

def answer_is_unauthorized(response: httpx.Response) -> None:
    """AUTH-REQUIRED: a missing or invalid key answers 401 with an error body."""
    client_error(response, "AUTH-REQUIRED", "401", allowed=(401,))


def foreign_access_is_refused(response: httpx.Response) -> None:
    """TENANT-ISOLATION: another account's key gets a 4xx for this task (any 4xx: whether
    the task stays intact is judged by reading it as its owner)."""
    client_error(response, "TENANT-ISOLATION", "a 4xx (the task belongs to another account)")
