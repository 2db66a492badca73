"""The required structure of a HAR 1.2 file (W3C Web Performance group's draft "HTTP Archive
(HAR) format", version 1.2), as a JSON Schema: what a browser's HAR viewer needs to open it.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_PAIRS = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                                     "properties": {"name": {"type": "string"},
                                                    "value": {"type": "string"}}}}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}
_TIMING = {"type": "number", "minimum": -1}

HAR_1_2: dict[str, Any] = {
    "type": "object", "required": ["log"],
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"],
                        "properties": {"name": {"type": "string"},
                                       "version": {"type": "string"}}},
            "pages": {"type": "array", "items": {
                "type": "object", "required": ["startedDateTime", "id", "title", "pageTimings"],
                "properties": {"startedDateTime": _DATE, "id": {"type": "string"},
                               "title": {"type": "string"},
                               "pageTimings": {"type": "object"}}}},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache",
                             "timings"],
                "properties": {
                    "pageref": {"type": "string"},
                    "startedDateTime": _DATE, "time": {"type": "number", "minimum": 0},
                    "request": {
                        "type": "object",
                        "required": ["method", "url", "httpVersion", "cookies", "headers",
                                     "queryString", "headersSize", "bodySize"],
                        "properties": {
                            "method": {"type": "string"}, "url": {"type": "string"},
                            "httpVersion": {"type": "string"}, "cookies": {"type": "array"},
                            "headers": _PAIRS, "queryString": _PAIRS,
                            "postData": {"type": "object", "required": ["mimeType"],
                                         "properties": {"mimeType": {"type": "string"},
                                                        "params": {"type": "array"},
                                                        "text": {"type": "string"}}},
                            "headersSize": {"type": "integer"},
                            "bodySize": {"type": "integer"}}},
                    "response": {
                        "type": "object",
                        "required": ["status", "statusText", "httpVersion", "cookies",
                                     "headers", "content", "redirectURL", "headersSize",
                                     "bodySize"],
                        "properties": {
                            "status": {"type": "integer"}, "statusText": {"type": "string"},
                            "httpVersion": {"type": "string"}, "cookies": {"type": "array"},
                            "headers": _PAIRS,
                            "content": {"type": "object", "required": ["size", "mimeType"],
                                        "properties": {"size": {"type": "integer"},
                                                       "mimeType": {"type": "string"},
                                                       "text": {"type": "string"}}},
                            "redirectURL": {"type": "string"},
                            "headersSize": {"type": "integer"},
                            "bodySize": {"type": "integer"}}},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"],
                                "properties": {"send": _TIMING, "wait": _TIMING,
                                               "receive": _TIMING}}}}}}}},
}


def har_problems(document: Any) -> list[str]:
    """What keeps ``document`` from being a HAR 1.2 log (empty: nothing)."""
    validator = jsonschema.Draft202012Validator(HAR_1_2)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(document)]
    if problems:
        return problems[:20]
    log = document["log"]
    pages = {page["id"] for page in log.get("pages", [])}
    for n, entry in enumerate(log["entries"]):
        if "pageref" in entry and entry["pageref"] not in pages:
            problems.append(f"entries/{n}: pageref {entry['pageref']!r} names no page")
        timings = [v for k, v in entry["timings"].items() if k in ("blocked", "dns", "connect",
                   "send", "wait", "receive", "ssl") and v != -1]
        if abs(sum(timings) - entry["time"]) > 0.01:
            problems.append(f"entries/{n}: time {entry['time']} is not the sum of its timings")
    return problems
