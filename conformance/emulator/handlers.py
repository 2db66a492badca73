"""One small function per operation: parse the request, call the store, render the answer."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.emulator import parsing
from conformance.emulator.context import Context
from conformance.emulator.errors import ApiError, error_response, from_domain, invalid, missing
from conformance.emulator.model import DomainError, ListQuery, NotFound
from conformance.emulator.render import json_response, no_content, page_body, task_body

_ID = re.compile(r"[0-9a-f]{24}")
TASK_OPERATIONS = frozenset({"create_task", "list_tasks", "retrieve_task", "delete_task"})
_UPPERCASE_ID = re.compile(r"(?=.*[A-F])[0-9a-fA-F]{24}")
Handler = Callable[[Request, Context, str], Awaitable[Response]]


def operation(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Rate limit, authenticate, then run the handler; every failure becomes an envelope."""
    on_tasks = fn.__name__ in TASK_OPERATIONS

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        ctx: Context = request.app.state.emulator
        response = await _answer(request, ctx)
        if on_tasks and ctx.sw.variation("advisory-headers"):
            response.headers.update(ctx.advisory_headers())
        return response

    async def _answer(request: Request, ctx: Context) -> Response:
        try:
            limited = ctx.rate_limited()
            if limited is not None:
                return limited
            account = ctx.authenticate(request, fn.__name__)
            if on_tasks:
                _refuse_removed(ctx)
            return await fn(request, ctx, account)
        except DomainError as error:
            return error_response(from_domain(error, ctx.sw), ctx.sw,
                                  request.headers.get("x-api-key"))
        except ApiError as error:
            if error.status == 401 and fn.__name__ == "delete_video" and \
                    request.headers.get("x-api-key") is not None and \
                    ctx.sw.fault("invalid-key-video-delete-applied"):
                _delete_video_anyway(request, ctx)
            return error_response(error, ctx.sw, request.headers.get("x-api-key"))

    return endpoint


def _delete_video_anyway(request: Request, ctx: Context) -> None:
    with contextlib.suppress(DomainError):
        ctx.store.delete_video(ctx.first_account, request.path_params["index_id"],
                               request.path_params["video_id"])


def _refuse_removed(ctx: Context) -> None:
    """The tasks-gone variations: the endpoints were withdrawn (the key is still checked first)."""
    if ctx.sw.variation("tasks-gone-404"):
        raise ApiError(404, "endpoint_not_exists", "The /tasks endpoints no longer exist.")
    if ctx.sw.variation("tasks-gone-410"):
        raise ApiError(410, "endpoint_removed", "The /tasks endpoints have been removed.")


def path_id(request: Request, name: str, ctx: Context) -> str:
    value = request.path_params[name]
    if not _ID.fullmatch(value):
        if ctx.sw.variation("malformed-id-404"):
            raise ApiError(404, "resource_not_exist", f"No resource has the ID {value[:64]!r}.")
        raise invalid(f"The {name} parameter must be 24 lowercase hexadecimal characters.")
    return value


@operation
async def create_task(request: Request, ctx: Context, account: str) -> Response:
    form = await parsing.task_form(request, ctx.sw)
    index_id = form.index_id
    if index_id is None and not ctx.sw.fault("create-without-index-accepted"):
        raise missing("index_id")
    if index_id is not None and not _ID.fullmatch(index_id):
        raise invalid("The index_id parameter must be 24 lowercase hexadecimal characters.")
    task = ctx.store.create_task(account, index_id, filename=form.filename, probe=form.probe,
                                 enable_stream=form.enable_stream,
                                 user_metadata=form.user_metadata)
    body = {"_id": task.id} if ctx.sw.fault("create-omits-video-id") else {
        "_id": task.id, "video_id": task.video_id}
    return json_response(body, ctx.sw, status=201 if ctx.sw.fault("create-201") else 200)


