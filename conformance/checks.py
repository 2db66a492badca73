"""Contract checks: plain functions that raise ContractViolation naming the clause they guard."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx

from conformance.clauses import ContractViolation

TASK_STATUSES = ("uploading", "validating", "pending", "queued", "indexing", "ready", "failed")
FINAL_STATUSES = frozenset({"ready", "failed"})
# Position in the documented lifecycle; ready and failed share the last rank so that one
# can never follow the other.
_RANK = {s: i for i, s in enumerate(TASK_STATUSES[:-1])} | {"failed": TASK_STATUSES.index("ready")}
HLS_STATUSES = ("PROCESSING", "COMPLETE", "CANCELED", "ERROR")
REQUIRED_TASK_FIELDS = ("_id", "index_id", "status", "created_at", "updated_at")
MAX_PAGE_LIMIT = 50
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


# --- helpers --------------------------------------------------------------------------------

def reproduce_line(response: httpx.Response | None) -> str | None:
    """A curl line for the exchange behind ``response``, the key never spelled out."""
    if response is None:
        return None
    exchange = response.extensions.get("conformance.exchange")  # set by ApiClient
    if exchange is not None and hasattr(exchange, "curl"):
        return str(exchange.curl())
    try:
        request = response.request
    except RuntimeError:
        return None
    line = f"curl -X {request.method} '{request.url}'"
    if "x-api-key" in request.headers:
        line += ' -H "x-api-key: $TWELVELABS_API_KEY"'
    return line


def _fail(clause_id: str, message: str, response: httpx.Response | None = None) -> None:
    raise ContractViolation(clause_id, message, reproduce=reproduce_line(response))


def _what(response: httpx.Response, limit: int = 300) -> str:
    """The answer in one short phrase: status, content type, start of the body."""
    body = response.content[:limit].decode("utf-8", "replace")
    more = "..." if len(response.content) > limit else ""
    ctype = response.headers.get("content-type", "no content type")
    return f"{response.status_code} ({ctype}) {body!r}{more}" if body else \
        f"{response.status_code} ({ctype}) with an empty body"


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _where(response: httpx.Response) -> str:
    try:
        return f"{response.request.method} {response.request.url.path}"
    except RuntimeError:
        return "the request"


def _error_code(response: httpx.Response) -> Any:
    body = _json(response)
    return body.get("code") if isinstance(body, dict) else None


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        _parse_time(value)
    except ValueError:
        return False
    return True


def _parse_time(value: str) -> datetime:
    text = value.upper().replace("Z", "+00:00")
    # Python before 3.11 accepted at most 6 fraction digits; normalise to stay portable.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


# --- every answer ---------------------------------------------------------------------------

def answer_is_not_a_server_error(response: httpx.Response) -> None:
    """NO-5XX: no request is answered with a 5xx."""
    if response.status_code >= 500:
        _fail("NO-5XX", f"{_where(response)}: expected any answer but a server error, "
              f"got {_what(response)}", response)


def error_answer_has_envelope(response: httpx.Response) -> None:
    """ERR-ENVELOPE: a 4xx is JSON with string code and message (a 429 may be bodiless)."""
    status = response.status_code
    if not 400 <= status < 500:
        return
    if status == 429 and not response.content.strip():
        return
    ctype = response.headers.get("content-type", "")
    mime = ctype.split(";", 1)[0].strip().lower()
    expected = f"{_where(response)}: expected a {status} with a JSON body " \
               "{\"code\": string, \"message\": string}"
    if mime != "application/json":
        _fail("ERR-ENVELOPE", f"{expected}, got content type {ctype or 'none'}: "
              f"{_what(response)}", response)
    problem = _error_body_problem(response)
    if problem is not None:
        _fail("ERR-ENVELOPE", f"{expected}, {problem}: {_what(response)}", response)


def _error_body_problem(response: httpx.Response) -> str | None:
    """What keeps the body from being read as {code, message}; None when it can be.

    The declared content type is not looked at: that is ERR-ENVELOPE's business alone, and
    a clause about the status or the code must not fail twice for it."""
    body = _json(response)
    if not isinstance(body, dict):
        return "but the body is not a JSON object"
    for name in ("code", "message"):
        if not isinstance(body.get(name), str):
            return f"but {name!r} is {'missing' if name not in body else repr(body[name])}"
    return None


def _client_error(response: httpx.Response, clause_id: str, expected: str,
                  allowed: Iterable[int] | None = None) -> None:
    """The answer is a 4xx (or one of ``allowed``) whose body reads as {code, message}.

    ``expected`` names the status wanted; the error body is asked for here, once."""
    status = response.status_code
    ok = status in set(allowed) if allowed is not None else 400 <= status < 500
    if not ok:
        _fail(clause_id, f"{_where(response)}: expected {expected} with an error body, got "
              f"{_what(response)}", response)
    problem = _error_body_problem(response)
    if problem is not None:
        _fail(clause_id, f"{_where(response)}: expected {expected} with an error body "
              f"{{\"code\": string, \"message\": string}}, {problem}: {_what(response)}",
              response)


# --- deletes --------------------------------------------------------------------------------

def delete_answer_is_204_without_body(response: httpx.Response) -> None:
    """DEL-204 then DEL-EMPTY: exactly 204, no Content-Length but 0, zero bytes."""
    if response.status_code != 204:
        _fail("DEL-204", f"{_where(response)}: expected exactly 204 No Content, "
              f"got {_what(response)}", response)
    length = response.headers.get("content-length")
    if length is not None and length.strip() != "0":
        _fail("DEL-EMPTY", f"{_where(response)}: expected a 204 without Content-Length or "
              f"with 0, got Content-Length: {length}", response)
    if response.content:
        _fail("DEL-EMPTY", f"{_where(response)}: expected a 204 with zero body bytes, got "
              f"{len(response.content)} bytes: {response.content[:200]!r}", response)


def delete_is_refused(response: httpx.Response, clause_id: str = "DEL-TERMINAL-ONLY") -> None:
    """A refused delete is exactly 400 with the error envelope."""
    _client_error(response, clause_id, "a refusal: 400", allowed=(400,))


def refusal_code_is_task_cannot_be_deleted(response: httpx.Response) -> None:
    """DEL-REFUSAL-CODE: the refusal says task_cannot_be_deleted."""
    code = _error_code(response)
    if code != "task_cannot_be_deleted":
        _fail("DEL-REFUSAL-CODE", f"{_where(response)}: expected code "
              f"'task_cannot_be_deleted' on a refused delete, got code {code!r}: "
              f"{_what(response)}", response)


def answer_says_task_is_gone(response: httpx.Response, clause_id: str = "DEL-GONE") -> None:
    """A deleted task reads as 404 or 400 with code resource_not_exist."""
    _client_error(response, clause_id, "404 or 400 (code 'resource_not_exist')",
                  allowed=(400, 404))
    code = _error_code(response)
    if code != "resource_not_exist":
        _fail(clause_id, f"{_where(response)}: expected code 'resource_not_exist', got "
              f"{code!r}: {_what(response)}", response)


def second_delete_is_not_accepted(response: httpx.Response) -> None:
    """DEL-GONE: deleting a deleted task again is 404 or 400, never 2xx."""
    _client_error(response, "DEL-GONE", "404 or 400 for a task that is already deleted",
                  allowed=(400, 404))


def unknown_id_answer_is_not_found(response: httpx.Response,
                                   clause_id: str = "DEL-UNKNOWN") -> None:
    """An ID that never existed answers 404 or 400 with an error body."""
    _client_error(response, clause_id, "404 or 400 for an ID that never existed",
                  allowed=(400, 404))


def malformed_id_answer_is_client_error(response: httpx.Response) -> None:
    """DEL-MALFORMED: a malformed ID answers any 4xx with an error body."""
    _client_error(response, "DEL-MALFORMED", "a 4xx for a malformed ID")


# --- auth and isolation ---------------------------------------------------------------------

def answer_is_unauthorized(response: httpx.Response) -> None:
    """AUTH-REQUIRED: a missing or invalid key answers 401 with an error body."""
    _client_error(response, "AUTH-REQUIRED", "401", allowed=(401,))


def foreign_access_is_refused(response: httpx.Response) -> None:
    """TENANT-ISOLATION: another account's key gets a 4xx for this task."""
    _client_error(response, "TENANT-ISOLATION", "a 4xx (the task belongs to another account)")
    if _error_code(response) == "task_cannot_be_deleted":
        # This code means the target looked at the task's state on behalf of a stranger.
        _fail("TENANT-ISOLATION", f"{_where(response)}: expected the task to be invisible to "
              f"another account, but the refusal judged its state: {_what(response)}",
              response)


