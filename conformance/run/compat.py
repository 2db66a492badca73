"""What keeps the suite's run the same across the pytest versions it allows (pyproject).

pytest 9.2 builds a test's node id from its original name and its parametrization; the
schemathesis versions the suite allows name each operation's test ``test_x[GET /tasks]`` without
a parametrization, so every operation got the same id (one JUnit name, one report row, one
record per test ID). The id is rebuilt from the item's own name, as pytest 9.1 did.
"""

from __future__ import annotations

import pytest

__all__ = ["distinct_node_id"]


def distinct_node_id(item: pytest.Item) -> None:
    """Give ``item`` the id its name says (``...::test_x[GET /tasks]``) where pytest dropped
    the bracket; any other item is left as it is."""
    name = item.name
    ident = getattr(item, "_id", None)
    if "[" not in name or item.nodeid.endswith(name) or not hasattr(ident, "with_params"):
        return
    parent = getattr(item.parent, "_id", None)
    base, _, params = name.partition("[")
    if parent is None or not params.endswith("]"):
        return
    item._id = parent.child(base).with_params(params[:-1])  # type: ignore[attr-defined, unused-ignore]
