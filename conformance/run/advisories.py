"""What the target says about the endpoints' own future and its limits, read off every answer.

The vendor's SDKs mark the tasks methods "will be removed in a future version": a target
announcing that (``Deprecation``, ``Sunset``, ``Link: rel="deprecation"``) or its rate
limits (``X-Ratelimit-*``) is recorded in summary.json and the report, never judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["advisories", "advisory_lines"]

_DEPRECATION_LINK = re.compile(r'rel\s*=\s*"?deprecation"?', re.IGNORECASE)


def advisories(exchanges: Iterable[Any]) -> dict[str, Any]:
    """Distinct announcement headers seen in the run's answers, and which operations carried
    them; the last ``X-Ratelimit-*`` values seen."""
    seen: dict[str, list[str]] = {"deprecation": [], "sunset": [], "deprecation_link": []}
    operations: list[str] = []
    limits: dict[str, str] = {}
    for exchange in exchanges:
        headers = {k.lower(): v for k, v in (getattr(exchange, "response_headers", None)
                                            or {}).items()}
        announced = False
        for name in ("deprecation", "sunset"):
            if name in headers:
                announced = True
                if headers[name] not in seen[name]:
                    seen[name].append(headers[name])
        link = headers.get("link", "")
        if _DEPRECATION_LINK.search(link):
            announced = True
            if link not in seen["deprecation_link"]:
                seen["deprecation_link"].append(link)
        if announced:
            operation = f"{exchange.method} {_path(exchange.url)}"
            if operation not in operations:
                operations.append(operation)
        limits.update({k: v for k, v in headers.items() if k.startswith("x-ratelimit-")})
    found: dict[str, Any] = {k: v for k, v in seen.items() if v}
    if found:
        found["announced_on"] = operations
    if limits:
        found["rate_limit_headers"] = limits
    return found


def advisory_lines(found: dict[str, Any]) -> list[str]:
    """One line each for the console and the report header."""
    lines = []
    if "deprecation" in found or "deprecation_link" in found:
        lines.append("the target announces the deprecation of "
                     f"{', '.join(found.get('announced_on', [])[:4]) or 'these endpoints'}: "
                     f"Deprecation {', '.join(found.get('deprecation', [])) or '-'}; "
                     f"Link {', '.join(found.get('deprecation_link', [])) or '-'}")
    if "sunset" in found:
        lines.append(f"the target announces a sunset: {', '.join(found['sunset'])}")
    if "rate_limit_headers" in found:
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(found["rate_limit_headers"].items()))
        lines.append(f"rate limit headers (last seen): {shown}")
    return lines


def _path(url: str) -> str:
    path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0]
    # IDs vary per request; the operation is what the reader wants.
    return re.sub(r"/[0-9a-fA-F]{24}(?=/|$)", "/{id}", path)
