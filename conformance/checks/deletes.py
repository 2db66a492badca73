"""Checks on delete answers: 204 with no body, refusals and their code, gone, unknown IDs."""

from __future__ import annotations

import httpx

from conformance.checks.answers import client_error, error_code, fail, shown_body, what, where


def delete_answer_is_204_without_body(response: httpx.Response) -> None:
    """DEL-204 then DEL-EMPTY: exactly 204, no Content-Length but 0, zero bytes."""
    if response.status_code != 204:
        fail("DEL-204", f"{where(response)}: expected exactly 204 No Content, "
             f"got {what(response)}", response)
    length = response.headers.get("content-length")
    if length is not None and length.strip() != "0":
        fail("DEL-EMPTY", f"{where(response)}: expected a 204 without Content-Length or "
             f"with 0, got Content-Length: {length}", response)
    if response.content:
        fail("DEL-EMPTY", f"{where(response)}: expected a 204 with zero body bytes, got "
             f"{len(response.content)} bytes: {shown_body(response)[:200]!r}", response)


def delete_is_refused(response: httpx.Response, clause_id: str = "DEL-TERMINAL-ONLY") -> None:
    """A refused delete is exactly 400 with the error envelope."""
    client_error(response, clause_id, "a refusal: 400", allowed=(400,))


def refusal_code_is_task_cannot_be_deleted(response: httpx.Response) -> None:
    """DEL-REFUSAL-CODE: the refusal says task_cannot_be_deleted."""
    code = error_code(response)
    if code != "task_cannot_be_deleted":
        fail("DEL-REFUSAL-CODE", f"{where(response)}: expected code "
             f"'task_cannot_be_deleted' on a refused delete, got code {code!r}: "
             f"{what(response)}", response)


def answer_says_task_is_gone(response: httpx.Response, clause_id: str = "DEL-GONE") -> None:
    """A deleted task reads as 404, whatever its body says, or as 400 with code
    resource_not_exist: a 400 is "gone" only by its code (else it is any bad request), while a
    404 says it by its status alone; the body's envelope is ERR-ENVELOPE's to judge."""
    client_error(response, clause_id, "404 or 400 (code 'resource_not_exist')",
                 allowed=(400, 404))
    code = error_code(response)
    if response.status_code == 400 and code != "resource_not_exist":
        fail(clause_id, f"{where(response)}: expected 404, or 400 with code "
             f"'resource_not_exist', got code {code!r}: {what(response)}", response)


def second_delete_is_not_accepted(response: httpx.Response) -> None:
    """DEL-GONE: deleting a deleted task again is 404 or 400, never 2xx."""
    client_error(response, "DEL-GONE", "404 or 400 for a task that is already deleted",
                 allowed=(400, 404))


def unknown_id_answer_is_not_found(response: httpx.Response,
                                   clause_id: str = "DEL-UNKNOWN") -> None:
    """An ID that never existed answers 404 or 400 with an error body."""
    client_error(response, clause_id, "404 or 400 for an ID that never existed",
                 allowed=(400, 404))


def malformed_id_answer_is_client_error(response: httpx.Response) -> None:
    """DEL-MALFORMED: a malformed ID answers any 4xx with an error body."""
    client_error(response, "DEL-MALFORMED", "a 4xx for a malformed ID")

