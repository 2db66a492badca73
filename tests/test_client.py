"""The API client: how paths reach the wire, politeness towards the target, and redaction."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from conformance.resources.media import sample_video
from conformance.settings import Secret
from conformance.wire.client import ApiClient, TargetUnavailable
from conformance.wire.politeness import MAX_WAIT, backoff_delay, retry_after_seconds
from conformance.wire.transcript import BODY_KEPT, Transcript

KEY = "tlk_RECOGNISABLE_7f3a9c0d1e2b"


def make(handler: Callable[[httpx.Request], httpx.Response], *, key: str | None = KEY,
         sleeps: list[float] | None = None, **kwargs: Any) -> ApiClient:
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    return ApiClient("http://127.0.0.1:9/v1.3", Secret(key) if key else None,
                     transcript=Transcript(), transport=httpx.MockTransport(handler),
                     sleep=record, **kwargs)


def answers(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that plays the given answers in order, the last one forever."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item
    return handler


# -- Retry-After and backoff -------------------------------------------------------------------

def test_retry_after_in_seconds_is_read_as_seconds() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds("1.5") == 1.5


def test_retry_after_as_http_date_is_read_relative_to_now() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now) == pytest.approx(30.0)
    assert retry_after_seconds(earlier, now) == 0.0


def test_unusable_retry_after_is_ignored() -> None:
    for value in (None, "", "soon", "-3", "Thu, 99 Foo 2026"):
        assert retry_after_seconds(value) is None, value


def test_backoff_grows_with_jitter_and_stays_capped() -> None:
    import random
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(MAX_WAIT, 0.5 * 2 ** attempt)
        delay = backoff_delay(attempt, rng)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(40, rng) <= MAX_WAIT


# -- politeness ----------------------------------------------------------------------------------

def test_pace_limit_is_shared_across_threads() -> None:
    client = ApiClient("http://127.0.0.1:9/v1.3", Secret(KEY), transcript=Transcript(),
                       transport=httpx.MockTransport(lambda r: httpx.Response(200)),
                       rate=20)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [client.request("GET", "/tasks")
                                                for _ in range(3)]) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Nine requests at 20/s need at least eight intervals of 50 ms.
    assert time.monotonic() - started >= 8 / 20 - 0.01
    assert client.stats.requests == 9


def test_unpaced_client_does_not_wait() -> None:
    client = make(lambda r: httpx.Response(200))
    started = time.monotonic()
    for _ in range(20):
        client.request("GET", "/tasks")
    assert time.monotonic() - started < 1.0


def test_429_is_waited_out_as_retry_after_asks_and_retried() -> None:
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"retry-after": "2"})
    client = make(answers(limited, limited, httpx.Response(200, json={})), sleeps=sleeps)
    assert client.request("GET", "/tasks").status_code == 200
    assert sleeps == [2.0, 2.0]
    assert client.stats.as_dict() == {"requests": 3, "rate_limited": 2, "retries": 2}
    assert [e.status for e in client.transcript.since(0)] == [429, 429, 200]


def test_429_wait_is_capped_whatever_the_target_asks() -> None:
    sleeps: list[float] = []
    client = make(answers(httpx.Response(429, headers={"retry-after": "86400"}),
                          httpx.Response(200)), sleeps=sleeps)
    client.request("GET", "/tasks")
    assert sleeps == [MAX_WAIT]


def test_429_without_retry_after_backs_off_exponentially() -> None:
    sleeps: list[float] = []
    client = make(answers(*[httpx.Response(429)] * 4, httpx.Response(200)), sleeps=sleeps)
    client.request("GET", "/tasks")
    assert len(sleeps) == 4
    for attempt, slept in enumerate(sleeps):
        assert 0.25 * 2 ** attempt <= slept <= 0.5 * 2 ** attempt


def test_create_is_retried_after_429_because_nothing_was_processed() -> None:
    client = make(answers(httpx.Response(429, headers={"retry-after": "0"}),
                          httpx.Response(200, json={"_id": "t"})))
    response = client.create_task("idx", video_file=sample_video())
    assert response.status_code == 200
    assert client.stats.retries == 1


def test_endless_429_raises_target_unavailable_once_the_patience_is_spent() -> None:
    calls: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"retry-after": "0"})
    # Patience is time waited, not attempts; an asked 0 still waits (and counts) 0.25 s.
    client = make(handler, patience=1.0, sleeps=sleeps)
    with pytest.raises(TargetUnavailable) as info:
        client.request("GET", "/tasks")
    assert len(calls) == 5 and sleeps == [0.25] * 4
    assert "429" in str(info.value) and "\n" not in str(info.value)
    assert "1.0 s of waiting" in str(info.value)
    assert client.stats.rate_limited == 5


def test_a_long_run_of_429s_is_waited_out_within_the_patience() -> None:
    sleeps: list[float] = []
    limited = httpx.Response(429, headers={"retry-after": "30"})
    client = make(answers(*[limited] * 9, httpx.Response(200, json={})), sleeps=sleeps)
    assert client.request("GET", "/tasks").status_code == 200
    assert sleeps == [30.0] * 9  # nine in a row: more than any small attempt count


def test_create_is_never_retried_after_a_connection_failure() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadError("connection reset")
    client = make(handler)
    with pytest.raises(TargetUnavailable) as info:
        client.create_task("idx", video_url="https://example.invalid/v.mp4")
    assert len(calls) == 1
    assert "ReadError" in str(info.value) and "\n" not in str(info.value)
    assert client.transcript.since(0)[0].error is not None


def test_reads_are_retried_after_connection_failures_and_can_succeed() -> None:
    client = make(answers(httpx.ReadError("reset"), httpx.ConnectError("refused"),
                          httpx.Response(200, json={"data": []})))
    assert client.request("GET", "/tasks").status_code == 200
    assert client.stats.retries == 2


def test_delete_is_sent_again_once_after_a_drop_and_at_will_when_never_connected() -> None:
    client = make(answers(httpx.ConnectError("refused"), httpx.ConnectError("refused"),
                          httpx.Response(204)))
    assert client.delete_task("a" * 24).status_code == 204
    calls: list[httpx.Request] = []

    def reset(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadError("reset after sending")
    with pytest.raises(TargetUnavailable):
        make(reset).delete_task("a" * 24)
    assert len(calls) == 2  # once more, and no more: it may have been carried out


def test_persistent_connection_failure_raises_target_unavailable() -> None:
    client = make(answers(httpx.ConnectError("refused")), max_retries=2)
    with pytest.raises(TargetUnavailable, match="ConnectError"):
        client.request("GET", "/tasks")
    assert client.stats.requests == 3


# -- what reaches the wire -----------------------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        _Recorder.seen.append((self.command, self.path, dict(self.headers.items())))
        body = b'{"code": "resource_not_exist", "message": "no such task"}'
        self.send_response(404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_DELETE = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def wire() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1.3"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("path", "on_wire"), [
    ("/tasks/..", "/v1.3/tasks/.."),
    ("/tasks/.", "/v1.3/tasks/."),
    ("/tasks/../../indexes", "/v1.3/tasks/../../indexes"),
    ("/tasks/%2F", "/v1.3/tasks/%2F"),
    ("/tasks/%2e%2e", "/v1.3/tasks/%2e%2e"),
    ("/tasks/a%2Fb%2F..", "/v1.3/tasks/a%2Fb%2F.."),
    ("/tasks/%zz", "/v1.3/tasks/%zz"),
    ("/tasks/", "/v1.3/tasks/"),
    ("/tasks//", "/v1.3/tasks//"),
    ("/tasks/é", "/v1.3/tasks/%C3%A9"),
    ("/tasks/a b", "/v1.3/tasks/a%20b"),
    ("/tasks/../x?page=..", "/v1.3/tasks/../x?page=.."),
])
def test_malformed_paths_reach_the_wire_unchanged(wire: str, path: str, on_wire: str) -> None:
    client = ApiClient(wire, Secret(KEY), transcript=Transcript())
    assert client.request("DELETE", path).status_code == 404
    assert _Recorder.seen[-1][1] == on_wire
    assert client.transcript.since(0)[-1].url == wire.removesuffix("/v1.3") + on_wire


def test_control_characters_cannot_be_sent_and_say_so() -> None:
    client = make(lambda r: httpx.Response(200))
    with pytest.raises(ValueError, match="cannot be sent"):
        client.request("GET", "/tasks/\x00")


def test_convenience_methods_quote_ids_whole() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(204)
    client = make(handler)
    client.delete_task("a/b?c")
    client.retrieve_task("..")
    client.delete_video("ix 1", "v/1")
    client.delete_index("ix")
    client.list_tasks(status=["ready", "failed"], page=2)
    assert paths == [b"/v1.3/tasks/a%2Fb%3Fc", b"/v1.3/tasks/..",
                     b"/v1.3/indexes/ix%201/videos/v%2F1", b"/v1.3/indexes/ix",
                     b"/v1.3/tasks?status=ready&status=failed&page=2"]


def test_create_task_is_multipart_even_without_a_file() -> None:
    bodies: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.headers["content-type"], request.read()))
        return httpx.Response(200, json={"_id": "t", "video_id": "v"})
    client = make(handler)
    client.create_task("idx", video_url="https://example.invalid/v.mp4",
                       enable_video_stream=False, user_metadata={"conformance_run": "r1"})
    client.create_task(None, video_file=("x.mp4", b"1234"))
    (type1, body1), (type2, body2) = bodies
    assert type1.startswith("multipart/form-data") and type2.startswith("multipart/form-data")
    assert b'name="index_id"' in body1 and b'name="enable_video_stream"\r\n\r\nfalse' in body1
    assert b'{"conformance_run": "r1"}' in body1
    assert b'name="index_id"' not in body2 and b'filename="x.mp4"' in body2


def test_no_key_client_sends_no_key_header() -> None:
    headers: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(dict(request.headers))
        return httpx.Response(401)
    client = make(handler)
    client.with_key(None).request("GET", "/tasks")
    client.request("GET", "/tasks")
    assert "x-api-key" not in headers[0] and headers[1]["x-api-key"] == KEY
    first, second = client.transcript.since(0)
    assert first.key_label == "none" and "x-api-key" not in first.curl()
    assert second.key_label == "primary"


# -- transcript and redaction ----------------------------------------------------------------

def test_transcript_keeps_every_exchange_from_many_threads() -> None:
    client = make(lambda r: httpx.Response(200, text="ok"))
    start = client.transcript.mark()
    threads = [threading.Thread(target=lambda: [client.request("GET", "/tasks")
                                                for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    middle = client.transcript.mark()
    client.request("DELETE", "/tasks/x")
    assert len(client.transcript.since(start)) == 101
    assert [e.method for e in client.transcript.since(middle)] == ["DELETE"]


def test_upload_is_summarised_in_the_transcript_not_dumped() -> None:
    client = make(lambda r: httpx.Response(200, json={"_id": "t"}))
    client.create_task("idx", video_file=("conformance-r-ready-1.mp4", sample_video()))
    exchange = client.transcript.since(0)[0]
    assert exchange.files == (("video_file", "conformance-r-ready-1.mp4", len(sample_video())),)
    assert f"<{len(sample_video())} bytes" in exchange.request_body
    assert len(exchange.request_body) < 300
    assert "-F video_file=@sample.mp4" in exchange.curl()
    assert "--form-string index_id=idx" in exchange.curl()


def test_long_answers_are_shortened_in_the_transcript_and_say_so() -> None:
    client = make(lambda r: httpx.Response(200, text="x" * (BODY_KEPT + 50_000)))
    assert len(client.request("GET", "/tasks").text) == BODY_KEPT + 50_000
    kept = client.transcript.since(0)[0]
    assert len(kept.response_body) < BODY_KEPT + 100 and kept.response_truncated


def test_the_key_appears_in_no_exchange_curl_repr_or_exception(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:
        # A careless target echoing the key back must not get it into the transcript.
        key = request.headers.get("x-api-key", "")
        if request.url.path.endswith("/boom"):
            raise httpx.ConnectError(f"cannot reach, key was {key}")
        return httpx.Response(401, headers={"x-echo": key},
                              json={"code": "api_key_invalid", "message": f"bad key {key}"})
    client = make(echo)
    responses = [client.request("GET", "/tasks"),
                 client.create_task("idx", video_file=sample_video(),
                                    user_metadata={"k": KEY}),
                 client.request("POST", "/indexes", json={"note": KEY}),
                 client.with_key(Secret(KEY + "x"), "invalid").request("GET", "/tasks")]
    with pytest.raises(TargetUnavailable) as info:
        client.request("GET", "/boom")
    texts = [repr(client), repr(client.unchecked()), str(info.value), repr(info.value),
             caplog.text]
    for exchange in client.transcript.since(0):
        texts += [repr(dataclasses.asdict(exchange)), exchange.curl()]
    texts += [repr(dict(r.request.headers)) for r in responses]
    assert len(client.transcript.since(0)) >= 8
    for text in texts:
        assert KEY not in text
    assert any("$TWELVELABS_API_KEY" in t for t in texts)


def test_curl_line_reproduces_the_request_with_the_key_from_the_environment(wire: str) -> None:
    client = ApiClient(wire, Secret(KEY), transcript=Transcript())
    client.request("DELETE", "/tasks/..")
    client.create_task("idx", video_file=sample_video())
    curl_delete, curl_create = (e.curl() for e in client.transcript.since(0))
    assert '-H "x-api-key: $TWELVELABS_API_KEY"' in curl_delete
    _Recorder.seen = []
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TWELVELABS_API_KEY": KEY}
    subprocess.run(["bash", "-c", curl_delete], env=env, check=True, capture_output=True,
                   timeout=10)
    method, path, headers = _Recorder.seen[-1]
    assert (method, path, headers["x-api-key"]) == ("DELETE", "/v1.3/tasks/..", KEY)
    assert "-F video_file=@sample.mp4" in curl_create


def test_a_checked_client_runs_the_answer_checks_it_was_handed_on_every_answer() -> None:
    from conformance import checks
    from conformance.clauses import ContractViolation
    client = ApiClient("http://127.0.0.1:9/v1.3", Secret(KEY), transcript=Transcript(),
                       transport=httpx.MockTransport(lambda r: httpx.Response(500)),
                       answer_checks=(checks.answer_is_not_a_server_error,))
    assert client.checked and client.with_key(None).checked
    assert not ApiClient("http://127.0.0.1:9/v1.3", None, transcript=Transcript()).checked
    with pytest.raises(ContractViolation) as info:
        client.request("GET", "/tasks")
    assert info.value.reproduce is not None and "--path-as-is" in info.value.reproduce
    assert client.unchecked().request("GET", "/tasks").status_code == 500