def list_does_not_show(bodies: Iterable[Mapping[str, Any]], task_id: str,
                       clause_id: str, why: str) -> None:
    """No list page shows ``task_id``."""
    for number, body in enumerate(bodies, start=1):
        for item in body.get("data") or []:
            if isinstance(item, Mapping) and item.get("_id") == task_id:
                _fail(clause_id, f"expected task {task_id} absent from every list page "
                      f"({why}), but page {number} lists it: {item}")


# --- the task object ------------------------------------------------------------------------

def task_object_is_well_formed(body: Any, *, in_list: bool = False,
                               response: httpx.Response | None = None) -> None:
    """TASK-SHAPE (LIST-SHAPE for list items): documented fields have documented types."""
    clause_id = "LIST-SHAPE" if in_list else "TASK-SHAPE"
    where = "a list item" if in_list else "the task object"

    def bad(message: str) -> None:
        _fail(clause_id, f"{where}: {message}; got {json.dumps(body)[:400]}", response)

    if not isinstance(body, Mapping):
        bad("expected a JSON object")
        return
    for name in REQUIRED_TASK_FIELDS:
        if name not in body or body[name] is None:
            bad(f"expected the required field {name!r}")
    for name in ("_id", "index_id"):
        if not isinstance(body[name], str) or not body[name]:
            bad(f"expected {name!r} to be a non-empty string")
    if "video_id" in body and body["video_id"] is not None \
            and not isinstance(body["video_id"], str):
        bad("expected 'video_id' to be a string")
    if body["status"] not in TASK_STATUSES:
        bad(f"expected 'status' to be one of {', '.join(TASK_STATUSES)}")
    for name in ("created_at", "updated_at"):
        if not _is_date_time(body[name]):
            bad(f"expected {name!r} to be an RFC 3339 date-time")
    meta = body.get("system_metadata")
    if meta is not None:
        if not isinstance(meta, Mapping):
            bad("expected 'system_metadata' to be an object")
        kinds = {"filename": (lambda v: isinstance(v, str), "a string"),
                 "duration": (_is_number, "a number"),
                 "width": (_is_int, "an integer"), "height": (_is_int, "an integer")}
        for name, (test, kind) in kinds.items():
            if meta.get(name) is not None and not test(meta[name]):
                bad(f"expected system_metadata.{name} to be {kind}")
    if "hls" in body and in_list:
        bad("expected no 'hls' in list items (it is returned on retrieve only)")
    hls = body.get("hls")
    if hls is not None:
        _hls_is_well_formed(hls, bad)


