"""How the property tests' requests travel: the guard's one requests session, sending again
after a connection that could not be made or dropped, and the record of every send in the
run's transcript. The policy is the suite client's (``wire/client.py``): a safe request is
sent again after any connection failure, a DELETE once after a drop, a create never (its
caller looks for what it may have made); giving up is a harness error, never a clause.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from schemathesis.core.transport import Response
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from conformance.properties.generation import operation_id
from conformance.resources.errors import ProvisioningError
from conformance.resources.watch import NEW_TASK_GRACE
from conformance.wire.client import ConnectionDropped, repr_error
from conformance.wire.politeness import Pacer, RateLimitWaits, backoff_delay
from conformance.wire.transcript import (
    BODY_KEPT,
    DEFAULT_KEY_VARIABLE,
    Exchange,
    Redactor,
    Transcript,
    shorten,
)

__all__ = ["GuardStop", "LostCreates", "Recorder", "ResendingAdapter", "SendLost", "Settler",
           "dropped_before"]

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
RESENT_ONCE = frozenset({"DELETE", "PUT"})
MAX_RESENDS = 5
_DROPPED = "conformance_dropped"


class GuardStop(BaseException):
    """The property tests cannot go on with the target (rate limited past the suite's
    patience, or unreachable): a harness error (exit 3), never a clause. A BaseException, so
    Hypothesis does not take it for a failing example to shrink and replay."""


class SendLost(Exception):
    """A request that must not be sent blindly again (a create) lost its connection after it
    was sent and before its answer: it may or may not have been carried out."""

    def __init__(self, message: str, request: requests.PreparedRequest) -> None:
        super().__init__(message)
        self.request = request


def dropped_before(request: requests.PreparedRequest) -> bool:
    """The request was sent again because its first send dropped without an answer."""
    return bool(getattr(request, _DROPPED, False))


def _never_connected(exc: requests.RequestException) -> bool:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError)


class LostCreates:
    """Creates whose connection dropped after they were sent: each may have made a task. They
    are looked for by their unique filename, as their owner, once the property tests are done
    (a new task has had its grace to show by then, so no test waits), and kept as the run's
    (``keep``: ledger and watch) so cleanup removes them."""

    def __init__(self, find: Callable[..., dict[str, Any] | None],
                 keep: Callable[[str, str, str | None], None]) -> None:
        self._find = find
        self._keep = keep
        self._lost: list[tuple[str, str, str, float]] = []

    def add(self, index_id: str, filename: str, error: str) -> None:
        self._lost.append((index_id, filename, error, time.monotonic()))

    def __len__(self) -> int:
        return len(self._lost)

    def adopt(self) -> list[str]:
        """Look for each and keep what is found; the problems met, as lines."""
        problems = []
        for index_id, filename, error, lost_at in self._lost:
            left = max(0.0, NEW_TASK_GRACE - (time.monotonic() - lost_at))
            try:
                found = self._find(index_id, filename, ConnectionDropped(error, "POST", "/tasks"),
                                   left)
            except ProvisioningError as exc:
                problems.append(f"{exc} (`conformance cleanup --sweep` finds it by its name)")
                continue
            if found is not None:
                video_id = found.get("video_id")
                self._keep(str(found["_id"]), index_id,
                           video_id if isinstance(video_id, str) else None)
        self._lost.clear()
        return problems


class ResendingAdapter(HTTPAdapter):
    """Sends again what may be sent again; tells ``failed`` of every send that got no answer
    (request, error, start, attempt), so the transcript holds it."""

    def __init__(self, failed: Callable[[requests.PreparedRequest, str, float, int], object],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self._failed = failed
        self._sleep = sleep
        # A request that must not be sent blindly again goes on a connection of its own: a
        # pooled one may be closed by the server's keep-alive timer as the request arrives.
        self._fresh = HTTPAdapter(pool_maxsize=1)

    def close(self) -> None:
        super().close()
        self._fresh.close()

    def send(self, request: requests.PreparedRequest,
             *args: Any, **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        once = method not in SAFE | RESENT_ONCE
        if once:
            request.headers["Connection"] = "close"  # and not kept for the next one either
        failures = attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if once:
                    return self._fresh.send(request, *args, **kwargs)
                return super().send(request, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._failed(request, repr_error(exc), started, attempt)
                attempt += 1
                connect = _never_connected(exc)
                dropped = isinstance(exc, requests.ConnectionError) and not connect
                if dropped and method in SAFE | RESENT_ONCE and not dropped_before(request):
                    setattr(request, _DROPPED, True)  # most likely a stale keep-alive
                    continue
                if failures < MAX_RESENDS and (connect or method in SAFE):
                    self._sleep(backoff_delay(failures))
                    failures += 1
                    continue
                line = f"{method} {request.url} failed: {repr_error(exc)}"
                if not connect and method not in SAFE | RESENT_ONCE:
                    raise SendLost(line + " (sent, and no answer came)", request) from None
                raise GuardStop(line) from None


class Recorder:
    """Every send of the property tests into the run's transcript (redacted exactly like the
    clients' exchanges) and the request log."""

    def __init__(self, transcript: Transcript, key: str, redactor: Redactor,
                 log: Any) -> None:
        self._transcript = transcript
        self._key = key
        self._scrub = redactor.scrub
        self._log = log
        self._lock = threading.Lock()

    def label(self, request: requests.PreparedRequest) -> str:
        sent = request.headers.get("x-api-key")
        return "none" if sent is None else "primary" if sent == self._key else "invalid"

    def headers(self, request: requests.PreparedRequest) -> dict[str, str]:
        return {k: (DEFAULT_KEY_VARIABLE if k.lower() == "x-api-key" else self._scrub(str(v)))
                for k, v in request.headers.items()}

    def failure(self, request: requests.PreparedRequest, error: str, started: float,
                attempt: int) -> Exchange:
        """A send that got no answer."""
        return self._keep(Exchange(
            method=str(request.method), url=self._scrub(str(request.url)),
            request_headers=self.headers(request), request_body=self._body(request),
            status=None, response_headers={}, response_body="",
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            key_label=self.label(request), attempt=attempt, error=self._scrub(error)))

    def answer(self, response: Any, attempt: int = 0,
               form: tuple[tuple[str, str], ...] = (),
               files: tuple[tuple[str, str, int], ...] = (),
               case_id: str | None = None) -> Exchange:
        """An answer (schemathesis' Response); a create's form and files are given summarised,
        its bytes are never kept; ``case_id``: the generated case whose own answer it is (a
        finding's evidence)."""
        request = response.request
        body = response.content.decode("utf-8", "replace")
        return self._keep(Exchange(
            method=str(request.method), url=self._scrub(str(request.url)),
            request_headers=self.headers(request),
            request_body="" if form or files else self._body(request),
            status=response.status_code,
            response_headers={k: self._scrub(", ".join(v)) for k, v in response.headers.items()},
            response_body=self._scrub(shorten(body, BODY_KEPT)),
            response_truncated=len(body) > BODY_KEPT,
            elapsed_ms=round(response.elapsed * 1000, 1), key_label=self.label(request),
            form=form, files=files, json_body=bool(request.body) and not (form or files),
            attempt=attempt, case_id=case_id))

    def case_answer(self, case: Any, response: Any, upload: str | None) -> Exchange:
        """A case's final answer; a create's form and files summarised (``upload``: the file's
        marked name)."""
        if operation_id(case.operation.label) != "createTask" or not isinstance(case.body, dict):
            return self.answer(response, case_id=case.id)
        form = tuple((k, self._scrub(str(v))) for k, v in case.body.items()
                     if not isinstance(v, bytes))
        files = tuple((k, upload or "upload", len(v)) for k, v in case.body.items()
                      if isinstance(v, bytes))
        return self.answer(response, form=form, files=files, case_id=case.id)

    def _body(self, request: requests.PreparedRequest) -> str:
        raw = request.body
        if not raw:
            return ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return self._scrub(text[:2000])

    def _keep(self, exchange: Exchange) -> Exchange:
        self._transcript.append(exchange)
        line = json.dumps({"method": exchange.method, "url": exchange.url,
                           "status": exchange.status})
        with self._lock:
            self._log.write(line + "\n")
        return exchange


