"""How the server treats a connection between requests: keep-alive-drops closes idle ones early.

A live server closes a keep-alive connection when its idle timer fires; a request already on
its way then meets a closed connection, and the client reads "server disconnected without
sending a response". Here that happens on purpose, at the protocol level (uvicorn's h11
protocol), to any request that arrives on a connection idle for more than DROP_IDLE_AFTER.
"""

from __future__ import annotations

import threading

from uvicorn.protocols.http.h11_impl import H11Protocol

DROP_IDLE_AFTER = 0.03
"""Seconds a kept-alive connection may idle before a request arriving on it is dropped."""
KEEP_ALIVE = 1
"""Seconds after which an idle connection is closed anyway (uvicorn's timeout_keep_alive)."""


class Drops:
    """How many requests the server dropped unread (shown by the control plane's health)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def note(self) -> None:
        with self._lock:
            self.count += 1


def dropping_protocol(drops: Drops) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection unanswered when a request arrives on it
    after it idled for more than DROP_IDLE_AFTER."""

    class DroppingH11Protocol(H11Protocol):
        idle_since: float | None = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self.idle_since = self.loop.time()

        def data_received(self, data: bytes) -> None:
            idle, self.idle_since = self.idle_since, None
            if idle is not None and self.loop.time() - idle > DROP_IDLE_AFTER:
                drops.note()
                self.timeout_keep_alive_handler()  # as if the timer fired just before
                return
            super().data_received(data)

    return DroppingH11Protocol
