"""Unknown and malformed IDs, the error envelope and the absence of server errors.

Every ID sent here can never name a real task (see ``conformance.properties.strategies``), so these
tests are safe on a live account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import strategies as st

from conformance import checks
from conformance.properties.strategies import (
    IMPOSSIBLE_PREFIX,
    malformed_task_ids,
    unknown_task_ids,
)
from conformance.resources.errors import ProvisioningError
from conformance.settings import Settings
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.ids
NEVER_ISSUED = IMPOSSIBLE_PREFIX + "0123456789abcdef"


def _run(settings: Settings, strategy: st.SearchStrategy[str], examples: int,
         explicit: tuple[str, ...], check: Callable[[str], None]) -> None:
    """Run ``check`` on drawn values with the profile's seed; no shrinking, which would
    spend requests on a live target to make a failing ID prettier."""
    test = given(strategy)(check)
    for value in explicit:
        test = example(value)(test)
    test = hypothesis.settings(
        max_examples=examples, derandomize=settings.profile.derandomize, database=None,
        deadline=None, phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck))(test)
    hypothesis.seed(settings.effective_seed)(test)()


@pytest.mark.clause("DEL-UNKNOWN")
def test_deleting_an_id_that_never_existed_answers_404_or_400_never_2xx(
        api: ApiClient, settings: Settings) -> None:
    def check(task_id: str) -> None:
        checks.unknown_id_answer_is_not_found(api.delete_task(task_id))

    # Well-formed IDs differ little from each other: a fifth of the profile's examples.
    _run(settings, unknown_task_ids(), max(3, settings.examples // 5),
         (NEVER_ISSUED,), check)


@pytest.mark.clause("DEL-MALFORMED")
def test_deleting_a_malformed_id_answers_a_4xx_error_never_2xx(
        api: ApiClient, settings: Settings) -> None:
    def check(wire_id: str) -> None:
        # Sent as drawn (already encoded): the client's own quoting would hide the shape.
        checks.malformed_id_answer_is_client_error(api.request("DELETE", "/tasks/" + wire_id))

    explicit = ("", ".", "..", IMPOSSIBLE_PREFIX + "%2F0000", "0" * 23, "0" * 25,
                IMPOSSIBLE_PREFIX + "ABCDEF0123456789", "%C3%A9" * 4, "z" * 1024)
    _run(settings, malformed_task_ids(), settings.examples, explicit, check)


def _error_answers(client: ApiClient, run_index: str) -> dict[str, Any]:
    return {
        "retrieve unknown": client.retrieve_task(NEVER_ISSUED),
        "delete unknown": client.delete_task(NEVER_ISSUED),
        "delete malformed": client.request("DELETE", "/tasks/not-an-id"),
        "delete unknown video": client.delete_video(run_index, NEVER_ISSUED),
        "delete unknown index": client.delete_index(NEVER_ISSUED),
        "list page_limit 0": client.list_tasks(page_limit=0),
        "list sort_by nonsense": client.list_tasks(sort_by="nonsense"),
        "create with nothing": client.create_task(None),
    }


@pytest.mark.clause("ERR-ENVELOPE")
def test_error_answers_of_every_operation_are_json_with_code_and_message(
        api: ApiClient, run_index: str) -> None:
    answers = _error_answers(api.unchecked(), run_index)
    judged = [r for r in answers.values() if 400 <= r.status_code < 500]
    if not judged:
        raise ProvisioningError("none of the deliberately wrong requests got a 4xx to judge")
    for response in judged:
        checks.error_answer_has_envelope(response)


@pytest.mark.clause("NO-5XX")
def test_odd_list_queries_and_wrong_requests_are_never_answered_with_a_server_error(
        api: ApiClient, run_index: str) -> None:
    raw = api.unchecked()
    odd_queries: list[dict[str, Any]] = [
        {"page": "abc"}, {"page_limit": "many"}, {"page": -1}, {"page_limit": 10**12},
        {"sort_option": "sideways"}, {"created_at": "yesterday"}, {"duration": "long"},
        {"width": "wide"}, {"status": "nonsense"}, {"index_id": "not-an-index"},
    ]
    for params in odd_queries:
        checks.answer_is_not_a_server_error(raw.list_tasks(**params))
    for response in _error_answers(raw, run_index).values():
        checks.answer_is_not_a_server_error(response)