def _hls_is_well_formed(hls: Any, bad: Any) -> None:
    if not isinstance(hls, Mapping):
        bad("expected 'hls' to be an object")
    if hls.get("video_url") is not None and not isinstance(hls["video_url"], str):
        bad("expected hls.video_url to be a string")
    urls = hls.get("thumbnail_urls")
    if urls is not None and (not isinstance(urls, list)
                             or not all(isinstance(u, str) for u in urls)):
        bad("expected hls.thumbnail_urls to be an array of strings")
    if hls.get("status") is not None and hls["status"] not in HLS_STATUSES:
        bad(f"expected hls.status to be one of {', '.join(HLS_STATUSES)}")
    if hls.get("updated_at") is not None and not _is_date_time(hls["updated_at"]):
        bad("expected hls.updated_at to be an RFC 3339 date-time")


def retrieve_answer_is_task(response: httpx.Response, task_id: str,
                            clause_id: str = "TASK-SHAPE") -> dict[str, Any]:
    """Retrieve answers 200 with a well-formed task object carrying ``task_id``."""
    if response.status_code != 200:
        _fail(clause_id, f"{_where(response)}: expected 200 with the task, got "
              f"{_what(response)}", response)
    body = _json(response)
    task_object_is_well_formed(body, response=response)
    if body["_id"] != task_id:
        _fail(clause_id, f"expected the task {task_id}, got _id {body['_id']!r}", response)
    return dict(body)


def task_is_unchanged(before: Mapping[str, Any], response: httpx.Response,
                      clause_id: str) -> None:
    """The task still exists with the same identity, and its status did not go backwards."""
    what = f"task {before.get('_id')} unchanged"
    if response.status_code != 200:
        _fail(clause_id, f"expected the {what} and retrievable (200), got "
              f"{_what(response)}", response)
    after = _json(response)
    if not isinstance(after, Mapping):
        _fail(clause_id, f"expected the {what}, got {_what(response)}", response)
    for name in ("_id", "index_id", "video_id", "created_at"):
        if before.get(name) != after.get(name):
            _fail(clause_id, f"expected the {what}, but {name} went from "
                  f"{before.get(name)!r} to {after.get(name)!r}", response)
    statuses_move_forward([str(before.get("status")), str(after.get("status"))],
                          clause_id=clause_id, subject=f"task {before.get('_id')}")


# --- lifecycle ------------------------------------------------------------------------------

