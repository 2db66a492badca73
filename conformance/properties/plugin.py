"""Property and stateful tests from ``specs/``, as a pytest plugin: the run's guard fixture, the
stateless exercise of one generated case, and the state machine along the spec's links.

Test modules list ``pytest_plugins = ["conformance.properties.plugin"]``: pytest then registers this
module right after importing them, its ``pytest_configure`` runs at once (a historic hook) and
configures the schemas the module loaded, before their tests are built from them.
(PYTEST_DONT_REWRITE: the test modules import it before pytest registers it.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest

from conformance.properties import judging
from conformance.properties.generation import configure_pending, load_schema
from conformance.properties.guard import Guard
from conformance.resources.ledger import Ledger
from conformance.resources.provisioning import Provisioner
from conformance.run.state import run_state

__all__ = ["SEQUENCE_CLAUSES", "STATEFUL_CLAUSES", "STATELESS_CLAUSES", "exercise",
           "property_guard", "run_sequences"]

STATELESS_CLAUSES = ("NO-5XX", "ERR-ENVELOPE", "AUTH-REQUIRED", "DEL-204", "DEL-EMPTY",
                     "DEL-UNKNOWN", "DEL-MALFORMED", "TASK-SHAPE", "CREATE-OK",
                     "CREATE-REJECTS", "LIST-SHAPE", "LIST-FILTER-SORT")
STATEFUL_CLAUSES = (*STATELESS_CLAUSES, "DEL-GONE")
OUT_OF_SEQUENCES = ("createIndex", "deleteIndex")
"""Index creation and deletion stay out of sequences: their tasks go into the run's index."""


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = run_state(config).settings
    except KeyError:
        return  # --help, or the conformance plugin is not loaded
    configure_pending(settings)


def exercise(guard: Guard, case: Any) -> None:
    """One stateless example: secure, send, judge."""
    guard.attach(case.operation.schema)
    if not guard.secure(case):
        return
    response = guard.send(case)
    _look_around(guard)
    with judging.naming_clauses(case, response, guard.watch, own=guard.owns(case),
                                 made=guard.made(case)):
        case.validate_response(response, additional_checks=guard.checks_for(case),
                               excluded_checks=guard.excluded_for(case),
                               transport_kwargs=guard.call_kwargs())
    guard.judged(case, response)


def _look_around(guard: Guard) -> None:
    """The property tests are the run's longest stretch without a scenario reading its tasks:
    the watch reads them now and then meanwhile (``Watch.now_and_then``)."""
    if guard.watch is not None:
        guard.watch.now_and_then(guard.sent)


def state_machine(guard: Guard) -> Any:
    """The spec's link graph as a Hypothesis state machine, bound to this run's target at
    build time (trap 5 does not arise: it is built inside the test, not at import)."""
    schema = guard.attach(load_schema(guard.settings, OUT_OF_SEQUENCES))

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return guard.call_kwargs()

        def call(self, case: Any, **kwargs: Any) -> Any:
            if not guard.secure(case):
                hypothesis.reject()
            response = guard.send(case)
            _look_around(guard)
            return response

        def validate_response(self, response: Any, case: Any,
                              additional_checks: list[Any] | None = None,
                              **kwargs: Any) -> None:
            with judging.naming_clauses(case, response, guard.watch,
                                        own=guard.owns(case), made=guard.made(case)):
                case.validate_response(
                    response, additional_checks=[*(additional_checks or []),
                                                 *guard.checks_for(case)],
                    excluded_checks=guard.excluded_for(case), transport_kwargs=kwargs or None,
                    recorder=self.recorder)
            guard.judged(case, response)

    return hypothesis.seed(guard.settings.effective_seed)(Sequences)


SEQUENCE_CLAUSES = ("CREATE-OK", "DEL-GONE")
"""What the sequences judge that no single generated request can."""


def run_sequences(guard: Guard, partly: Callable[[str, str], None] | None = None) -> None:
    """Run the state machine with the profile's example and step counts. Hypothesis replays
    a sequence's choices exactly: an answer a dropped connection lost (a create or delete
    passed over unjudged) can make a replay go elsewhere, which it reports as flaky; then the
    sequences run so far were judged, the rest could not be (``partly`` says so, per clause)."""
    settings = guard.settings
    profile = settings.profile
    database = None if profile.derandomize else \
        hypothesis.database.DirectoryBasedExampleDatabase(str(settings.report_dir / "hypothesis"))
    lost = guard.unjudged
    try:
        state_machine(guard).run(settings=hypothesis.settings(
            max_examples=max(3, settings.examples // 2),
            stateful_step_count=profile.stateful_steps, derandomize=profile.derandomize,
            database=database, deadline=None, suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse,
                    hypothesis.Phase.generate, hypothesis.Phase.shrink]))
    except hypothesis.errors.FlakyStrategyDefinition:
        if guard.unjudged == lost:
            raise
        reason = (f"the call sequences stopped early: {guard.unjudged - lost} answer(s) lost "
                  "to dropped connections made them unrepeatable")
        for clause_id in SEQUENCE_CLAUSES:
            if partly is not None:
                partly(clause_id, reason)


@pytest.fixture(scope="session")
def property_guard(request: pytest.FixtureRequest, ledger: Ledger,
                   provisioner: Provisioner) -> Iterator[Guard]:
    """The run's guard of generated requests. What it let create is in the ledger and is
    removed by the provisioner's cleanup (that fixture outlives this one); its deletes and
    creates are the watch's too (DEL-ONLY-THAT)."""
    state = run_state(request.config)
    guard = Guard(state.settings, state.transcript, ledger, provisioner,
                  watch=provisioner.watch)
    try:
        yield guard
    finally:
        state.notes.extend(guard.lost_creates.adopt())
        guard.close()
        state.rate_limited += guard.rate_limited
        state.requests += guard.sent
        state.notes.append(guard.summary())
