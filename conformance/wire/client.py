"""The HTTP client every test talks to a target through: auth, politeness, checks, transcript.

Paths are sent as given (already encoded) so malformed IDs reach the wire, with these
limits of HTTP and httpx: a fragment (``#...``) is never sent, ``?`` starts the query,
non-ASCII characters are sent UTF-8 percent-encoded, characters not allowed in a request
target (space, ``"<>`{}``) are percent-encoded, existing ``%XX`` escapes (``%2F``, ``%2e``,
even malformed ``%zz``) are kept, and control characters cannot be sent at all (ValueError).
Literal ``.`` and ``..`` segments, which httpx would resolve away, are restored before sending.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from conformance.settings import Secret
from conformance.wire.politeness import PATIENCE, Pacer, RateLimitWaits, backoff_delay
from conformance.wire.transcript import (
    DEFAULT_KEY_VARIABLE,
    Exchange,
    Redactor,
    Transcript,
    record_exchange,
)

__all__ = ["AnswerCheck", "ApiClient", "ClientStats", "ConnectionDropped", "Observer",
           "TargetUnavailable", "answer_lost", "dropped_before", "reads_as_gone"]

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
"""Sent again after any transport error, with backoff: they change nothing."""
_RESENT_ONCE = frozenset({"DELETE", "PUT"})
"""Idempotent but not safe: sent again once, at once, when the connection dropped without an
answer (a keep-alive connection the server had closed); see ``answer_lost``."""
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_DROPS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""The connection closed or reset under a sent request, before its answer arrived."""
DROPPED = "conformance.dropped"
"""Extension key of an answer whose request was sent again after its first send dropped: the
Exchange of that first send."""
_INDEX_MODELS = [{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}]


Observer = Callable[[str, str, httpx.Response], None]
"""Told of every final answer a client and its siblings receive: method, path as sent, answer."""
AnswerCheck = Callable[[httpx.Response], None]
"""Run on every final answer of a checked client; raises to say the answer broke a rule (the
fixture that builds the client hands the contract's checks in: the wire knows none)."""


class TargetUnavailable(Exception):
    """The target cannot be talked to (down, or rate limiting without end): a harness error."""


