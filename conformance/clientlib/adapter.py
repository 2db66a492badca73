"""The client-adapter interface: what the client category needs from a client library.

An adapter wraps one client library (the official SDK is built in, see ``official_sdk.py``)
and is made by a factory named ``module:factory`` in the ``client_adapter`` setting. The
suite provisions with its own HTTP client and drives only reads and deletes through the
adapter, so an adapter is a handful of one-line methods.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from conformance.settings import Secret
from conformance.wire.client import ApiClient

DEFAULT_ADAPTER = "conformance.clientlib.official_sdk:official_sdk"
RELAY_KEY = "conformance-relay-injects-the-key"
"""The key a client is given when it sends through the relay: the relay puts in the real one."""
# Hop-by-hop or recomputed headers; the key is dropped because the relay sends its own.
_REQUEST_DROP = frozenset({"host", "content-length", "transfer-encoding", "connection",
                           "x-api-key"})
# The relay hands back decoded bytes, so encoding and length must not be claimed again.
_RESPONSE_DROP = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def library_available(client_adapter: str | None) -> bool:
    """A client library to test is at hand: a configured adapter, or the official SDK (the
    ``sdk`` extra) installed."""
    import importlib.util

    return client_adapter is not None or importlib.util.find_spec("twelvelabs") is not None


class AdapterError(Exception):
    """The adapter cannot be loaded or made: a harness error naming the setting."""


class MisroutedRequest(Exception):
    """The client sent a request somewhere other than the target under test."""


@dataclass(frozen=True)
class ClientError:
    """How a client surfaced a failed call, in the terms the checks judge."""

    exception: str
    """The exception's qualified class name, e.g. ``twelvelabs.errors.BadRequestError``."""
    status: int | None = None
    """The HTTP status the client reports (None when it reports none)."""
    code: str | None = None
    """The error ``code`` of the answer's body, as the client exposes it."""
    parse_error: bool = False
    """The client could not parse a successful answer (e.g. a pydantic ValidationError)."""
    detail: str = ""

    def describe(self) -> str:
        what = "could not parse the answer" if self.parse_error else \
            f"status {self.status}, code {self.code!r}"
        return f"raised {self.exception} ({what})"


@dataclass(frozen=True)
class AdapterTarget:
    """What a factory gets to build its client."""

    base_url: str
    """The target, with its version prefix (``.../v1.3``)."""
    api_key: Secret
    """For clients that cannot use ``http_client``; never print, log or store it."""
    http_client: httpx.Client
    """Sends through the suite's client: pace limit, 429 handling, transcript, and the key
    added on the way (give the client ``RELAY_KEY``). Use it when the library accepts one."""


@runtime_checkable
class ClientAdapter(Protocol):
    """One client library seen by the client category.

    Methods call the library and return what it returns, translated to plain data; they
    let the library's exceptions escape unchanged, and ``describe_error`` reads them.
    """

    name: str
    """The library's name as users know it, e.g. ``twelvelabs (official Python SDK)``."""
    version: str

    def retrieve_task(self, task_id: str) -> Mapping[str, Any]:
        """The task as the library delivers it, in the API's field names (``_id``, ...)."""
        ...

    def delete_task(self, task_id: str) -> object:
        """None when the library reports success; anything else is shown as returned."""
        ...

    def delete_video(self, index_id: str, video_id: str) -> object:
        """Delete a task's video, the documented way to make a ready task deletable."""
        ...

    def iter_tasks(self, *, index_id: str, page_limit: int) -> Iterable[Mapping[str, Any]]:
        """The library's own iteration over the index's tasks (its pager, lazily)."""
        ...

    def describe_error(self, exc: BaseException) -> ClientError | None:
        """What the library's exception says; None when it is not the library's (a bug)."""
        ...

    def close(self) -> None: ...


AdapterFactory = Callable[[AdapterTarget], ClientAdapter]


def load_factory(spec: str | None) -> AdapterFactory:
    """The factory named ``module:attribute`` (None: the official SDK adapter)."""
    spec = spec or DEFAULT_ADAPTER
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AdapterError(f"client adapter {spec}: cannot import {module_name} ({exc})") \
            from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise AdapterError(f"client adapter {spec}: {module_name} has no callable {attribute}")
    return factory


def open_adapter(spec: str | None, api: ApiClient, api_key: Secret) -> ClientAdapter:
    """Make the configured adapter for the target ``api`` talks to."""
    http = httpx.Client(transport=RelayTransport(api.unchecked()), timeout=60.0)
    target = AdapterTarget(api.base_url, api_key, http)
    try:
        adapter = load_factory(spec)(target)
    except AdapterError:
        raise
    except Exception as exc:
        raise AdapterError(f"client adapter {spec or DEFAULT_ADAPTER} could not be made: "
                           f"{type(exc).__name__}: {exc}") from None
    missing = [m for m in ("name", "version", "retrieve_task", "delete_task", "delete_video",
                           "iter_tasks", "describe_error", "close") if not hasattr(adapter, m)]
    if missing:
        raise AdapterError(f"client adapter {spec or DEFAULT_ADAPTER} lacks "
                           f"{', '.join(missing)} (see docs/client-adapters.md)")
    return adapter


class RelayTransport(httpx.BaseTransport):
    """An httpx transport that sends a client library's requests through an ApiClient.

    The library keeps its own URL building, headers and parsing; the relay adds what every
    request of the suite has: the pace limit, 429s waited out, the transcript (so failures
    carry a curl line) and the real key, which the library then never holds.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url, base = str(request.url), self._api.base_url
        if not (url == base or url.startswith((base + "/", base + "?"))):
            # Also what the SDK's TWELVELABS_BASE_URL override would look like.
            raise MisroutedRequest(f"the client sent {request.method} {url.split('?')[0]}, "
                                   f"outside the target {base}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _REQUEST_DROP}
        body = request.read()
        kwargs: dict[str, Any] = {"headers": headers}
        if body:
            kwargs["content"] = body
        answer = self._api.request(request.method, url[len(base):], **kwargs)
        kept = [(k, v) for k, v in answer.headers.multi_items()
                if k.lower() not in _RESPONSE_DROP]
        exchange = answer.extensions.get("conformance.exchange")
        return httpx.Response(answer.status_code, headers=kept, content=answer.content,
                              extensions={"conformance.exchange": exchange} if exchange else {})
