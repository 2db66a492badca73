"""Helpers for the emulator's tests: an in-process app driven synchronously, and a thin client."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from starlette.applications import Starlette

from conformance.emulator import DEFAULT_API_KEY
from conformance.emulator.lifecycle import Clock

SAMPLE = (Path(__file__).parents[2] / "conformance" / "data" / "sample.mp4").read_bytes()
SECOND_KEY = "second-account-key"
MODELS = [{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}]


class InProcess:
    """An httpx.AsyncClient on ASGITransport, called from synchronous tests through a portal."""

    def __init__(self, app: Starlette) -> None:
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                         base_url="http://emulator")
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def concurrently(self, *calls: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
        """Several requests at once, on one event loop: (method, url, httpx keyword arguments)."""

        async def gather() -> list[httpx.Response]:
            return list(await asyncio.gather(*(self._client.request(method, url, **kwargs)
                                               for method, url, kwargs in calls)))

        return self._portal.call(gather)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)


class Api:
    """Just enough client to state the contract's sentences in a line each."""

    def __init__(self, client: InProcess, clock: Clock, key: str | None = DEFAULT_API_KEY):
        self.http, self.clock, self.key = client, clock, key

    def as_key(self, key: str | None) -> Api:
        return Api(self.http, self.clock, key)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.key is not None:
            headers.setdefault("x-api-key", self.key)
        return self.http.request(method, f"/v1.3/{path}", headers=headers, **kwargs)

    def create_index(self, name: str = "library") -> str:
        answer = self.request("POST", "indexes", json={"index_name": name, "models": MODELS})
        assert answer.status_code in (200, 201), answer.text  # index-create-200 answers 200
        return answer.json()["_id"]

    def create_task(self, index_id: str | None, video: bytes | None = SAMPLE,
                    url: str | None = None, **fields: str) -> httpx.Response:
        data = dict(fields)
        if index_id is not None:
            data["index_id"] = index_id
        if url is not None:
            data["video_url"] = url
        files = {"video_file": ("clip.mp4", video, "video/mp4")} if video is not None else None
        if files is None:  # force multipart even without a file
            files = {"_": ("", b"", "text/plain")}
        return self.request("POST", "tasks", data=data, files=files)

    def task(self, index_id: str, kind: str = "ready", **fields: str) -> dict[str, str]:
        """A created task (not yet final): 'ready' from the sample, 'failed' from garbage."""
        answer = self.create_task(index_id, SAMPLE if kind == "ready" else b"not a video",
                                  **fields)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def retrieve(self, task_id: str) -> httpx.Response:
        return self.request("GET", f"tasks/{task_id}")

    def status(self, task_id: str) -> str:
        return self.retrieve(task_id).json()["status"]

    def list(self, **params: Any) -> httpx.Response:
        return self.request("GET", "tasks", params=params)

    def delete(self, task_id: str) -> httpx.Response:
        return self.request("DELETE", f"tasks/{task_id}")

    def delete_video(self, index_id: str, video_id: str) -> httpx.Response:
        return self.request("DELETE", f"indexes/{index_id}/videos/{video_id}")

    def settle(self) -> None:
        """Move the manual clock past every default schedule."""
        self.clock.advance(60)