def statuses_move_forward(statuses: Sequence[str], *, clause_id: str = "TASK-LIFECYCLE",
                          subject: str = "the task") -> None:
    """TASK-LIFECYCLE: observed statuses never go back, and a final status stays final."""
    previous: str | None = None
    for status in statuses:
        if status not in _RANK:
            _fail(clause_id, f"{subject}: expected only documented statuses, observed "
                  f"{status!r} in {list(statuses)}")
        if previous is not None and status != previous:
            if previous in FINAL_STATUSES:
                _fail(clause_id, f"{subject}: expected the final status {previous!r} to stay, "
                      f"observed {list(statuses)}")
            if _RANK[status] < _RANK[previous]:
                _fail(clause_id, f"{subject}: expected statuses to move forward only "
                      f"({' -> '.join(TASK_STATUSES[:-1])} | failed), observed "
                      f"{list(statuses)}")
        previous = status


def task_timestamps_are_ordered(body: Mapping[str, Any],
                                response: httpx.Response | None = None) -> None:
    """TASK-LIFECYCLE: updated_at is not before created_at."""
    created, updated = body.get("created_at"), body.get("updated_at")
    if not (_is_date_time(created) and _is_date_time(updated)):
        _fail("TASK-LIFECYCLE", f"task {body.get('_id')}: expected RFC 3339 created_at and "
              f"updated_at, got {created!r} and {updated!r}", response)
    if _parse_time(str(updated)) < _parse_time(str(created)):
        _fail("TASK-LIFECYCLE", f"task {body.get('_id')}: expected updated_at >= created_at, "
              f"got created_at {created} and updated_at {updated}", response)


# --- create ---------------------------------------------------------------------------------

def create_answer_is_ok(response: httpx.Response) -> dict[str, Any]:
    """CREATE-OK: 200 with string _id and video_id."""
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        _fail("CREATE-OK", f"{_where(response)}: expected 200 with {{_id, video_id}}, got "
              f"{_what(response)}", response)
    for name in ("_id", "video_id"):
        if not isinstance(body.get(name), str) or not body[name]:
            _fail("CREATE-OK", f"expected {name!r} to be a non-empty string in the create "
                  f"answer, got {_what(response)}", response)
    return body


def create_is_rejected(response: httpx.Response) -> None:
    """CREATE-REJECTS: an incomplete create answers a 4xx error body."""
    _client_error(response, "CREATE-REJECTS", "a 4xx (nothing created)")


# --- list -----------------------------------------------------------------------------------

def list_answer_is_well_formed(response: httpx.Response) -> dict[str, Any]:
    """LIST-SHAPE: 200 {data: [task without hls], page_info} with limit_per_page <= 50."""
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        _fail("LIST-SHAPE", f"{_where(response)}: expected 200 with {{data, page_info}}, got "
              f"{_what(response)}", response)
    if not isinstance(body.get("data"), list):
        _fail("LIST-SHAPE", f"expected 'data' to be an array, got {_what(response)}", response)
    info = body.get("page_info")
    if not isinstance(info, dict):
        _fail("LIST-SHAPE", f"expected a 'page_info' object, got {_what(response)}", response)
    for name in ("limit_per_page", "page", "total_page", "total_results"):
        if not _is_int(info.get(name)):
            _fail("LIST-SHAPE", f"expected page_info.{name} to be an integer, got "
                  f"{info.get(name)!r}", response)
    if info["limit_per_page"] > MAX_PAGE_LIMIT:
        _fail("LIST-SHAPE", f"expected page_info.limit_per_page <= {MAX_PAGE_LIMIT}, got "
              f"{info['limit_per_page']}", response)
    for item in body["data"]:
        task_object_is_well_formed(item, in_list=True, response=response)
    return body


def list_body(response: httpx.Response, clause_id: str) -> dict[str, Any]:
    """The parts of a list answer a filter, sort or paging check reads, judged under
    ``clause_id``; the full shape is LIST-SHAPE's business."""
    body = _json(response)
    readable = (response.status_code == 200 and isinstance(body, dict)
                and isinstance(body.get("data"), list) and isinstance(body.get("page_info"), dict)
                and all(isinstance(i, dict) and isinstance(i.get("_id"), str)
                        for i in body["data"]))
    if not readable:
        _fail(clause_id, f"{_where(response)}: expected 200 with {{data: [task], page_info}}, "
              f"got {_what(response)}", response)
    for name in ("limit_per_page", "page", "total_page", "total_results"):
        if not _is_int(body["page_info"].get(name)):
            _fail(clause_id, f"expected page_info.{name} to be an integer, got "
                  f"{body['page_info'].get(name)!r}", response)
    return dict(body)


