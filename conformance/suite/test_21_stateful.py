"""Generated call sequences along the spec's links (create, retrieve, delete video, delete
task, retrieve again), with use-after-free and resource-availability checks."""

from __future__ import annotations

import pytest

from conformance.properties.guard import Guard
from conformance.properties.plugin import STATEFUL_CLAUSES, run_sequences
from conformance.run.state import Subjects

pytest_plugins = ["conformance.properties.plugin"]


@pytest.mark.stateful
@pytest.mark.clause(*STATEFUL_CLAUSES)
def test_generated_call_sequences_keep_the_contract(property_guard: Guard,
                                                    judged: Subjects) -> None:
    run_sequences(property_guard, judged.partly)
