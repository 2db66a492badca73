"""The error envelope: every error answer of the emulator is built here."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

from conformance.emulator.faults import Switches
from conformance.emulator.model import DomainError, Forbidden, NotFound, Refused

DOCS_URL = "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"
LONG_MESSAGE = 2_400  # long-error-messages: past the 2,000 characters a client might keep
_PADDING = (" Details: the request was checked against every rule of this operation, and the "
            "first rule it broke is named above; nothing was changed.")


class ApiError(Exception):
    """An answer other than success, raised anywhere below a handler."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def invalid(message: str, code: str = "parameter_invalid") -> ApiError:
    return ApiError(400, code, message)


def missing(name: str) -> ApiError:
    return ApiError(400, "parameter_not_provided", f"The {name} parameter is required.")


def from_domain(error: DomainError, sw: Switches) -> ApiError:
    if isinstance(error, NotFound):
        return ApiError(400 if sw.variation("unknown-id-400") else 404, error.code, error.message)
    if isinstance(error, Forbidden):
        return ApiError(403, error.code, error.message)
    if isinstance(error, Refused) and sw.fault("refusal-wrong-code"):
        return ApiError(400, "parameter_invalid", error.message)
    return ApiError(400, error.code, error.message)


def json_media_type(sw: Switches) -> str:
    return "application/json; charset=utf-8" if sw.variation("json-charset") else "application/json"


def error_response(error: ApiError, sw: Switches, api_key: str | None = None) -> Response:
    """The envelope; ``api_key`` is the request's x-api-key, which only echo-key-in-errors
    repeats (back to the caller who sent it, never anywhere else)."""
    message = error.message
    if 400 <= error.status < 500 and sw.variation("long-error-messages"):
        message = (message + _PADDING * (LONG_MESSAGE // len(_PADDING) + 1))[:LONG_MESSAGE]
    if api_key is not None and sw.variation("echo-key-in-errors"):
        message = f"{message} (x-api-key: {api_key})"
    body: dict[str, str] = {"code": error.code, "message": message}
    if error.status == 404 and sw.fault("error-404-without-message"):
        del body["message"]
    if sw.variation("error-docs-url"):
        body["docs_url"] = DOCS_URL
    # text/plain gets "; charset=utf-8" appended by Starlette
    media = "text/plain" if sw.fault("error-plain-text") else json_media_type(sw)
    return Response(json.dumps(body, ensure_ascii=False).encode(), status_code=error.status,
                    headers=error.headers, media_type=media)