def pages_partition_the_set(pages: Sequence[Mapping[str, Any]], limit: int,
                            expected_ids: set[str] | None = None) -> list[str]:
    """LIST-PAGING: consecutive pages hold every task once; totals agree with the items."""
    seen: list[str] = []
    totals = {p["page_info"]["total_results"] for p in pages}
    if len(totals) != 1:
        _fail("LIST-PAGING", f"expected total_results to stay the same across pages, got "
              f"{sorted(totals)}")
    total = totals.pop()
    for number, page in enumerate(pages, start=1):
        ids = [item["_id"] for item in page["data"]]
        if len(ids) > limit:
            _fail("LIST-PAGING", f"page {number}: expected at most {limit} items, got {len(ids)}")
        if page is not pages[-1] and len(ids) != limit:
            _fail("LIST-PAGING", f"page {number}: expected a full page of {limit} items before "
                  f"the last page, got {len(ids)}")
        again = [i for i in ids if i in seen]
        if again:
            _fail("LIST-PAGING", f"page {number}: expected no task on two pages, got "
                  f"{again} again")
        seen.extend(ids)
    if len(seen) != total:
        _fail("LIST-PAGING", f"expected total_results ({total}) tasks over all pages, got "
              f"{len(seen)}")
    expected_pages = math.ceil(total / limit) if limit else 0
    total_page = pages[0]["page_info"]["total_page"]
    if total_page != expected_pages:
        _fail("LIST-PAGING", f"expected total_page = ceil({total} / {limit}) = "
              f"{expected_pages}, got {total_page}")
    if expected_ids is not None and set(seen) != expected_ids:
        _fail("LIST-PAGING", f"expected the pages to hold exactly the tasks of one big page; "
              f"missing {sorted(expected_ids - set(seen))}, extra "
              f"{sorted(set(seen) - expected_ids)}")
    return seen


def page_past_the_end_is_empty(response: httpx.Response) -> None:
    """LIST-PAGING: a page past the end answers 200 with empty data."""
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or body.get("data") != []:
        _fail("LIST-PAGING", f"{_where(response)}: expected 200 with empty data for a page "
              f"past the end (pagers stop on an empty page), got {_what(response)}", response)


def list_items_match(body: Mapping[str, Any], *, index_id: str | None = None,
                     statuses: Iterable[str] | None = None,
                     response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT: filtered lists hold only matching tasks."""
    wanted = set(statuses) if statuses is not None else None
    for item in body.get("data") or []:
        if index_id is not None and item.get("index_id") != index_id:
            _fail("LIST-FILTER-SORT", f"expected only tasks of index {index_id}, got task "
                  f"{item.get('_id')} of index {item.get('index_id')!r}", response)
        if wanted is not None and item.get("status") not in wanted:
            _fail("LIST-FILTER-SORT", f"expected only tasks with status in {sorted(wanted)}, "
                  f"got task {item.get('_id')} with status {item.get('status')!r}", response)


def list_items_are_sorted(body: Mapping[str, Any], sort_by: str, sort_option: str,
                          response: httpx.Response | None = None) -> None:
    """LIST-FILTER-SORT: the items follow sort_by in sort_option order."""
    values = [_parse_time(item[sort_by]) for item in body.get("data") or []]
    pairs = list(pairwise(values))
    broken = [p for p in pairs if (p[0] > p[1] if sort_option == "asc" else p[0] < p[1])]
    if broken:
        shown = [item.get(sort_by) for item in body["data"]]
        _fail("LIST-FILTER-SORT", f"expected items sorted by {sort_by} {sort_option}, got "
              f"{shown}", response)


def oversized_page_limit_is_refused_or_clamped(response: httpx.Response) -> None:
    """LIST-FILTER-SORT: page_limit above 50 answers 400 or a page of at most 50."""
    if response.status_code == 400:
        _client_error(response, "LIST-FILTER-SORT", "400", allowed=(400,))
        return
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        _fail("LIST-FILTER-SORT", f"{_where(response)}: expected 400 or 200 clamped to "
              f"{MAX_PAGE_LIMIT} for page_limit above {MAX_PAGE_LIMIT}, got "
              f"{_what(response)}", response)
    limit = (body.get("page_info") or {}).get("limit_per_page")
    too_many = len(body.get("data") or []) > MAX_PAGE_LIMIT
    if not isinstance(limit, int) or limit > MAX_PAGE_LIMIT or too_many:
        _fail("LIST-FILTER-SORT", f"expected the page clamped to {MAX_PAGE_LIMIT}, got "
              f"limit_per_page {limit!r} and {len(body.get('data') or [])} items", response)