@operation
async def list_tasks(request: Request, ctx: Context, account: str) -> Response:
    query = parsing.list_query(request, ctx.sw)
    if ctx.sw.fault("list-ignores-status-filter"):
        query = parsing.replace(query, statuses=None)
    if ctx.sw.fault("list-sort-ignored"):
        query = parsing.replace(query, descending=True)
    query = _list_faults(query, ctx)
    shifted = query
    if ctx.sw.fault("list-duplicates-across-pages") and query.page > 1:
        shifted = parsing.replace(query, offset=(query.page - 1) * query.page_limit - 1)
    items, total, now = ctx.store.list_tasks(account, shifted)
    if not items and total and query.page > 1 and ctx.sw.fault("list-never-empty-page"):
        last = -(-total // query.page_limit)
        items, total, now = ctx.store.list_tasks(account, parsing.replace(query, page=last))
    if ctx.sw.fault("list-totals-unfiltered") and not query.unfiltered():
        total = ctx.store.list_tasks(account, ListQuery(page_limit=1))[1]
    page = 1 if ctx.sw.fault("list-page-echo-first") else query.page
    # rendered as of the instant the filters saw, so a status filter and its items agree
    return json_response(page_body(items, total, page, query.page_limit, now, ctx.sw), ctx.sw)


def _list_faults(query: ListQuery, ctx: Context) -> ListQuery:
    if ctx.sw.fault("list-ignores-index-filter"):
        query = parsing.replace(query, index_id=None)
    if ctx.sw.fault("list-status-filter-drops-failed") and query.statuses is not None:
        query = parsing.replace(query, statuses=query.statuses - {"failed"})
    if ctx.sw.fault("list-sort-by-updated-ignored") and query.sort_by == "updated_at":
        query = parsing.replace(query, sort_by="created_at")
    if ctx.sw.fault("list-status-filter-needs-index") and query.index_id is None:
        query = parsing.replace(query, statuses=None)
    return query


@operation
async def retrieve_task(request: Request, ctx: Context, account: str) -> Response:
    task_id = path_id(request, "task_id", ctx)
    try:
        task = ctx.store.get_task(account, task_id)
    except NotFound:
        _refuse_foreign(ctx, account, task_id)
        if ctx.sw.fault("server-error-on-unknown-retrieve") and not ctx.store.ever_existed(
                task_id):
            raise ApiError(500, "internal_error", "Unexpected lookup failure.") from None
        raise
    return json_response(task_body(task, ctx.now(), ctx.sw), ctx.sw)


@operation
async def delete_task(request: Request, ctx: Context, account: str) -> Response:
    try:
        task_id = path_id(request, "task_id", ctx)
    except ApiError:
        value = request.path_params["task_id"]
        if ctx.sw.fault("malformed-id-accepted") or (
                ctx.sw.fault("uppercase-id-accepted") and _UPPERCASE_ID.fullmatch(value)):
            return no_content(ctx.sw)
        named = _named_loosely(ctx, account, value.replace(" ", ""))
        if named is None:
            raise
        task_id = named
    try:
        status = ctx.store.delete_task(account, task_id)
    except NotFound:
        _refuse_foreign(ctx, account, task_id)
        raise
    if ctx.sw.fault("delete-200-empty-object") or (
            ctx.sw.fault("delete-failed-200") and status == "failed"):
        return json_response({}, ctx.sw)
    if ctx.sw.fault("delete-204-with-body"):
        return Response(status_code=204, headers={"content-length": "2"})
    return no_content(ctx.sw)


def _named_loosely(ctx: Context, account: str, text: str) -> str | None:
    """malformed-id-normalised: the one task of ``account`` whose ID starts with ``text`` or
    is the start of it, if exactly one."""
    if not ctx.sw.fault("malformed-id-normalised") or len(text) < 20:
        return None
    found = [t for t in ctx.store.task_ids(account) if t.startswith(text) or text.startswith(t)]
    return found[0] if len(found) == 1 else None


def _refuse_foreign(ctx: Context, account: str, task_id: str) -> None:
    if ctx.sw.variation("foreign-id-403") and ctx.store.belongs_to_another(account, task_id):
        raise ApiError(403, "resource_not_exist", "The task belongs to another account.")


@operation
async def delete_video(request: Request, ctx: Context, account: str) -> Response:
    ctx.store.delete_video(account, path_id(request, "index_id", ctx),
                           path_id(request, "video_id", ctx))
    if ctx.sw.fault("video-delete-204-with-length"):
        return Response(status_code=204, headers={"content-length": "2"})
    return no_content(ctx.sw)


@operation
async def create_index(request: Request, ctx: Context, account: str) -> Response:
    name, models = parsing.index_body(await parsing.json_body(request))
    index = ctx.store.create_index(account, name, models)
    status = 200 if ctx.sw.variation("index-create-200") else 201
    return json_response({"_id": index.id}, ctx.sw, status=status)


@operation
async def delete_index(request: Request, ctx: Context, account: str) -> Response:
    ctx.store.delete_index(account, path_id(request, "index_id", ctx))
    return no_content(ctx.sw)


async def not_found(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, method not allowed) in the same envelope."""
    ctx: Context = request.app.state.emulator
    status = getattr(exc, "status_code", 404)
    headers: dict[str, Any] = dict(getattr(exc, "headers", None) or {})
    key = request.headers.get("x-api-key")
    if status == 405:
        return error_response(ApiError(405, "method_not_allowed", f"{request.method} is not "
                                       "allowed here.", headers), ctx.sw, key)
    if status == 404:
        return error_response(ApiError(404, "resource_not_exist", "No such endpoint."), ctx.sw,
                              key)
    return error_response(ApiError(status, "parameter_invalid", str(getattr(exc, "detail", ""))
                                   or "Bad request.", headers), ctx.sw, key)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"code": "internal_error", "message": "The emulator failed: "
                         f"{type(exc).__name__}"}, status_code=500)


