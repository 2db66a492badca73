"""Request parsing: multipart create bodies, list queries and index bodies, each refused cleanly."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from conformance.emulator.asks import QueryPolicy
from conformance.emulator.errors import ApiError, invalid, missing
from conformance.emulator.lifecycle import STATUSES
from conformance.emulator.media import Probe, probe_upload, probe_url
from conformance.emulator.model import ListQuery

MAX_UPLOAD = 100 * 1024 * 1024
MAX_FIELD = 64 * 1024
MAX_JSON = 1024 * 1024
MAX_QUERY_NUMBER = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]+")
_KINDS = {int: "an integer", float: "a number"}
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
MODEL_OPTIONS = frozenset({"visual", "audio"})

__all__ = ["index_body", "json_body", "list_query", "replace", "task_form"]
replace = dataclasses.replace


@dataclass(frozen=True)
class TaskForm:
    index_id: str | None
    filename: str
    source: str  # file | url | none
    probe: Probe | None
    enable_stream: bool
    user_metadata: dict[str, Any] | None


def _capped(request: Request, limit: int, what: str) -> Request:
    """The same request, refusing (400) once more than ``limit`` body bytes have arrived."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise invalid(f"The {what} exceeds the emulator's limit of {limit} bytes.")
    received = 0

    async def receive() -> Any:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise invalid(f"The {what} exceeds the emulator's limit of {limit} bytes.")
        return message

    return Request(request.scope, receive)


async def task_form(request: Request) -> TaskForm:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise invalid("The request body must be multipart/form-data.")
    try:
        form = await _capped(request, MAX_UPLOAD, "upload").form(
            max_files=2, max_fields=50, max_part_size=MAX_FIELD)
    except MultiPartException as error:
        raise invalid(f"The multipart body is malformed: {error.message}") from None
    except (ValueError, KeyError, UnicodeError) as error:
        raise invalid(f"The multipart body is malformed: {type(error).__name__}") from None
    try:
        return await _task_fields(form)
    finally:
        await form.close()  # spooled uploads hold temporary files


async def _task_fields(form: FormData) -> TaskForm:
    fields = {}
    for name in ("index_id", "video_file", "video_url", "enable_video_stream", "user_metadata"):
        values = form.getlist(name)
        if len(values) > 1:
            raise invalid(f"The {name} parameter is given more than once.")
        fields[name] = values[0] if values else None
    index_id = _text(fields["index_id"], "index_id")
    url = _text(fields["video_url"], "video_url")
    upload = fields["video_file"]
    if upload is not None and url is not None:
        raise invalid("Give either video_file or video_url, not both.")
    probe: Probe | None
    source = "file"
    if isinstance(upload, UploadFile):
        data = await upload.read()
        filename = upload.filename or "upload"
        probe = probe_upload(data)
    elif upload is not None:  # a plain field: its text is the "file"
        filename, probe = "upload", probe_upload(upload.encode("utf-8", "surrogateescape"))
    elif url is not None:
        (filename, probe), source = _url_video(url), "url"
    else:  # the rules refuse it (or, under a fault, take it as if nothing was uploaded)
        filename, probe, source = "upload", None, "none"
    return TaskForm(index_id, filename[:255], source, probe,
                    _boolean(_text(fields["enable_video_stream"], "enable_video_stream")),
                    _metadata(_text(fields["user_metadata"], "user_metadata")))


def _text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise invalid(f"The {name} parameter must be a text field, not a file.")


