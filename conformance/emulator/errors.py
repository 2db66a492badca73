"""The error envelope: every error answer of the emulator is rendered here, as the rules say."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from conformance.emulator.asks import ErrorAsk
from conformance.emulator.model import DomainError
from conformance.emulator.render import answer_response
from conformance.emulator.rules import Rules


class ApiError(DomainError):
    """An answer other than success with its HTTP status (and headers), raised anywhere below
    a handler."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None, *, kind: str = "invalid") -> None:
        super().__init__(code, message, status=status, kind=kind)
        self.headers = dict(headers or {})


def invalid(message: str, code: str = "parameter_invalid", kind: str = "invalid") -> ApiError:
    return ApiError(400, code, message, kind=kind)


def missing(name: str) -> ApiError:
    return ApiError(400, "parameter_not_provided", f"The {name} parameter is required.",
                    kind="missing")


def error_response(error: DomainError, rules: Rules, operation: str,
                   api_key: str | None = None) -> Response:
    """The envelope the rules decide for ``error``; ``api_key`` is the request's x-api-key,
    which only a rule that echoes it repeats (back to the caller who sent it)."""
    headers: Mapping[str, str] = getattr(error, "headers", {})
    answer = rules.envelope(ErrorAsk(error.status, error.code, error.message, error.kind,
                                     operation, api_key, headers))
    return answer_response(answer, rules)