class ConnectionDropped(TargetUnavailable):
    """A request that must not be sent blindly again (a create) lost its connection after it
    was sent and before an answer came: it may or may not have been carried out. The caller
    looks for what it would have made (a create's unique filename) before anything else."""

    def __init__(self, message: str, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


def dropped_before(response: httpx.Response) -> Exchange | None:
    """The first send of this answer's request, when it dropped without an answer and the
    request was sent again (once) for this answer."""
    found = response.extensions.get(DROPPED)
    return found if isinstance(found, Exchange) else None


def answer_lost(response: httpx.Response) -> bool:
    """A DELETE whose first send dropped without an answer, sent again and answered as gone
    (404, 410, or 400 ``resource_not_exist``): the first send may have carried the delete out,
    so the delete's own answer is lost and this one must not be judged as it. What the delete
    did is still judged by what reads show afterwards (the watch counts it as carried out)."""
    return response.request.method == "DELETE" and dropped_before(response) is not None \
        and reads_as_gone(response.status_code, response.content)


def reads_as_gone(status: int, content: bytes) -> bool:
    """An answer that says the resource is not there: 404, 410, or 400 resource_not_exist."""
    if status in (404, 410):
        return True
    if status != 400:
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == "resource_not_exist"


class ClientStats:
    """Counts shared by a client and its siblings; read by the report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.rate_limited = 0
        self.retries = 0

    def add(self, *, requests: int = 0, rate_limited: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.rate_limited += rate_limited
            self.retries += retries

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "rate_limited": self.rate_limited,
                "retries": self.retries}


class _Shared:
    """What a client and its siblings (other key, unchecked) have in common."""

    def __init__(self, base_url: str, transcript: Transcript, rate: float | None,
                 max_retries: int, timeout: float, transport: httpx.BaseTransport | None,
                 sleep: Callable[[float], None], patience: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.transcript = transcript
        self.max_retries = max_retries
        self.patience = patience
        self.sleep = sleep
        self.pacer = Pacer(rate, sleep)
        self.stats = ClientStats()
        self.redactor = Redactor()
        self.observers: list[Observer] = []
        self.http = httpx.Client(timeout=timeout, transport=transport,
                                 headers={"user-agent": "tasks-conformance"})
        # A request that must not be sent blindly again goes on a connection of its own: a
        # pooled one may be closed by the server's keep-alive timer as the request arrives.
        self.fresh = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"user-agent": "tasks-conformance"},
                                  limits=httpx.Limits(max_keepalive_connections=0))


class ApiClient:
    """One account's view of the target; see the module docstring for how paths are sent."""

    def __init__(self, base_url: str, api_key: Secret | None, *, transcript: Transcript,
                 rate: float | None = None, max_retries: int = 5, timeout: float = 30.0,
                 answer_checks: Sequence[AnswerCheck] = (),
                 transport: httpx.BaseTransport | None = None,
                 key_label: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 patience: float = PATIENCE) -> None:
        """``max_retries``: sends again after connection failures; ``patience``: seconds of
        429s in a row one request waits out (wire/politeness.py)."""
        shared = _Shared(base_url, transcript, rate, max_retries, timeout, transport, sleep,
                         patience)
        self._init(shared, api_key, tuple(answer_checks), key_label)

    def _init(self, shared: _Shared, api_key: Secret | None,
              answer_checks: tuple[AnswerCheck, ...], key_label: str | None) -> None:
        self._shared = shared
        self._key = api_key
        self.answer_checks = answer_checks
        self.key_label = key_label or ("none" if api_key is None else "primary")
        if api_key is not None:
            shared.redactor.add(api_key.reveal())

    @property
    def checked(self) -> bool:
        return bool(self.answer_checks)

    def _sibling(self, api_key: Secret | None, answer_checks: tuple[AnswerCheck, ...],
                 key_label: str) -> ApiClient:
        other = object.__new__(ApiClient)
        other._init(self._shared, api_key, answer_checks, key_label)
        return other

    def with_key(self, api_key: Secret | None, label: str | None = None) -> ApiClient:
        """The same target and transcript with another key (None: no x-api-key header)."""
        return self._sibling(api_key, self.answer_checks,
                             label or ("none" if api_key is None else "other"))

    def unchecked(self) -> ApiClient:
        """The same client without its answer checks (for cleanup, and for answers a test
        judges itself)."""
        return self._sibling(self._key, (), self.key_label)

    @property
    def base_url(self) -> str:
        return self._shared.base_url

    @property
    def stats(self) -> ClientStats:
        return self._shared.stats

    @property
    def transcript(self) -> Transcript:
        return self._shared.transcript

    def close(self) -> None:
        self._shared.http.close()
        self._shared.fresh.close()

    def observe(self, observer: Observer) -> None:
        """Tell ``observer`` of every final answer this client and its siblings receive (the
        run's watch sees every delete this way, whichever key sent it)."""
        self._shared.observers.append(observer)

    def __repr__(self) -> str:
        return (f"ApiClient({self.base_url!r}, key={self.key_label}, "
                f"checked={self.checked})")

    # -- sending ---------------------------------------------------------------------------

    def request(self, method: str, path: str, **httpx_kwargs: Any) -> httpx.Response:
        """Send ``method base_url+path`` with politeness; the final answer is checked.

        429s are waited out (up to the client's patience); a request whose connection could
        not be made is sent again with backoff; one whose connection dropped after sending is
        sent again only when that is safe: GET at will, DELETE once (``answer_lost`` says
        when its second answer cannot stand for the first); a create raises
        ``ConnectionDropped`` instead. Whatever is given up on is ``TargetUnavailable``."""
        method = method.upper()
        shared = self._shared
        http = shared.http if method in _SAFE | _RESENT_ONCE else shared.fresh
        waits = RateLimitWaits(shared.patience)
        failures = 0
        dropped: Exchange | None = None
        attempt = 0
        while True:
            request = self._build(method, path, httpx_kwargs)
            shared.pacer.wait()
            started = time.perf_counter()
            try:
                response = http.send(request)
                response.read()
            except httpx.TransportError as exc:
                shared.stats.add(requests=1)
                failed = self._record(request, httpx_kwargs, None, started, attempt,
                                      repr_error(exc))
                attempt += 1
                resend = self._resend_after(method, exc, failures, dropped is None)
                if resend is not None:
                    failures += 1
                    if isinstance(exc, _DROPS):
                        dropped = dropped or failed
                    shared.stats.add(retries=1)
                    shared.sleep(resend)
                    continue
                line = self._scrub(f"{method} {request.url} failed: {repr_error(exc)}")
                if isinstance(exc, _DROPS) and method not in _SAFE | _RESENT_ONCE:
                    raise ConnectionDropped(line + " (sent, and no answer came)", method,
                                            path) from None
                raise TargetUnavailable(line) from None
            finally:
                # The answer keeps its request; no key may travel with it.
                if "x-api-key" in request.headers:
                    request.headers["x-api-key"] = DEFAULT_KEY_VARIABLE
            shared.stats.add(requests=1)
            self._record(request, httpx_kwargs, response, started, attempt, None)
            if response.status_code != 429:
                break
            shared.stats.add(rate_limited=1)
            wait = waits.next(response.headers.get("retry-after"))
            if wait is None:
                raise TargetUnavailable(waits.gave_up(
                    f"{method} {self._scrub(str(request.url))}"))
            shared.stats.add(retries=1)
            shared.sleep(wait)
            attempt += 1
        if dropped is not None:
            response.extensions[DROPPED] = dropped
        for observer in list(shared.observers):
            observer(method, path, response)
        for check in self.answer_checks:
            check(response)
        return response

    def _resend_after(self, method: str, exc: httpx.TransportError, failures: int,
                      first_drop: bool) -> float | None:
        """Seconds to wait before sending again after ``exc``; None: do not send again."""
        if failures >= self._shared.max_retries:
            return None
        if isinstance(exc, _DROPS) and method in _SAFE | _RESENT_ONCE and first_drop:
            return 0.0  # most likely a keep-alive connection the server had just closed
        if isinstance(exc, _CONNECT_ERRORS) or method in _SAFE:
            return backoff_delay(failures)  # never reached the target, or changes nothing
        return None

    def _build(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Request:
        headers = dict(kwargs.get("headers") or {})
        if self._key is not None:
            headers["x-api-key"] = self._key.reveal()
        rest = {k: v for k, v in kwargs.items() if k != "headers"}
        try:
            request = self._shared.http.build_request(
                method, self._shared.base_url + _mask_dots(path), headers=headers, **rest)
        except httpx.InvalidURL as exc:
            raise ValueError(f"path {path!r} cannot be sent: {exc}") from None
        request.url = _unmask_dots(request.url)
        return request

    def _record(self, request: httpx.Request, kwargs: dict[str, Any],
                response: httpx.Response | None, started: float, attempt: int,
                error: str | None) -> Exchange:
        exchange = record_exchange(request, kwargs, response, started=started,
                                   key_label=self.key_label, attempt=attempt, error=error,
                                   redactor=self._shared.redactor)
        self._shared.transcript.append(exchange)
        if response is not None:
            # Checks find the exchange here to put a curl line into a failure message.
            response.extensions["conformance.exchange"] = exchange
        return exchange

    def _scrub(self, text: str) -> str:
        return self._shared.redactor.scrub(text)

    # -- operations --------------------------------------------------------------------------

    def create_index(self, name: str) -> httpx.Response:
        return self.request("POST", "/indexes", json={"index_name": name,
                                                      "models": _INDEX_MODELS})

    def delete_index(self, index_id: str) -> httpx.Response:
        return self.request("DELETE", f"/indexes/{_q(index_id)}")

    def create_task(self, index_id: str | None, *,
                    video_file: bytes | tuple[str, bytes] | None = None,
                    video_url: str | None = None, enable_video_stream: bool | None = None,
                    user_metadata: dict[str, Any] | str | None = None) -> httpx.Response:
        """POST /tasks as multipart/form-data; None leaves a field out."""
        parts: list[tuple[str, tuple[str | None, bytes | str] | tuple[str, bytes, str]]] = []
        if index_id is not None:
            parts.append(("index_id", (None, index_id)))
        if video_url is not None:
            parts.append(("video_url", (None, video_url)))
        if enable_video_stream is not None:
            parts.append(("enable_video_stream", (None, str(enable_video_stream).lower())))
        if user_metadata is not None:
            text = user_metadata if isinstance(user_metadata, str) else json.dumps(user_metadata)
            parts.append(("user_metadata", (None, text)))
        if video_file is not None:
            name, data = video_file if isinstance(video_file, tuple) else ("video.mp4",
                                                                            video_file)
            parts.append(("video_file", (name, data, "video/mp4")))
        # Plain fields go as filename-less parts so the body is multipart even without a file.
        return self.request("POST", "/tasks", files=parts)

    def retrieve_task(self, task_id: str) -> httpx.Response:
        return self.request("GET", f"/tasks/{_q(task_id)}")

    def list_tasks(self, **params: Any) -> httpx.Response:
        """GET /tasks; a list value repeats the key (``status=["ready", "failed"]``)."""
        return self.request("GET", "/tasks", params=params)

    def delete_task(self, task_id: str) -> httpx.Response:
        return self.request("DELETE", f"/tasks/{_q(task_id)}")

    def delete_video(self, index_id: str, video_id: str) -> httpx.Response:
        return self.request("DELETE", f"/indexes/{_q(index_id)}/videos/{_q(video_id)}")


def _q(value: str) -> str:
    return quote(value, safe="")


def repr_error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# httpx resolves "." and ".." segments (RFC 3986 section 5.2.4); a malformed-ID test needs them
# on the wire, so they travel through URL building under placeholders and are put back after.
_DOT, _DOTDOT = "~conformance-dot~", "~conformance-dotdot~"


def _mask_dots(path: str) -> str:
    cut = min((i for i in (path.find("?"), path.find("#")) if i >= 0), default=len(path))
    segments = path[:cut].split("/")
    masked = [_DOTDOT if s == ".." else _DOT if s == "." else s for s in segments]
    return "/".join(masked) + path[cut:]


def _unmask_dots(url: httpx.URL) -> httpx.URL:
    ref = url._uri_reference
    if _DOT not in ref.path and _DOTDOT not in ref.path:
        return url
    # Built around httpx's URL normalisation on purpose; pinned httpx<0.29 and tested on the wire.
    url._uri_reference = ref._replace(path=ref.path.replace(_DOTDOT, "..").replace(_DOT, "."))
    return url
