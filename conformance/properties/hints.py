"""Generation hints in ``specs/``: the contract's view of the description, and whether a request
broke anything but hints.

A schema's ``x-hints`` names constraints that only steer generation (a bound the vendor's
documentation does not state, a format no clause enforces). The suite may require a target to
refuse a request only for what remains once hints are removed (contract.md, "What the suite
may judge from the OpenAPI description"): a request that breaks nothing else may be answered
400 with the envelope or 200 with a valid answer.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from conformance.spec import load_spec, spec_path

__all__ = ["HINTS_KEY", "breaks_only_hints", "contract_view", "query_as_read"]

HINTS_KEY = "x-hints"
MAX_PAGE_LIMIT = 50
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def contract_view(document: Any) -> Any:
    """A copy of an OpenAPI document with every hinted constraint (and ``x-hints``) removed."""
    if isinstance(document, list):
        return [contract_view(item) for item in document]
    if not isinstance(document, Mapping):
        return copy.deepcopy(document)
    hinted = set(document.get(HINTS_KEY) or ())
    return {key: contract_view(value) for key, value in document.items()
            if key != HINTS_KEY and key not in hinted}


@cache
def _judged_schema() -> Any:
    """The spec as schemathesis reads it, with hints removed: what a refusal may be asked for."""
    return schemathesis.openapi.from_dict(contract_view(load_spec(spec_path())))


def query_as_read(url: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The declared parameters of the query a target received, as it reads them: repeated keys
    of array parameters become lists, numerals of integer and number parameters become
    numbers, anything else stays text. A value the client dropped (``None``) was never sent,
    and an undeclared parameter is backed by no clause: neither is judged."""
    read: dict[str, Any] = {}
    for name, texts in parse_qs(urlsplit(url).query, keep_blank_values=True).items():
        if name not in properties:
            continue
        schema = properties.get(name) or {}
        if schema.get("type") == "array":
            kind = (schema.get("items") or {}).get("type")
            read[name] = [_as_number(t, kind) for t in texts]
        else:
            read[name] = _as_number(texts[-1], schema.get("type"))
    return read


def _as_number(text: str, kind: Any) -> Any:
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text):
        return float(text)
    return text


def breaks_only_hints(case: Any, response: Any) -> bool:
    """True when nothing the contract backs was broken by the request ``response`` answers,
    so that no refusal may be required of the target.

    A ``page_limit`` above 50 counts as kept when the answer is a page of at most 50 items
    that says so (LIST-FILTER-SORT allows refuse or clamp)."""
    judged = _judged_schema()
    method, path = case.operation.method.lower(), case.operation.path
    operation = judged[path][method]
    full = case.operation.get_parameter_set(ParameterLocation.QUERY)
    query_params = operation.get_parameter_set(ParameterLocation.QUERY)
    if query_params is not None:
        properties = full.schema.get("properties", {}) if full is not None else {}
        query = query_as_read(str(response.request.url), properties)
        limit = query.get("page_limit")
        if isinstance(limit, int) and limit > MAX_PAGE_LIMIT and _clamped(response):
            query["page_limit"] = MAX_PAGE_LIMIT
        if not query_params.get_strict_validator().is_valid(query):
            return False
    path_params = operation.get_parameter_set(ParameterLocation.PATH)
    if path_params is not None and isinstance(case.path_parameters, Mapping):
        values = {k: str(v) for k, v in case.path_parameters.items()}
        if not path_params.get_strict_validator().is_valid(values):
            return False
    return True


def _clamped(response: Any) -> bool:
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    page = body.get("page_info") if isinstance(body, dict) else None
    shown = page.get("limit_per_page") if isinstance(page, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    return (isinstance(shown, int) and not isinstance(shown, bool) and shown <= MAX_PAGE_LIMIT
            and isinstance(data, list) and len(data) <= MAX_PAGE_LIMIT)