class Settler:
    """The response hook of every property-test request (the checks' own probes too): a 429
    says "later", not whether the contract holds, so it is waited out as asked and the same
    request sent again (no check ever judges one; the last try's answer stands); a task the
    guard just made that reads as gone is not shown yet (``not_shown_yet``): it is read again
    until it shows or its grace is over. Answers of requests sent outside a case's call (the
    checks' probes) are recorded here; a case's own is recorded with the case."""

    def __init__(self, recorder: Recorder, pacer: Pacer, scrub: Callable[[str], str],
                 not_shown_yet: Callable[[requests.Response], bool]) -> None:
        self._recorder = recorder
        self._pacer = pacer
        self._scrub = scrub
        self._not_shown_yet = not_shown_yet
        self._calling = threading.local()
        self._lock = threading.Lock()
        self.rate_limited = self.probes = 0

    @contextmanager
    def calling(self) -> Iterator[None]:
        """A case's own call: its final answer is recorded with the case."""
        self._calling.active = True
        try:
            yield
        finally:
            self._calling.active = False

    def __call__(self, response: requests.Response, **send: Any) -> requests.Response:
        probe = not getattr(self._calling, "active", False)
        waits, attempt, interval = RateLimitWaits(), 0, 0.25
        while True:
            if response.status_code == 429:
                wait = waits.next(response.headers.get("retry-after"))
                with self._lock:
                    self.rate_limited += 1
                if wait is None:
                    self._recorder.answer(Response.from_requests(response, verify=True),
                                          attempt)
                    raise GuardStop(waits.gave_up(f"{response.request.method} "
                                                  f"{self._scrub(str(response.url))}"))
            elif self._not_shown_yet(response):
                wait, interval = interval, min(2.0, interval * 2)
            else:
                break
            self._recorder.answer(Response.from_requests(response, verify=True), attempt)
            response.close()
            time.sleep(wait)
            self._pacer.wait()
            started = time.perf_counter()
            response = response.connection.send(response.request, **send)
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
            attempt += 1
        if probe:
            with self._lock:
                self.probes += 1
            self._recorder.answer(Response.from_requests(response, verify=True), attempt)
        return response
