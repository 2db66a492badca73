"""Serving an emulator app with uvicorn on a loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette

from conformance.emulator.connections import KEEP_ALIVE, dropping_protocol
from conformance.emulator.routes import PREFIX


@dataclass
class RunningServer:
    base_url: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0,
                    *, timeout: float = 10.0) -> RunningServer:
    """Bind first (so port 0 resolves before anyone asks), then serve until ``stop()``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets that do, and
    # without it every keep-alive answer waits ~40 ms for a delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    bound = sock.getsockname()[1]
    options: dict[str, Any] = {"timeout_keep_alive": 30}
    # A wrapped app (a counting middleware in a test) has no state: no switches to read.
    context = getattr(getattr(app, "state", None), "emulator", None)
    if context is not None and context.sw.variation("keep-alive-drops"):
        options = {"timeout_keep_alive": KEEP_ALIVE, "http": dropping_protocol(context.drops)}
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            ws="none", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"emulator-{bound}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the emulator did not start on {host}:{bound}")
        time.sleep(0.005)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return RunningServer(f"http://{shown}:{bound}{PREFIX}", bound, server, thread)
