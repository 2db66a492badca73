"""Shared test configuration: pytester drives throwaway suites through the plugin, and the fault
matrix's rows and the fixtures that run whole suites (head_start.py) run in the background
while the other tests do (the matrix's tests come last).

pytest also loads this file when the suite runs from the checkout (a conftest in a test*
folder below the invocation directory): the hooks act only on the project's own test modules.
"""

from __future__ import annotations

from collections.abc import Iterator

import head_start
import pytest
from clean_run import CleanRun, starts_clean_run

pytest_plugins = ["pytester"]
MATRIX = "test_fault_matrix.py"


@pytest.fixture(scope="session")
def clean_run() -> Iterator[CleanRun]:
    """One clean run for every test that reads one (it starts when collection ends)."""
    yield from head_start.take(starts_clean_run)


def _holds_matrix(items: list[pytest.Item]) -> bool:
    return any(item.path.name == MATRIX for item in items)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _holds_matrix(items):
        return
    import test_fault_matrix

    rows = [item for item in items if test_fault_matrix.is_row(item)]
    items[:] = [item for item in items if not test_fault_matrix.is_row(item)] + rows


def pytest_collection_finish(session: pytest.Session) -> None:
    if _holds_matrix(session.items):
        import test_fault_matrix

        test_fault_matrix.start_rows(session)
    head_start.begin(session.items)
