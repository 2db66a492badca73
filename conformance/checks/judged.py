"""What a failing check rests on: the check itself, its arguments, and the recorded exchanges
of the answers among them.

``answers.fail`` asks here when it raises, so every violation carries the check that judged
(for a replay to judge a new answer the same way) and its evidence (the answers it was given,
headers and bodies as the transcript recorded them), without each check passing them along.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import httpx

from conformance.clauses import JudgedBy

__all__ = ["evidence_of", "judging_check"]

_PACKAGE = "conformance.checks."
_HELPERS = frozenset({"fail"})
"""Module-level functions of the package that raise for a check but are none themselves."""


def judging_check() -> JudgedBy | None:
    """The outermost check on the caller's stack and the arguments it was called with.

    Checks call each other (``task_is_unchanged`` ends in ``statuses_move_forward``): the one
    a test (or the property tests' judging) called is what a replay must call again."""
    frame: FrameType | None = sys._getframe(1)
    found: FrameType | None = None
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        if _is_check(frame):
            found = frame
        frame = frame.f_back
    if found is None:
        return None
    code = found.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    values = found.f_locals
    return JudgedBy(f"{found.f_globals['__name__']}:{code.co_name}",
                    {name: values[name] for name in names if name in values})


def _is_check(frame: FrameType) -> bool:
    name = frame.f_code.co_name
    function = frame.f_globals.get(name)
    # Only module-level functions: closures (a check's ``bad``) belong to their check.
    return (not name.startswith("_") and name not in _HELPERS
            and getattr(function, "__code__", None) is frame.f_code)


def evidence_of(judged: JudgedBy | None, response: httpx.Response | None) -> tuple[Any, ...]:
    """The recorded exchanges of every answer the check was given, and of ``response``, in
    the order they were received (an answer that was never recorded has none)."""
    answers = [*(_answers(judged.arguments.values()) if judged is not None else ()),
               *([response] if response is not None else [])]
    found: dict[int, Any] = {}
    for answer in answers:
        exchange = answer.extensions.get("conformance.exchange")
        if exchange is not None:
            found.setdefault(id(exchange), exchange)
    return tuple(sorted(found.values(), key=lambda e: getattr(e, "received_at", 0.0)))


def _answers(values: Any) -> Iterator[httpx.Response]:
    for value in values:
        if isinstance(value, httpx.Response):
            yield value
        elif isinstance(value, list | tuple):
            yield from _answers(value)
