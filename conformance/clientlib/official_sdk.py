"""The built-in adapter for the official Python SDK (``twelvelabs``), and the example to copy."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from conformance.clientlib.adapter import RELAY_KEY, AdapterError, AdapterTarget, ClientError

BASE_URL_VARIABLE = "TWELVELABS_BASE_URL"
"""Read by the SDK's constructor, where it silently wins over the ``base_url`` argument."""
_ENVIRON_LOCK = threading.Lock()


@contextmanager
def _without_variable(name: str) -> Iterator[None]:
    """Hide one environment variable while the SDK is constructed."""
    with _ENVIRON_LOCK:
        saved = os.environ.pop(name, None)
        try:
            yield
        finally:
            if saved is not None:
                os.environ[name] = saved


class OfficialSdkAdapter:
    """``twelvelabs.TwelveLabs`` driven through the suite's relay; it never holds the key."""

    def __init__(self, target: AdapterTarget) -> None:
        try:
            from twelvelabs import TwelveLabs
        except ImportError as exc:
            raise AdapterError(f"the official SDK is not installed ({exc}): "
                               "pip install twelvelabs") from None
        self.name = "twelvelabs (official Python SDK)"
        self.version = metadata.version("twelvelabs")
        # Our target must win even when the user's environment points the SDK elsewhere.
        with _without_variable(BASE_URL_VARIABLE):
            self._sdk = TwelveLabs(api_key=RELAY_KEY, base_url=target.base_url,
                                   httpx_client=target.http_client)
        self._http = target.http_client

    def retrieve_task(self, task_id: str) -> Mapping[str, Any]:
        return _as_wire(self._sdk.tasks.retrieve(task_id))

    def delete_task(self, task_id: str) -> object:
        # Passed through as returned: the check is that this SDK returns None.
        result: object = self._sdk.tasks.delete(task_id)  # type: ignore[func-returns-value]
        return result

    def delete_video(self, index_id: str, video_id: str) -> object:
        result: object = self._sdk.indexes.videos.delete(  # type: ignore[func-returns-value]
            index_id, video_id)
        return result

    def iter_tasks(self, *, index_id: str, page_limit: int) -> Iterator[Mapping[str, Any]]:
        for task in self._sdk.tasks.list(index_id=index_id, page_limit=page_limit):
            yield _as_wire(task)

    def describe_error(self, exc: BaseException) -> ClientError | None:
        import pydantic
        from twelvelabs.core.api_error import ApiError

        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        if isinstance(exc, ApiError):
            body = exc.body
            code = body.get("code") if isinstance(body, dict) else None
            return ClientError(kind, exc.status_code, code if isinstance(code, str) else None,
                               detail=_short(repr(body)))
        if isinstance(exc, pydantic.ValidationError):
            return ClientError(kind, parse_error=True, detail=_short(str(exc)))
        return None

    def close(self) -> None:
        self._http.close()


def official_sdk(target: AdapterTarget) -> OfficialSdkAdapter:
    """The factory ``conformance.clientlib.official_sdk:official_sdk`` (the default)."""
    return OfficialSdkAdapter(target)


def _as_wire(model: Any) -> dict[str, Any]:
    # The SDK's dict() writes the API's names back (``id`` -> ``_id``) and drops unset fields.
    data = model.dict()
    return dict(data) if isinstance(data, Mapping) else {"value": data}


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
