"""The record of what a run sent and got back: exchanges, the transcript, curl lines, redaction.

A key never reaches this module's output: headers carry the environment variable's name
instead, and any text a target echoes back is scrubbed of every key the run knows.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["BODY_KEPT", "DEFAULT_KEY_VARIABLE", "Exchange", "Redactor", "Transcript",
           "key_variable", "record_exchange", "shorten", "summarise_request"]

DEFAULT_KEY_VARIABLE = "$TWELVELABS_API_KEY"
_KEY_VARIABLES = {"second": "$TWELVELABS_SECOND_API_KEY"}
BODY_KEPT = 65536
"""Characters of an answer's body the transcript keeps whole (reports show less)."""
_CURL_SKIP = frozenset({"host", "accept", "accept-encoding", "connection", "user-agent",
                        "content-length", "content-type", "x-api-key"})


def key_variable(key_label: str) -> str:
    """The environment variable a curl line takes the key with this label from."""
    return _KEY_VARIABLES.get(key_label, DEFAULT_KEY_VARIABLE)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (or transport error), with every key already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    elapsed_ms: float
    key_label: str
    """primary, second, other, none or invalid: which key the request carried."""
    form: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str, int], ...] = ()
    """Uploaded files as (field, filename, size in bytes); the bytes are never kept."""
    json_body: bool = False
    attempt: int = 0
    error: str | None = None
    response_truncated: bool = False
    """The answer's body was longer than BODY_KEPT characters and is kept shortened: it can
    no longer be judged from the transcript (only what was received whole is)."""
    # Exchanges are made the moment their answer arrives; RATE-LIMIT measures the gap between
    # a 429 and the next send from these.
    received_at: float = field(default_factory=time.monotonic)
    """time.monotonic() when the answer was recorded."""
    received_wall: float = field(default_factory=time.time)
    """time.time() at the same moment, to read a Retry-After given as an HTTP date."""
    case_id: str | None = None
    """The generated case (property tests) this exchange sent, to find a failure's answer."""

    @property
    def started_wall(self) -> float:
        """time.time() when the request went out (as near as the record tells)."""
        return self.received_wall - self.elapsed_ms / 1000

    def curl(self) -> str:
        """A shell line that sends the same request, the key taken from the environment."""
        parts = ["curl", "-sS", "-i", "--path-as-is", "-X", self.method, shlex.quote(self.url)]
        if self.key_label == "invalid":
            parts += ["-H", shlex.quote("x-api-key: not-a-valid-key")]
        elif self.key_label != "none":
            parts += ["-H", f'"x-api-key: {key_variable(self.key_label)}"']
        for name, value in self.request_headers.items():
            if name.lower() not in _CURL_SKIP:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        for name, value in self.form:
            parts += ["--form-string", shlex.quote(f"{name}={value}")]
        for name, _filename, _size in self.files:
            parts += ["-F", shlex.quote(f"{name}=@sample.mp4")]
        if self.json_body:
            parts += ["-H", shlex.quote("content-type: application/json")]
        if self.request_body and not self.form and not self.files:
            parts += ["--data-raw", shlex.quote(self.request_body)]
        return " ".join(parts)


class Transcript:
    """Every exchange of a run, in order; safe to append to from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Exchange] = []
        self._positions: dict[int, int] = {}

    def append(self, exchange: Exchange) -> None:
        with self._lock:
            self._positions[id(exchange)] = len(self._items)
            self._items.append(exchange)

    def index_of(self, exchange: object) -> int | None:
        """Where this very exchange (not an equal one) stands in the run; None if absent."""
        with self._lock:
            found = self._positions.get(id(exchange))
            return found if found is not None and self._items[found] is exchange else None

    def mark(self) -> int:
        with self._lock:
            return len(self._items)

    def since(self, mark: int) -> list[Exchange]:
        with self._lock:
            return self._items[mark:]

    def __len__(self) -> int:
        return self.mark()


class Redactor:
    """The keys a client and its siblings send, and their removal from any text."""

    def __init__(self) -> None:
        # Replaced, never mutated: read lock-free.
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, secret: str, variable: str = DEFAULT_KEY_VARIABLE) -> None:
        """Scrub ``secret`` from now on, writing ``variable`` (the environment variable a
        reproduction takes it from) in its place."""
        if secret:
            with self._lock:
                self._secrets = {**self._secrets, secret: self._secrets.get(secret, variable)}

    def scrub(self, text: str) -> str:
        """Replace any known key (a target may echo it back) by its variable's name."""
        for secret, variable in self._secrets.items():
            if secret in text:
                text = text.replace(secret, variable)
        return text


def record_exchange(request: httpx.Request, kwargs: dict[str, Any],
                    response: httpx.Response | None, *, started: float, key_label: str,
                    attempt: int, error: str | None, redactor: Redactor) -> Exchange:
    """The redacted exchange of one attempt; ``started`` is its ``time.perf_counter()``."""
    scrub = redactor.scrub
    body, form, files = summarise_request(kwargs)
    variable = key_variable(key_label)
    headers = {k: (variable if k.lower() == "x-api-key" else scrub(v))
               for k, v in request.headers.items()}
    return Exchange(
        method=request.method, url=scrub(str(request.url)), request_headers=headers,
        request_body=scrub(body), form=tuple((k, scrub(v)) for k, v in form),
        files=files, json_body=kwargs.get("json") is not None,
        status=None if response is None else response.status_code,
        response_headers={} if response is None else
        {k: scrub(v) for k, v in response.headers.items()},
        response_body="" if response is None else scrub(shorten(response.text, BODY_KEPT)),
        response_truncated=response is not None and len(response.text) > BODY_KEPT,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        key_label=key_label, attempt=attempt,
        error=None if error is None else scrub(error))


def summarise_request(kwargs: dict[str, Any]) -> tuple[str, list[tuple[str, str]],
                                                       tuple[tuple[str, str, int], ...]]:
    """A short text of the body, its plain form fields and its files (sizes, not bytes)."""
    form: list[tuple[str, str]] = []
    files: list[tuple[str, str, int]] = []
    parts = kwargs.get("files")
    if parts:
        for name, value in (parts.items() if isinstance(parts, dict) else parts):
            filename, data = value[0], value[1]
            if filename is None:
                form.append((name, _text(data)))
            else:
                files.append((name, str(filename), len(data)))
        shown = [f"{k}={shorten(v, 200)}" for k, v in form]
        shown += [f"{k}=<{size} bytes, {fn}>" for k, fn, size in files]
        return "multipart/form-data: " + "; ".join(shown), form, tuple(files)
    if kwargs.get("json") is not None:
        # Kept whole (up to BODY_KEPT) so a reproduction sends the same body again.
        return shorten(json.dumps(kwargs["json"]), BODY_KEPT), form, ()
    for key in ("content", "data"):
        if kwargs.get(key) is not None:
            return shorten(_text(kwargs[key]), BODY_KEPT), form, ()
    return "", form, ()


def shorten(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
