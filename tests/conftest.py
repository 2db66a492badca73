"""Shared test configuration: pytester drives throwaway suites through the plugin, and the fault
matrix's rows run in the background while the other tests do (its tests come last).

pytest also loads this file when the suite runs from the checkout (a conftest in a test*
folder below the invocation directory): the hooks act only on sessions holding the matrix.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
MATRIX = "test_fault_matrix.py"


def _holds_matrix(items: list[pytest.Item]) -> bool:
    return any(item.path.name == MATRIX for item in items)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _holds_matrix(items):
        return
    import test_fault_matrix

    rows = [item for item in items if test_fault_matrix.is_row(item)]
    items[:] = [item for item in items if not test_fault_matrix.is_row(item)] + rows


def pytest_collection_finish(session: pytest.Session) -> None:
    if not _holds_matrix(session.items):
        return
    import test_fault_matrix

    test_fault_matrix.start_rows(session)