def _url_video(url: str) -> tuple[str, Probe]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        raise invalid("The video_url parameter is not a URL.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("The video_url parameter must be an http or https URL.")
    return parts.path.rsplit("/", 1)[-1] or parts.netloc, probe_url(url)


def _boolean(value: str | None) -> bool:
    if value is None:
        return True
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid("The enable_video_stream parameter must be true or false.")


def _metadata(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        raise invalid("The user_metadata parameter must be a JSON-encoded object.") from None
    if not isinstance(parsed, dict) or not all(
            isinstance(v, str | int | float | bool) for v in parsed.values()):
        raise invalid("The user_metadata parameter must be a JSON object of strings, numbers "
                      "and booleans.")
    return parsed


class _BadNumber(ApiError):
    """A query value that is not a number, or one out of bounds (``above``: past the maximum)."""

    def __init__(self, message: str, *, above: bool = False, kind: str = "bad-query") -> None:
        super().__init__(400, "parameter_invalid", message, kind=kind)
        self.above = above


def _bad_query(message: str) -> ApiError:
    return invalid(message, kind="bad-query")


def list_query(request: Request, policy: QueryPolicy) -> ListQuery:
    """The query, refusing every bad value, or under a lenient policy only those the contract
    requires refusing (enums, page_limit above 50, a repeated key)."""
    lenient = policy.lenient
    bounds = policy.bounds
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)

    def one(name: str) -> str | None:
        values = params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise _bad_query(f"The {name} parameter is given more than once.")
        return values[0]

    def number(name: str, kind: type, *, minimum: int = 0) -> Any:
        try:
            return _number(one(name), name, kind, minimum=minimum,
                           maximum=bounds.get(name, MAX_QUERY_NUMBER))
        except _BadNumber as error:
            if not lenient or (error.above and name in bounds):
                raise
            if error.above and name in ("page", "page_limit"):
                # a page past the end is served (empty); a page_limit is refused as above 50
                return MAX_QUERY_NUMBER
            return None  # ignored: a filter is dropped, page and page_limit take the default

    def moment(name: str) -> float | None:
        try:
            return _moment(one(name), name)
        except ApiError:
            if not lenient:
                raise
            return None

    page = _default(number("page", int, minimum=1), 1)
    limit = _default(number("page_limit", int, minimum=1), 10)
    cap = policy.limit_cap
    if cap is not None and limit > cap:
        if not policy.clamp:
            raise _bad_query(f"The page_limit parameter must be at most {cap}.")
        limit = cap
    # an empty value is a bad value, not an absent one: only a missing key takes the default
    sort_by = _default(one("sort_by"), "created_at")
    if sort_by not in ("created_at", "updated_at"):
        raise _bad_query("The sort_by parameter must be created_at or updated_at.")
    sort_option = _default(one("sort_option"), "desc")
    if sort_option not in ("asc", "desc"):
        raise _bad_query("The sort_option parameter must be asc or desc.")
    statuses = params.get("status")
    if statuses is not None and not set(statuses) <= set(STATUSES):
        raise _bad_query(f"The status parameter must be one of {', '.join(STATUSES)}.")
    index_id = one("index_id")
    if index_id is not None and not lenient and not (len(index_id) == 24 and all(
            c in "0123456789abcdef" for c in index_id)):
        # lenient-queries lets it through: it names no index, so it matches no task
        raise _bad_query("The index_id parameter must be 24 lowercase hexadecimal characters.")
    return ListQuery(
        page=page, page_limit=limit, sort_by=sort_by, descending=sort_option == "desc",
        index_id=index_id, statuses=frozenset(statuses) if statuses is not None else None,
        filename=one("filename"), duration=number("duration", float),
        width=number("width", int), height=number("height", int),
        created_at=moment("created_at"), updated_at=moment("updated_at"))


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _number(value: str | None, name: str, kind: type, *,
            minimum: int = 0, maximum: int = MAX_QUERY_NUMBER) -> Any:
    """A bounded query number, its bounds those of specs/tasks.openapi.yaml by default."""
    if value is None:
        return None
    # int() and float() also take spaces, underscores, non-ASCII digits, nan and inf
    if not (_INTEGER if kind is int else _DECIMAL).fullmatch(value):
        raise _BadNumber(f"The {name} parameter must be {_KINDS[kind]}.", kind="bad-number")
    # more significant digits than the bound has is out of range (and int() refuses past 4300)
    if kind is int and len(value.lstrip("-").lstrip("0")) > len(str(MAX_QUERY_NUMBER)):
        number: float = -math.inf if value.startswith("-") else math.inf
    else:
        number = int(value) if kind is int else float(value)
    if not minimum <= number <= maximum:
        raise _BadNumber(f"The {name} parameter must be between {minimum} and {maximum}.",
                         above=number > maximum)
    return number


def _moment(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad_query(f"The {name} parameter must be an RFC 3339 date-time.") from None
    if moment.tzinfo is None or "T" not in value.upper():
        raise _bad_query(f"The {name} parameter must be an RFC 3339 date-time with an offset.")
    return moment.timestamp()


async def json_body(request: Request) -> Any:
    chunks = []
    async for chunk in _stream(_capped(request, MAX_JSON, "request body")):
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise invalid("The request body must be a JSON object.") from None


async def _stream(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


def index_body(body: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    name = body.get("index_name")
    if name is None:
        raise missing("index_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise invalid("The index_name parameter must be a non-empty string.")
    models = body.get("models")
    if models is None:
        raise missing("models")
    if not isinstance(models, list) or not models:
        raise invalid("The models parameter must be a non-empty array.")
    for model in models:
        if not isinstance(model, dict) or not isinstance(model.get("model_name"), str) \
                or not model["model_name"]:
            raise invalid("Each model needs a model_name string.")
        options = model.get("model_options")
        if not isinstance(options, list) or not options or not all(
                isinstance(o, str) and o in MODEL_OPTIONS for o in options):
            raise invalid("Each model needs model_options, a non-empty subset of "
                          "visual and audio.")
    return name, models
