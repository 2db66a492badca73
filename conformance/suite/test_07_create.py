"""Create: a complete request answers 200 {_id, video_id}; an incomplete one creates nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import IMPOSSIBLE_PREFIX
from conformance.resources import media
from conformance.resources.creates import create_that_must_make_nothing
from conformance.resources.interrupts import INTERRUPTS
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import Survey
from conformance.run.state import Subjects
from conformance.settings import Settings
from conformance.subjects import subject
from conformance.wire.client import ApiClient

pytestmark = pytest.mark.create


@pytest.mark.clause("CREATE-OK")
def test_create_with_an_index_and_one_video_source_answers_200_and_the_task_is_retrievable(
        pool: Pool, settings: Settings, judged: Subjects) -> None:
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
        if task.final is None and task.unavailable_clause == "CREATE-OK":
            raise ContractViolation(
                "CREATE-OK", f"expected the created task {body['_id']} to be retrievable: "
                f"{task.unavailable}", reproduce=checks.reproduce_line(answer))
        _retrievable_as_created(task.final, body, answer, judged)
    if len(answered) == len(pool.tasks):
        judged.add("CREATE-OK", subject("CREATE-OK", "create", "every task the pool made"))
        if settings.ready_video_url:
            judged.add("CREATE-OK", subject("CREATE-OK", "create from a video URL",
                                            "a URL the target can fetch"))


@pytest.mark.clause("CREATE-OK")
def test_create_from_a_video_url_answers_200_and_the_task_is_retrievable(
        api: ApiClient, provisioner: Provisioner, run_index: str, settings: Settings,
        served_video_url: str | None, judged: Subjects) -> None:
    if settings.ready_video_url:
        pytest.skip("not judged here: the pool's tasks were made from --ready-video-url, and "
                    "their creates are judged by the test above")
    if served_video_url is None:
        pytest.skip("not judged: no video URL this target can fetch (set --ready-video-url)")
    provisioner.reserve_task()
    with INTERRUPTS.shielded():  # a Ctrl-C waits until the ledger has the task
        answer = api.create_task(run_index, video_url=served_video_url,
                                 user_metadata={"conformance_run": settings.run_id})
        provisioner.keep_created("ready", answer, run_index)
    body = checks.create_answer_is_ok(answer)
    deadline = time.monotonic() + provisioner.grace
    while (read := api.retrieve_task(body["_id"])).status_code == 404 \
            and time.monotonic() < deadline:
        time.sleep(0.2)  # a new task may show a moment late
    _retrievable_as_created(checks.created_task_is_retrievable(read, body["_id"]), body,
                            answer, judged)
    judged.add("CREATE-OK", subject("CREATE-OK", "create from a video URL",
                                    "a URL the target can fetch"))


def _retrievable_as_created(final: dict[str, Any] | None, body: dict[str, Any],
                            answer: httpx.Response, judged: Subjects) -> None:
    """The task as last read carries the IDs its create answered. Only fields the read shows
    well-formed are compared: a field missing or of the wrong type is TASK-SHAPE's finding
    (judged on every read), not a create that made something else."""
    if final is None:
        return  # never final: the tests that needed it say why
    for name in ("_id", "video_id"):
        value = final.get(name)
        if not isinstance(value, str) or not value:
            judged.partly("CREATE-OK", f"task {body['_id']}: its {name} was not compared with "
                          f"the create answer: it reads {value!r} (see TASK-SHAPE)")
        elif value != body[name]:
            raise ContractViolation(
                "CREATE-OK", f"expected the created task to be retrievable as {body}, got "
                f"{name} {value!r}", reproduce=checks.reproduce_line(answer))


REJECTED: dict[str, Callable[[ApiClient, str, str | None], httpx.Response]] = {
    "without index_id": lambda c, index, name: c.create_task(
        None, video_file=(name or "upload.mp4", media.undecodable_bytes())),
    "without a video source": lambda c, index, name: c.create_task(index),
    "with an unknown index": lambda c, index, name: c.create_task(
        IMPOSSIBLE_PREFIX + "00000000decade00",
        video_file=(name or "upload.mp4", media.undecodable_bytes())),
    # A malformed index_id names no index: an unknown index too.
    "with a malformed index": lambda c, index, name: c.create_task(
        "not-an-index", video_file=(name or "upload.mp4", media.undecodable_bytes())),
}


@pytest.mark.clause("CREATE-REJECTS")
@pytest.mark.parametrize("case", list(REJECTED))
def test_create_that_is_incomplete_answers_a_4xx_and_creates_nothing(
        case: str, api: ApiClient, run_index: str, ledger: Ledger, listing: Listing,
        survey: Survey, provisioner: Provisioner, judged: Subjects) -> None:
    # Each rejected upload has a name no file ever had: a task made from it is found by the
    # filename filter in whatever index it landed; the run's index is compared too (a create
    # without a video source uploads nothing to name).
    raw = api.unchecked()
    before = listing.ids(api, index_id=run_index)
    name = provisioner.upload_name("failed") if case != "without a video source" else None
    tried = create_that_must_make_nothing(
        lambda filename: REJECTED[case](raw, run_index, filename), name,
        [("the account's list", raw)], survey.filename, ledger, run_index)
    checks.answer_is_not_a_server_error(tried.response)
    checks.create_is_rejected(tried.response)
    after = listing.ids(api, index_id=run_index)
    for task_id in after - before:
        ledger.add("task", task_id, index_id=run_index)
    made = tried.made() or (f"the run's index gained {sorted(after - before)}"
                            if after != before else None)
    if made is not None:
        raise ContractViolation(
            "CREATE-REJECTS", f"create {case} answered {tried.response.status_code} but made "
            f"a task: {made}", reproduce=checks.reproduce_line(tried.response))
    judged.add("CREATE-REJECTS", subject("CREATE-REJECTS", "rejected create", case))
    if tried.unlooked is None:
        judged.add("CREATE-REJECTS", subject("CREATE-REJECTS", "creates nothing",
                                             "looked for in the account by its unique filename"))
    else:
        judged.partly("CREATE-REJECTS", f"create {case}: looked for in the run's index only "
                      f"({tried.unlooked})")
