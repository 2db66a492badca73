"""What an owner reads of its own indexes: ``GET /indexes``, as the vendor's API lists them
(each with its ``video_count``), served only when asked for (``conformance emulator
--list-indexes``, or ``with_index_listing(app)``).

Not in the suite's spec, so off by default: a generated test that tries a method the spec
does not list on ``/indexes`` expects a 405. The project's own tests count with it what a run
left on an emulator, and ``conformance cleanup --sweep`` finds the indexes a run made by their
names. Kept apart from the store's rules: no clause judges it, so it is no decision of rules.py.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.emulator import handlers
from conformance.emulator.context import Context
from conformance.emulator.errors import ApiError
from conformance.emulator.model import Index
from conformance.emulator.render import json_response
from conformance.emulator.routes import PREFIX, _route
from conformance.emulator.store import Store

__all__ = ["indexes", "list_indexes", "with_index_listing"]


def indexes(store: Store, account: str) -> list[tuple[Index, int]]:
    """The account's indexes, oldest first, each with the number of videos it holds."""
    with store.lock:
        acc = store.account(account)
        now = store.clock.now()
        return [(index, sum(1 for t in acc.by_index.get(index.id, {}).values()
                            if t.video_exists(now))) for index in acc.indexes.values()]


@handlers.operation
async def list_indexes(request: Request, ctx: Context, account: str) -> Response:
    """One page (at most 50) of the account's indexes."""
    try:
        page = max(1, int(request.query_params.get("page") or 1))
        limit = min(50, max(1, int(request.query_params.get("page_limit") or 10)))
    except ValueError:
        raise ApiError(400, "parameter_invalid", "page and page_limit are integers.") from None
    found = indexes(ctx.store, account)
    shown = found[(page - 1) * limit:page * limit]
    return json_response({
        "data": [{"_id": index.id, "index_name": index.name, "video_count": videos,
                  "created_at": ctx.rules.timestamp(index.created_at)}
                 for index, videos in shown],
        "page_info": {"limit_per_page": limit, "page": page,
                      "total_page": -(-len(found) // limit), "total_results": len(found)}},
        ctx.rules)


def with_index_listing(app: Starlette) -> Starlette:
    """``app`` answering ``GET /indexes`` too (one route per path: a 405's Allow stays true)."""
    path = f"{PREFIX}/indexes"
    app.router.routes[:] = [
        _route(path, get=list_indexes, post=handlers.create_index)
        if isinstance(route, Route) and route.path == path else route
        for route in app.router.routes]
    return app
