"""Shared test configuration: pytester drives throwaway suites through the plugin, and the fault
matrix's rows run in the background while the other tests do (its tests come last)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import test_fault_matrix

    rows = [item for item in items if test_fault_matrix.is_row(item)]
    if rows:
        items[:] = [item for item in items if not test_fault_matrix.is_row(item)] + rows


def pytest_collection_finish(session: pytest.Session) -> None:
    import test_fault_matrix

    test_fault_matrix.start_rows(session)
