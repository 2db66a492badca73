"""The control plane under /_emulator/: health, reset and clock. Never part of the public API."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from conformance.emulator.context import Context


async def health(request: Request) -> Response:
    ctx: Context = request.app.state.emulator
    return JSONResponse({"status": "ok", "now": ctx.now(),
                         "faults": sorted(ctx.sw.faults),
                         "variations": sorted(ctx.sw.variations),
                         "dropped_connections": ctx.drops.count})


async def reset(request: Request) -> Response:
    request.app.state.emulator.store.reset()
    return JSONResponse({"reset": True})


async def clock(request: Request) -> Response:
    """GET reads the clock; POST {"advance": seconds} or {"scale": factor} moves it."""
    ctx: Context = request.app.state.emulator
    clk = ctx.store.clock
    if request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict) or not set(body) <= {"advance", "scale"} or not body:
                raise ValueError("expected {\"advance\": seconds} or {\"scale\": factor}")
            for key in ("scale", "advance"):
                if key in body and (isinstance(body[key], bool)
                                    or not isinstance(body[key], int | float)):
                    raise ValueError(f"{key} must be a number")
            if "scale" in body:
                clk.set_scale(float(body["scale"]))
            if "advance" in body:
                clk.advance(float(body["advance"]))
        except (ValueError, RecursionError) as error:
            return JSONResponse({"code": "parameter_invalid", "message": str(error)},
                                status_code=400)
    return JSONResponse({"now": clk.now(), "scale": clk.scale})
