"""How answers travel, not what they say: round-trip latency and the transport variations
(connection close, gzip, chunked), as ASGI middleware around the whole app."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.emulator.variations import Switches

_BODILESS = frozenset({204, 304})


def middleware(sw: Switches, latency: float) -> list[Middleware]:
    """The stack for these switches, outermost first: the delay covers everything, and chunking
    splits what gzip already compressed."""
    stack = []
    if latency > 0:
        stack.append(Middleware(Latency, seconds=latency))
    if sw.variation("connection-close"):
        stack.append(Middleware(ConnectionClose))
    if sw.variation("chunked"):
        stack.append(Middleware(Chunked))
    if sw.variation("gzip"):
        stack.append(Middleware(Gzip))
    return stack


class Latency:
    """Every answer comes ``seconds`` late; asyncio.sleep, so concurrent requests overlap as
    they would against a remote API."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


class ConnectionClose:
    """Every answer says Connection: close; uvicorn (h11) then closes the connection after it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, receive, closing)


class Chunked:
    """JSON answers go without Content-Length and in two body messages, so the server sends
    them with Transfer-Encoding: chunked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunking = False

        async def chunked(message: Message) -> None:
            nonlocal chunking
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                chunking = headers.get("content-type", "").startswith("application/json")
                if chunking:
                    del headers["content-length"]
            elif message["type"] == "http.response.body" and chunking:
                body, more = message.get("body", b""), message.get("more_body", False)
                half = len(body) // 2
                if half:
                    await send({"type": "http.response.body", "body": body[:half],
                                "more_body": True})
                    message = {"type": "http.response.body", "body": body[half:],
                               "more_body": more}
            await send(message)

        await self.app(scope, receive, chunked)


class Gzip:
    """Answers with a body are gzip-compressed, however small, whenever the request's
    Accept-Encoding admits gzip; bodiless answers (204, a bodiless 429) stay bodiless.

    Starlette's GZipMiddleware would do, but with minimum_size=0 it also 'compresses' the empty
    body of a 204 into 20 bytes of gzip framing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        wanted = admits_gzip(v.decode("latin-1") for k, v in scope["headers"]
                             if k.lower() == b"accept-encoding")
        start: Message | None = None
        parts: list[bytes] = []

        async def compressing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message  # held until the whole body is known
                return
            if message["type"] != "http.response.body" or start is None:
                return await send(message)
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body, headers = b"".join(parts), MutableHeaders(scope=start)
            if body and start["status"] not in _BODILESS:
                headers.add_vary_header("Accept-Encoding")
                if wanted and "content-encoding" not in headers:
                    body = gzip.compress(body, mtime=0)
                    headers["content-encoding"] = "gzip"
                    headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, compressing)


def admits_gzip(values: Iterable[str]) -> bool:
    """Whether Accept-Encoding field values admit gzip (RFC 9110 section 12.5.3): listed with a
    non-zero weight, or not listed while ``*`` has one."""
    weights: dict[str, float] = {}
    for value in values:
        for item in value.split(","):
            name, *params = (part.strip() for part in item.split(";"))
            if not name:
                continue
            weight = 1.0
            for param in params:
                key, _, text = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        weight = float(text.strip())
                    except ValueError:
                        weight = 0.0
            weights[name.lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0
