"""A live-like target for the suite's own tests: a real HTTP server on a loopback port in front
of the emulator, that behaves in the ways contract.md says a live target may ("Live targets
may differ"): connections dropped between requests, runs of 429s, index creates answering
200, error bodies of any length, a new task reading 404 for a moment, a target lenient with
IDs no clause says it must refuse. Each behaviour is a switch; none breaks a clause.

The emulator cannot drop a connection without answering (uvicorn answers), so this proxy is
written on ``http.server``: an answer it decides not to give closes the socket unanswered.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from conformance.emulator import create_app
from conformance.emulator.server import start_in_thread

_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_TASK = re.compile(r"^/v1\.3/tasks/([^/?]+)$")
_OTHER_ID = re.compile(r"^/v1\.3/indexes/([^/?]+)(?:/videos/([^/?]+))?$")


@dataclass
class Behaviour:
    """What the proxy does besides forwarding. Counts are of requests the proxy received."""

    drop_every: int = 0
    """Close every Nth request's connection without answering, *before* forwarding it (a
    keep-alive connection the server closed as the request arrived), for ``drop_methods``;
    only a connection that served a request before (an idle keep-alive limit never closes a
    fresh one)."""
    drop_methods: frozenset[str] = frozenset({"GET", "DELETE"})
    drop_before: Callable[[str, str], bool] | None = None
    """(method, path) -> True: close without answering, before forwarding."""
    drop_after_forwarding: Callable[[str, str, int], bool] | None = None
    """(method, path, status upstream answered) -> True: forward the request, then close
    without answering."""
    storm_every: int = 0
    """Every Nth request is answered 429 ``storm_length`` times in a row before it passes."""
    storm_length: int = 8
    storm_max: int = 0
    """At most this many storms (0: no limit)."""
    storm_bodiless: bool = True
    index_create_200: bool = False
    long_errors: int = 0
    """Pad every 4xx JSON body with a ``details`` string of this many characters..."""
    huge_error_every: int = 0
    """...and every Nth one with 70,000 (longer than the transcript keeps whole)."""
    new_task_hidden: float = 0.0
    """Seconds after its create during which a task reads 404 (retrieve) and is not listed."""
    lenient_other_ids: bool = False
    """A video or index delete naming an ID that is not 24 lowercase hex answers 204."""
    retrieved_status: dict[str, str] = field(default_factory=dict)
    """Not conforming (a fault, for tests that must see it caught): retrieve answers show
    these statuses renamed (``{"indexing": "processing"}``: outside the enum)."""
    seen: list[tuple[str, str, int | None]] = field(default_factory=list)


class LiveLike:
    """The proxy and the emulator behind it; ``base_url`` is what the suite is pointed at."""

    def __init__(self, keys: tuple[str, ...], behaviour: Behaviour,
                 time_scale: float = 0.05) -> None:
        self.behaviour = behaviour
        self._emulator = start_in_thread(create_app(api_keys=keys, time_scale=time_scale))
        self._upstream = httpx.Client(base_url=self._emulator.base_url.removesuffix("/v1.3"),
                                      timeout=30)
        self._lock = threading.Lock()
        self._count = 0
        self._storms: dict[tuple[str, str], int] = {}
        self._storms_begun = 0
        self._born: dict[str, float] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in two writes: without this each keep-alive answer would
            # wait for a delayed ACK (~40 ms).
            disable_nagle_algorithm = True

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1.3"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()
        self._emulator.stop()

    # -- one request ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        b = self.behaviour
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, path = handler.command, handler.path
        with self._lock:
            self._count += 1
            count = self._count
        served = getattr(handler, "served", 0)
        handler.served = served + 1  # type: ignore[attr-defined]
        if (b.drop_every and count % b.drop_every == 0 and method in b.drop_methods
                and served) or (b.drop_before is not None and b.drop_before(method, path)):
            return self._drop(handler, method, path)
        if b.storm_every and self._storming(method, path, count):
            return self._write(handler, 429, {"retry-after": "0"},
                               b"" if b.storm_bodiless else json.dumps(
                                   {"code": "too_many_requests",
                                    "message": "slow down"}).encode())
        if b.lenient_other_ids and method == "DELETE" and self._odd_other_ids(path):
            return self._write(handler, 204, {}, b"")
        hidden = self._hidden(method, path)
        if hidden is not None:
            return self._write(handler, 404, {"content-type": "application/json"},
                               json.dumps({"code": "resource_not_exist",
                                           "message": f"task {hidden} does not exist"}).encode())
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        answer = self._upstream.request(method, path, headers=headers, content=body)
        if b.drop_after_forwarding is not None and \
                b.drop_after_forwarding(method, path, answer.status_code):
            return self._drop(handler, method, path)
        content = answer.content
        status = answer.status_code
        if method == "POST" and path.split("?")[0] == "/v1.3/tasks" and status == 200:
            self._born[json.loads(content)["_id"]] = time.monotonic()
        if b.index_create_200 and method == "POST" and path == "/v1.3/indexes" \
                and status == 201:
            status = 200
        if b.long_errors and 400 <= status < 500 and content:
            payload = json.loads(content)
            huge = b.huge_error_every and count % b.huge_error_every == 0
            payload["details"] = "x" * (70_000 if huge else b.long_errors)
            content = json.dumps(payload).encode()
        if method == "GET" and path.split("?")[0] == "/v1.3/tasks" and status == 200:
            content = self._unlist_hidden(content)
        if b.retrieved_status and method == "GET" and _TASK.match(path.split("?")[0]) \
                and status == 200:
            payload = json.loads(content)
            payload["status"] = b.retrieved_status.get(payload["status"], payload["status"])
            content = json.dumps(payload).encode()
        kept = {k: v for k, v in answer.headers.items()
                if k.lower() in ("content-type", "retry-after")}
        self._write(handler, status, kept, content)

    def _storming(self, method: str, path: str, count: int) -> bool:
        with self._lock:
            key = (method, path)
            left = self._storms.get(key)
            limit = self.behaviour.storm_max
            if left is None and count % self.behaviour.storm_every == 0 and \
                    (not limit or self._storms_begun < limit):
                self._storms_begun += 1
                left = self.behaviour.storm_length
            if not left:
                self._storms.pop(key, None)
                return False
            self._storms[key] = left - 1
            return True

    def _odd_other_ids(self, path: str) -> bool:
        found = _OTHER_ID.match(path)
        return found is not None and any(
            part is not None and not _HEX24.match(part) for part in found.groups())

    def _hidden(self, method: str, path: str) -> str | None:
        found = _TASK.match(path)
        if found is None or method not in ("GET", "DELETE"):
            return None
        born = self._born.get(found.group(1))
        young = born is not None and time.monotonic() - born < self.behaviour.new_task_hidden
        return found.group(1) if young else None

    def _unlist_hidden(self, content: bytes) -> bytes:
        if not self.behaviour.new_task_hidden:
            return content
        body = json.loads(content)
        now = time.monotonic()
        body["data"] = [t for t in body["data"]
                        if now - self._born.get(t["_id"], 0.0) >= self.behaviour.new_task_hidden]
        return json.dumps(body).encode()

    def _drop(self, handler: BaseHTTPRequestHandler, method: str, path: str) -> None:
        self.behaviour.seen.append((method, path, None))
        handler.close_connection = True

    def _write(self, handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
               content: bytes) -> None:
        self.behaviour.seen.append((handler.command, handler.path, status))
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


@contextmanager
def live_like(keys: tuple[str, ...], behaviour: Behaviour,
              time_scale: float = 0.05) -> Iterator[LiveLike]:
    target = LiveLike(keys, behaviour, time_scale)
    try:
        yield target
    finally:
        target.stop()
