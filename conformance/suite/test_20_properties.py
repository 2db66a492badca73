"""Every operation of specs/ with generated positive and negative requests, judged by
schemathesis' configured checks plus the contract's own (one report row per operation)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.properties.generation import load_schema
from conformance.properties.guard import Guard
from conformance.properties.plugin import STATELESS_CLAUSES, exercise

# Registers conformance.properties.plugin as a plugin right after this import: its
# pytest_configure then configures `schema` for the run (target, key, profile, seed) before
# tests are built.
pytest_plugins = ["conformance.properties.plugin"]

schema = load_schema()


@pytest.mark.properties
@pytest.mark.clause(*STATELESS_CLAUSES)
@schema.parametrize()
def test_generated_requests_get_answers_the_contract_allows(case: Any,
                                                            property_guard: Guard) -> None:
    exercise(property_guard, case)
