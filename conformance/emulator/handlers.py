"""One small function per operation: parse the request, call the store, render the answer."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.emulator import parsing, views
from conformance.emulator.asks import Answer, CreatedAsk, IdAsk
from conformance.emulator.context import Context
from conformance.emulator.errors import ApiError, error_response
from conformance.emulator.model import DomainError, new_id
from conformance.emulator.render import answer_response, json_response, page_body, task_body

_WELL_FORMED = re.compile(r"[0-9a-f]{24}")
_HEX = re.compile(r"[0-9a-fA-F]+")
Handler = Callable[[Request, Context, str], Awaitable[Response]]


def operation(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Throttle, authenticate, then run the handler; every failure becomes an envelope."""
    name = fn.__name__

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        ctx: Context = request.app.state.emulator
        key = request.headers.get("x-api-key")
        try:
            response = await _answer(request, ctx)
        except DomainError as error:
            response = error_response(error, ctx.rules, name, key)
        extra = ctx.rules.headers(name)
        if extra:
            response.headers.update(extra)
        return response

    async def _answer(request: Request, ctx: Context) -> Response:
        limited = ctx.throttle()
        if limited is not None:
            return answer_response(limited, ctx.rules)
        caller = ctx.authenticate(request, name)
        if caller.account is None:
            raise caller.refusal or ApiError(401, "api_key_invalid", "Not allowed.", kind="auth")
        gone = ctx.rules.served(name)
        if gone is not None:
            raise gone
        if caller.refusal is not None:  # acted, whatever came of it, and then refused
            with contextlib.suppress(DomainError):
                await fn(request, ctx, caller.account)
            raise caller.refusal
        return await fn(request, ctx, caller.account)

    return endpoint


def id_kind(text: str) -> str:
    """How a path ID looks: well-formed, or which kind of malformed (asks.ID_KINDS)."""
    if _WELL_FORMED.fullmatch(text):
        return "well-formed"
    if text.strip() != text and _WELL_FORMED.fullmatch(text.strip()):
        return "spaced"
    if len(text) == 24 and _HEX.fullmatch(text):
        return "uppercase"
    if len(text) == 25 and (_WELL_FORMED.fullmatch(text[:24]) or _WELL_FORMED.fullmatch(text[1:])):
        return "extra-char"
    if len(text) == 23 and _WELL_FORMED.fullmatch(text + "0"):
        return "missing-char"
    if not text.isascii():
        return "non-ascii"
    if len(text) == 24:
        return "non-hex"
    return "short" if len(text) < 24 else "long"


def path_id(request: Request, name: str, ctx: Context, account: str,
            operation: str) -> str | Answer:
    """The path parameter ``name`` as an ID, or the answer the rules give a malformed one."""
    text = request.path_params[name]
    result = ctx.rules.path_id(IdAsk(operation, name, text, id_kind(text),
                                     lambda: ctx.store.near(account, text),
                                     lambda: list(ctx.store.account(account).tasks)))
    if isinstance(result, DomainError):
        raise result
    return result


@operation
async def create_task(request: Request, ctx: Context, account: str) -> Response:
    form = await parsing.task_form(request)
    task = ctx.store.create_task(account, form.index_id, source=form.source, probe=form.probe,
                                 filename=form.filename, enable_stream=form.enable_stream,
                                 user_metadata=form.user_metadata)
    body = ({"_id": task.id, "video_id": task.video_id} if task is not None
            else {"_id": new_id(), "video_id": new_id()})  # a pretended create
    return _created(ctx, "create_task", body)


def _created(ctx: Context, operation: str, body: dict[str, Any]) -> Response:
    """The one place a create's success answer is decided."""
    return answer_response(ctx.rules.created_answer(CreatedAsk(operation, body)), ctx.rules)


@operation
async def list_tasks(request: Request, ctx: Context, account: str) -> Response:
    query = parsing.list_query(request, ctx.rules.query_policy())
    items, info, now = views.list_page(ctx.store, account, query)
    # rendered as of the instant the filters saw, so a status filter and its items agree
    return json_response(page_body(items, info, now, ctx.rules), ctx.rules)


@operation
async def retrieve_task(request: Request, ctx: Context, account: str) -> Response:
    task_id = path_id(request, "task_id", ctx, account, "retrieve_task")
    if isinstance(task_id, Answer):
        return answer_response(task_id, ctx.rules)
    found = ctx.store.retrieve(account, task_id)
    if isinstance(found, Answer):
        return answer_response(found, ctx.rules)
    return json_response(task_body(found, ctx.now(), ctx.rules, "retrieve"), ctx.rules)


@operation
async def delete_task(request: Request, ctx: Context, account: str) -> Response:
    task_id = path_id(request, "task_id", ctx, account, "delete_task")
    if isinstance(task_id, Answer):
        return answer_response(task_id, ctx.rules)
    return answer_response(ctx.store.delete_task(account, task_id), ctx.rules)


@operation
async def delete_video(request: Request, ctx: Context, account: str) -> Response:
    index_id = path_id(request, "index_id", ctx, account, "delete_video")
    video_id = path_id(request, "video_id", ctx, account, "delete_video")
    for given in (index_id, video_id):
        if isinstance(given, Answer):
            return answer_response(given, ctx.rules)
    assert isinstance(index_id, str) and isinstance(video_id, str)
    return answer_response(ctx.store.delete_video(account, index_id, video_id), ctx.rules)


@operation
async def create_index(request: Request, ctx: Context, account: str) -> Response:
    name, models = parsing.index_body(await parsing.json_body(request))
    index = ctx.store.create_index(account, name, models)
    return _created(ctx, "create_index", {"_id": index.id})


@operation
async def delete_index(request: Request, ctx: Context, account: str) -> Response:
    index_id = path_id(request, "index_id", ctx, account, "delete_index")
    if isinstance(index_id, Answer):
        return answer_response(index_id, ctx.rules)
    return answer_response(ctx.store.delete_index(account, index_id), ctx.rules)


async def not_found(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, method not allowed) in the same envelope."""
    ctx: Context = request.app.state.emulator
    status = getattr(exc, "status_code", 404)
    headers: dict[str, Any] = dict(getattr(exc, "headers", None) or {})
    key = request.headers.get("x-api-key")
    if status == 405:
        error = ApiError(405, "method_not_allowed", f"{request.method} is not allowed here.",
                         headers, kind="route")
    elif status == 404:
        error = ApiError(404, "resource_not_exist", "No such endpoint.", kind="route")
    else:
        error = ApiError(status, "parameter_invalid", str(getattr(exc, "detail", ""))
                         or "Bad request.", headers, kind="route")
    return error_response(error, ctx.rules, "route", key)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"code": "internal_error", "message": "The emulator failed: "
                         f"{type(exc).__name__}"}, status_code=500)
