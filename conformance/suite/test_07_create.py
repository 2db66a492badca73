"""Create: a complete request answers 200 {_id, video_id}; an incomplete one creates nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import IMPOSSIBLE_PREFIX
from conformance.resources import media
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.run.state import Subjects
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.create


@pytest.mark.clause("CREATE-OK")
def test_create_with_an_index_and_one_video_source_answers_200_and_the_task_is_retrievable(
        pool: Pool, judged: Subjects) -> None:
    # The pool's own creates are judged: no task is spent on this clause alone.
    answered = [(t, t.create_answer) for t in pool.tasks.values() if t.create_answer is not None]
    for task in pool.tasks.values():
        if task.create_answer is None:
            judged.not_judged("CREATE-OK", f"the {task.role} task's create",
                              "its connection dropped before the answer (the task was found "
                              "by its filename)")
    if not answered:
        pytest.skip("not judged: every create's answer was lost to a dropped connection")
    for task, answer in answered:
        body = checks.create_answer_is_ok(answer)
        final = task.final
        if final is None:
            continue  # never final: the tests that needed it say why
        if final.get("_id") != body["_id"] or final.get("video_id") != body["video_id"]:
            raise ContractViolation(
                "CREATE-OK", f"expected the created task to be retrievable as {body}, got "
                f"_id {final.get('_id')!r} and video_id {final.get('video_id')!r}",
                reproduce=checks.reproduce_line(answer))


def _tiny_file() -> tuple[str, bytes]:
    return ("conformance-reject.mp4", media.undecodable_bytes())


REJECTED: dict[str, Callable[[ApiClient, str], httpx.Response]] = {
    "without index_id": lambda c, index: c.create_task(None, video_file=_tiny_file()),
    "without a video source": lambda c, index: c.create_task(index),
    "with an unknown index": lambda c, index: c.create_task(
        IMPOSSIBLE_PREFIX + "00000000decade00", video_file=_tiny_file()),
}


def _remember_accidents(ledger: Ledger, response: httpx.Response, index_id: str) -> None:
    """A create accepted by mistake still made something: cleanup must remove it."""
    try:
        body = response.json() if response.is_success else None
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("_id"), str):
        ledger.add("task", body["_id"], index_id=index_id)
        if isinstance(body.get("video_id"), str):
            ledger.add("video", body["video_id"], index_id=index_id, task_id=body["_id"])


@pytest.mark.clause("CREATE-REJECTS")
@pytest.mark.parametrize("case", list(REJECTED))
def test_create_that_is_incomplete_answers_a_4xx_and_creates_nothing(
        case: str, api: ApiClient, run_index: str, ledger: Ledger, listing: Listing) -> None:
    before = listing.ids(api, index_id=run_index)
    response = REJECTED[case](api.unchecked(), run_index)
    _remember_accidents(ledger, response, run_index)
    checks.answer_is_not_a_server_error(response)
    checks.create_is_rejected(response)
    after = listing.ids(api, index_id=run_index)
    for task_id in after - before:
        ledger.add("task", task_id, index_id=run_index)
    if after != before:
        raise ContractViolation(
            "CREATE-REJECTS", f"create {case} answered {response.status_code} but the run's "
            f"index gained {sorted(after - before)}", reproduce=checks.reproduce_line(response))
