"""Generated call sequences along the spec's links (create, retrieve, delete video, delete
task, retrieve again), with use-after-free and resource-availability checks."""

from __future__ import annotations

import pytest

from conformance import properties

pytest_plugins = ["conformance.properties"]


@pytest.mark.stateful
@pytest.mark.clause(*properties.STATEFUL_CLAUSES)
def test_generated_call_sequences_keep_the_contract(property_guard: properties.Guard) -> None:
    properties.run_sequences(property_guard)
