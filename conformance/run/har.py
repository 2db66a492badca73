"""The run's exchanges as a HAR 1.2 file (``exchanges.har``): what a browser's network panel
or any HAR viewer opens, one entry per request sent (retries and 429s included), grouped
into one page per test.

Exchanges are redacted when they are recorded (keys as ``$TWELVELABS_API_KEY``); the file is
scrubbed once more as a whole before it is written, so no key of the run can reach it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import conformance
from conformance.wire.transcript import Exchange

__all__ = ["har_document", "write_har"]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 410: "Gone", 422: "Unprocessable Entity", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def write_har(path: Path, exchanges: Sequence[Exchange], tests: Sequence[tuple[int, str]],
              scrub: Callable[[str], str]) -> int:
    """Write the HAR of ``exchanges``; ``tests`` are (first transcript position, test id) in
    run order. Returns the number of bytes written.

    Written entry by entry, each scrubbed as text, so no more than one entry's text is in
    memory besides the transcript itself."""
    pages, owner = _pages(exchanges, tests)
    document = har_document([], [])
    document["log"]["pages"] = pages
    head, _, tail = json.dumps(document, ensure_ascii=False).partition('"entries": []')
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(scrub(head) + '"entries": [')
        for n, exchange in enumerate(exchanges):
            text = json.dumps(_entry(exchange, owner[n], n), ensure_ascii=False)
            out.write(("," if n else "") + scrub(text))
        out.write("]" + scrub(tail))
    return path.stat().st_size


def har_document(exchanges: Sequence[Exchange],
                 tests: Sequence[tuple[int, str]]) -> dict[str, Any]:
    pages, owner = _pages(exchanges, tests)
    entries = [_entry(e, owner[n], n) for n, e in enumerate(exchanges)]
    return {"log": {"version": "1.2",
                    "creator": {"name": "tasks-conformance", "version": conformance.__version__},
                    "pages": pages, "entries": entries,
                    "comment": "Keys are written as $TWELVELABS_API_KEY and "
                               "$TWELVELABS_SECOND_API_KEY; nothing a key was is kept."}}


def _pages(exchanges: Sequence[Exchange], tests: Sequence[tuple[int, str]],
           ) -> tuple[list[dict[str, Any]], list[str | None]]:
    """One page per test that sent something, and the page of each exchange (a test's
    exchanges run from its first position to the next test's)."""
    # Stable on position: of tests that share a first position, the last one run sent them.
    starts = sorted(tests, key=lambda t: t[0])
    pages = []
    owner: list[str | None] = [None] * len(exchanges)
    for n, (first, nodeid) in enumerate(starts):
        last = starts[n + 1][0] if n + 1 < len(starts) else len(exchanges)
        if first >= last:
            continue
        for position in range(first, last):
            owner[position] = nodeid
        pages.append({"startedDateTime": _when(exchanges[first].started_wall),
                      "id": nodeid, "title": nodeid, "pageTimings": {}})
    return pages, owner


def _when(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds")


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers.items()]


def _entry(exchange: Exchange, page: str | None, position: int) -> dict[str, Any]:
    url = exchange.url
    query = [{"name": k, "value": v}
             for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    request: dict[str, Any] = {
        "method": exchange.method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _headers(exchange.request_headers), "queryString": query,
        "headersSize": -1, "bodySize": len(exchange.request_body.encode()) if
        exchange.request_body and not (exchange.form or exchange.files) else -1}
    if exchange.form or exchange.files:
        params = [{"name": k, "value": v} for k, v in exchange.form]
        params += [{"name": k, "fileName": name, "contentType": "application/octet-stream",
                    "value": f"({size} bytes, not kept)"} for k, name, size in exchange.files]
        request["postData"] = {"mimeType": "multipart/form-data", "params": params,
                               "text": exchange.request_body}
    elif exchange.request_body:
        mime = exchange.request_headers.get("content-type", "application/octet-stream")
        request["postData"] = {"mimeType": mime, "params": [], "text": exchange.request_body}
    status = exchange.status or 0
    body = exchange.response_body
    content: dict[str, Any] = {"size": len(body.encode()),
                               "mimeType": _header(exchange.response_headers, "content-type"),
                               "text": body}
    if exchange.response_truncated:
        content["comment"] = "shortened: the answer was longer than the transcript keeps"
    entry: dict[str, Any] = {
        "startedDateTime": _when(exchange.started_wall), "time": exchange.elapsed_ms,
        "request": request,
        "response": {"status": status, "statusText": _REASONS.get(status, ""),
                     "httpVersion": "HTTP/1.1", "cookies": [],
                     "headers": _headers(exchange.response_headers), "content": content,
                     "redirectURL": _header(exchange.response_headers, "location"),
                     "headersSize": -1, "bodySize": len(body.encode()) if body else 0},
        "cache": {}, "timings": {"send": 0, "wait": exchange.elapsed_ms, "receive": 0},
        "_conformance": {"position": position, "key": exchange.key_label,
                         "attempt": exchange.attempt},
    }
    if page is not None:
        entry["pageref"] = page
    if exchange.error:
        entry["_conformance"]["error"] = exchange.error
        entry["response"]["_error"] = exchange.error
    return entry


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")
