"""A head start for the fixtures that run whole suites: they begin as soon as collection ends,
in the background, while the project's quick tests run, instead of one after another when
their module comes up. Whole runs mostly wait (on indexing, pacing, subprocesses), so several
at once cost little more wall time than one.

A starter is written like a generator fixture that takes a fresh directory: it yields its
value once the runs are done, and cleans up after the yield. Its module fixture hands it on::

    @head_start.for_fixture("runs")
    def _runs(root: Path) -> Iterator[dict[str, Run]]:
        ...start runs under root, wait for them...
        yield results
        ...stop servers...

    @pytest.fixture(scope="module")
    def runs() -> Iterator[dict[str, Run]]:
        yield from head_start.take(_runs)

tests/conftest.py starts every starter whose fixture some selected test uses
(``begin(session.items)``); a starter nobody started (a pytester session, a run without the
project's conftest) starts when its fixture is first asked for.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

T = TypeVar("T")
Starter = Callable[[Path], Iterator[T]]

PARALLEL = 16
"""Starters running at once (all of them, today): they mostly wait, and one queued behind
another is the session's critical path (each may run several suites side by side itself)."""


class _Start(Generic[T]):
    def __init__(self, starter: Starter[T], module: str | None, fixture: str) -> None:
        self.starter, self.module, self.fixture = starter, module, fixture
        self.future: Future[T] | None = None
        self._steps: Iterator[T] | None = None
        self._root: Path | None = None

    def run(self) -> T:
        self._root = Path(tempfile.mkdtemp(prefix=f"head-start-{self.fixture}-"))
        self._steps = self.starter(self._root)
        return next(self._steps)

    def finish(self) -> None:
        """The starter's own clean-up (after its yield), then its directory."""
        if self._steps is not None:
            for _ in self._steps:
                raise RuntimeError(f"{self.starter.__name__} yielded twice")
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


_STARTS: dict[Callable[..., Any], _Start[Any]] = {}
_LOCK = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="head-start")


def for_fixture(fixture: str, *, shared: bool = False) -> Callable[[Starter[T]], Starter[T]]:
    """Registers a starter for the module fixture named ``fixture`` of the same module, or,
    ``shared``, for the fixture of that name of tests/conftest.py (any module's tests)."""

    def register(starter: Starter[T]) -> Starter[T]:
        _STARTS[starter] = _Start(starter, None if shared else starter.__module__, fixture)
        return starter

    return register


def _submit(start: _Start[Any]) -> None:
    with _LOCK:
        if start.future is None:
            start.future = _POOL.submit(start.run)


def begin(items: Iterable[pytest.Item]) -> None:
    """Starts, in the order their modules were collected, every starter whose fixture a
    selected test uses."""
    wanted: list[_Start[Any]] = []
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", None)
        for start in _STARTS.values():
            if start.module in (None, module) and start not in wanted \
                    and start.fixture in getattr(item, "fixturenames", ()):
                wanted.append(start)
    for start in wanted:
        _submit(start)


def take(starter: Starter[T]) -> Iterator[T]:
    """The starter's value once its runs are done (starting it now if nobody did); its
    clean-up when the module is done with it."""
    start: _Start[T] = _STARTS[starter]
    _submit(start)
    assert start.future is not None
    try:
        yield start.future.result()
    finally:
        start.finish()
