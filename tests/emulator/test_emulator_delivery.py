"""How answers travel: latency, gzip, chunked transfer and Connection: close. Framing is the
server's business, so those are checked on a loopback uvicorn, the rest in process."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from emulator_support import MODELS, Api

from conformance.emulator import DEFAULT_API_KEY, create_app
from conformance.emulator.context import LATENCY_ENV
from conformance.emulator.delivery import admits_gzip
from conformance.emulator.server import RunningServer, start_in_thread

KEY = {"x-api-key": DEFAULT_API_KEY}


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    running: list[RunningServer] = []

    def start(**options) -> RunningServer:
        running.append(start_in_thread(create_app(**options)))
        return running[-1]

    yield start
    for server in running:
        server.stop()


def _exchange(server: RunningServer, request: str, timeout: float = 5.0) -> bytes:
    """Send raw HTTP/1.1 and read until the server closes (or the timeout says it did not)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _get(path: str, *headers: str) -> str:
    lines = [f"GET /v1.3/{path} HTTP/1.1", "Host: emulator", f"x-api-key: {DEFAULT_API_KEY}",
             *headers]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_connection_close_announces_it_and_closes_after_the_answer(
        serve: Callable[..., RunningServer]) -> None:
    server = serve(variations=["connection-close"])
    # a keep-alive request: only the server closing ends the read before the timeout
    answer = _exchange(server, _get("tasks", "Connection: keep-alive"))
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200") and b"\r\nconnection: close" in head


def test_without_connection_close_the_connection_stays_open(
        serve: Callable[..., RunningServer]) -> None:
    with pytest.raises(TimeoutError):
        _exchange(serve(), _get("tasks"), timeout=0.5)


def test_chunked_sends_json_answers_without_content_length(
        serve: Callable[..., RunningServer]) -> None:
    server = serve(variations=["chunked", "connection-close"])
    for path in ("tasks", "tasks/0123456789abcdef01234567"):
        head, body = _exchange(server, _get(path)).split(b"\r\n\r\n", 1)
        assert b"transfer-encoding: chunked" in head.lower()
        assert b"content-length" not in head.lower()
        assert body.endswith(b"\r\n0\r\n\r\n") and body.count(b"\r\n") >= 6  # two chunks


def test_chunked_leaves_204_answers_bodiless(serve: Callable[..., RunningServer]) -> None:
    import httpx

    server = serve(variations=["chunked"])
    with httpx.Client(base_url=server.base_url + "/", headers=KEY, timeout=10) as client:
        index = client.post("indexes", json={"index_name": "c", "models": MODELS})
        assert index.headers.get("transfer-encoding") == "chunked"
        deleted = client.delete(f"indexes/{index.json()['_id']}")
        assert deleted.status_code == 204 and deleted.content == b""
        assert "transfer-encoding" not in deleted.headers


def test_gzip_compresses_even_tiny_bodies_when_the_client_admits_it(
        make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["gzip"])
    raw = api.request("GET", "tasks", headers={"accept-encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and raw.headers["vary"] == "Accept-Encoding"
    assert raw.json()["data"] == []  # httpx decodes it
    error = api.retrieve("0123456789abcdef01234567")
    assert error.headers["content-encoding"] == "gzip" and error.json()["code"]
    plain = api.request("GET", "tasks", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["data"] == []


def test_gzip_leaves_204_answers_bodiless(make_api: Callable[..., Api]) -> None:
    api = make_api(variations=["gzip"])
    index = api.create_index()
    answer = api.request("DELETE", f"indexes/{index}", headers={"accept-encoding": "gzip"})
    assert answer.status_code == 204 and answer.content == b""
    assert "content-encoding" not in answer.headers


def test_gzip_on_the_wire_is_real_gzip(serve: Callable[..., RunningServer]) -> None:
    server = serve(variations=["gzip", "chunked", "connection-close"])
    head, body = _exchange(server, _get("tasks", "Accept-Encoding: gzip")).split(b"\r\n\r\n", 1)
    assert b"content-encoding: gzip" in head.lower()
    chunks, rest = [], body
    while (size := int(rest.split(b"\r\n", 1)[0], 16)) > 0:
        data = rest.split(b"\r\n", 1)[1]
        chunks.append(data[:size])
        rest = data[size + 2:]
    assert gzip.decompress(b"".join(chunks)).startswith(b'{"data":[]')


@pytest.mark.parametrize(("header", "admitted"), [
    ("gzip", True), ("gzip, deflate, br", True), ("deflate", False), ("identity", False),
    ("*", True), ("gzip;q=0", False), ("gzip;q=0, *", False), ("*;q=0", False),
    ("deflate, *;q=0.1", True), ("GZIP; Q=0.5", True), ("gzip;q=zero", False), ("", False),
])
def test_accept_encoding_is_read_with_weights(header: str, admitted: bool) -> None:
    assert admits_gzip([header]) is admitted


def test_latency_delays_every_answer_but_concurrent_requests_overlap(
        make_api: Callable[..., Api]) -> None:
    api = make_api(latency=0.3)
    started = time.monotonic()
    assert api.list().status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    answers = api.http.concurrently(*[("GET", "/v1.3/tasks", {"headers": KEY})] * 4)
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 4
    assert 0.3 <= elapsed < 0.9  # four in a row would take 1.2 s


def test_latency_comes_from_the_environment_unless_given(
        make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LATENCY_ENV, "0.2")
    started = time.monotonic()
    make_api().list()
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    make_api(latency=0).list()
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_a_bad_latency_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(LATENCY_ENV, value)
    with pytest.raises(ValueError, match=LATENCY_ENV):
        create_app()
    monkeypatch.delenv(LATENCY_ENV)
    with pytest.raises(ValueError, match="latency"):
        create_app(latency=float(value) if value != "soon" else -0.5)
