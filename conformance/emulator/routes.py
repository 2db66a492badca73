"""The URL table: one Route per path, with all its methods, so 405 answers list them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conformance.emulator import control, handlers

PREFIX = "/v1.3"
Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(**endpoints: Endpoint) -> Endpoint:
    table = {method.upper(): fn for method, fn in endpoints.items()}
    if "GET" in table:
        table["HEAD"] = table["GET"]

    async def dispatch(request: Request) -> Response:
        return await table[request.method](request)

    return dispatch


def _route(path: str, **endpoints: Endpoint) -> Route:
    return Route(path, _by_method(**endpoints), methods=[m.upper() for m in endpoints])


ROUTES: list[BaseRoute] = [
    _route(f"{PREFIX}/tasks", get=handlers.list_tasks, post=handlers.create_task),
    _route(f"{PREFIX}/tasks/{{task_id}}", get=handlers.retrieve_task,
           delete=handlers.delete_task),
    _route(f"{PREFIX}/indexes", post=handlers.create_index),
    _route(f"{PREFIX}/indexes/{{index_id}}", delete=handlers.delete_index),
    _route(f"{PREFIX}/indexes/{{index_id}}/videos/{{video_id}}", delete=handlers.delete_video),
    _route("/_emulator/health", get=control.health),
    _route("/_emulator/reset", post=control.reset),
    _route("/_emulator/clock", get=control.clock, post=control.clock),
]
