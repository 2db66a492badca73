"""Unknown and malformed IDs, the error envelope and the absence of server errors.

Made-up IDs can never name a real task (see ``conformance.properties.strategies``); malformed
forms of a real task's ID are tried on the run's own failed task (deletable, so a target that
trims or cuts an ID and then deletes what it names would really delete it), which is read
again after each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import strategies as st

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import (
    IMPOSSIBLE_PREFIX,
    malformed_task_ids,
    unknown_task_ids,
)
from conformance.resources.cleanup import is_gone
from conformance.resources.deletions import as_it_was
from conformance.resources.errors import ProvisioningError
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import Watch
from conformance.run.state import RunState, Subjects
from conformance.settings import Settings
from conformance.subjects import subject
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
        api: ApiClient, settings: Settings, judged: Subjects) -> None:
    def check(task_id: str) -> None:
        checks.unknown_id_answer_is_not_found(api.delete_task(task_id))

    # Well-formed IDs differ little from each other: a fifth of the profile's examples.
    _run(settings, unknown_task_ids(), max(3, settings.examples // 5),
         (NEVER_ISSUED,), check)
    judged.add("DEL-UNKNOWN", subject("DEL-UNKNOWN", "delete", "well-formed IDs no account "
                                                               "holds"))


@pytest.mark.clause("DEL-MALFORMED")
def test_deleting_a_malformed_id_answers_a_4xx_error_never_2xx(
        api: ApiClient, settings: Settings, judged: Subjects) -> None:
    def check(wire_id: str) -> None:
        # Sent as drawn (already encoded): the client's own quoting would hide the shape.
        checks.malformed_id_answer_is_client_error(api.request("DELETE", "/tasks/" + wire_id))

    explicit = ("", ".", "..", IMPOSSIBLE_PREFIX + "%2F0000", "0" * 23, "0" * 25,
                IMPOSSIBLE_PREFIX + "ABCDEF0123456789", "%C3%A9" * 4, "z" * 1024)
    _run(settings, malformed_task_ids(), settings.examples, explicit, check)
    judged.add("DEL-MALFORMED", subject("DEL-MALFORMED", "made-up IDs",
                                        "generated malformed IDs"))


REAL_FORMS = {"a character added": "{}0", "a character removed": None,
              "an encoded space before it": "%20{}", "an encoded space after it": "{}%20"}
"""Malformed forms of a real ID. Percent-encodings of its own characters and a trailing slash
are not among them: URI normalisation may rightly map those onto the task itself."""


def _form(task_id: str, how: str) -> str:
    pattern = REAL_FORMS[how]
    return task_id[:-1] if pattern is None else pattern.format(task_id)


@pytest.fixture
def unwatched(api: ApiClient, settings: Settings, state: RunState) -> Iterator[ApiClient]:
    """The primary account through a client of its own, whose deletes the watch learns of
    only from the test, once it is known which task each removed: a form of an ID that
    removed the task it is a form of must not pass for a delete of something else."""
    assert settings.api_key is not None
    client = ApiClient(api.base_url, settings.api_key, transcript=api.transcript,
                       rate=settings.effective_rate)
    state.clients.append(client)
    yield client
    client.close()


def _send(unwatched: ApiClient, raw: ApiClient, watch: Watch, task_id: str,
          form: str) -> tuple[httpx.Response, httpx.Response]:
    """Delete by ``form`` (sent as written: the client's own quoting would hide the shape),
    read the task, and log the delete in the watch under what it removed."""
    response = unwatched.request("DELETE", "/tasks/" + form)
    after = raw.retrieve_task(task_id)
    path = f"/tasks/{task_id}" if is_gone(after) else f"/tasks/{form}"
    watch.deleted(path, response.status_code, f"DELETE /tasks/{form} -> "
                  f"{response.status_code} (a form of task {task_id})")
    return response, after


@pytest.mark.clause("DEL-MALFORMED")
def test_deleting_a_malformed_form_of_a_real_task_s_id_answers_a_4xx_and_leaves_the_task(
        api: ApiClient, unwatched: ApiClient, pool: Pool, provisioner: Provisioner,
        watch: Watch, judged: Subjects) -> None:
    raw = api.unchecked()
    role = "kept_failed"
    if not pool.usable(role):
        pytest.skip(f"not judged: no deletable task of the run to name: the pool's {role} "
                    f"task {pool.why_not(role)}")
    task = pool.tasks[role]
    assert task.final is not None
    # Read first: a task another delete already removed (DEL-ONLY-THAT, the watch knows) or
    # whose final status did not stay (TASK-LIFECYCLE) cannot show what a form of its ID does.
    as_it_was(pool, role, raw)
    for how in REAL_FORMS:
        form = _form(task.task_id, how)
        response, after = _send(unwatched, raw, watch, task.task_id, form)
        if is_gone(after):
            _deleted_by(task.task_id, role, pool, provisioner, allowed=False)
            raise ContractViolation(
                "DEL-MALFORMED", f"deleting {how} to the ID of task {task.task_id} (DELETE "
                f"/tasks/{form}) answered {response.status_code}, and the task itself is gone",
                reproduce=checks.reproduce_line(response))
        checks.malformed_id_answer_is_client_error(response)
        checks.task_is_unchanged(task.final, after, "DEL-MALFORMED")
        judged.add("DEL-MALFORMED", subject("DEL-MALFORMED", "forms of a real task's ID", how))
    _upper_case(unwatched, raw, pool, role, provisioner, watch, judged)


def _upper_case(unwatched: ApiClient, raw: ApiClient, pool: Pool, role: str,
                provisioner: Provisioner, watch: Watch, judged: Subjects) -> None:
    """The ID in upper case may be refused as malformed or read as the same ID; answered 2xx,
    the task it names must be gone."""
    task = pool.tasks[role]
    text = subject("DEL-MALFORMED", "forms of a real task's ID", "in upper case")
    form = task.task_id.upper()
    if form == task.task_id:
        judged.not_judged("DEL-MALFORMED", text, f"task {task.task_id} has no letter")
        return
    response, after = _send(unwatched, raw, watch, task.task_id, form)
    checks.answer_is_not_a_server_error(response)
    if is_gone(after):
        _deleted_by(task.task_id, role, pool, provisioner, allowed=response.is_success)
        if not response.is_success:
            raise ContractViolation(
                "DEL-MALFORMED", f"deleting task {task.task_id} by its ID in upper case was "
                f"refused ({response.status_code}), yet the task is gone",
                reproduce=checks.reproduce_line(response))
    elif response.is_success:
        raise ContractViolation(
            "DEL-MALFORMED", f"deleting task {task.task_id} by its ID in upper case answered "
            f"{response.status_code} without acting on it: the task is still there",
            reproduce=checks.reproduce_line(response))
    else:
        checks.malformed_id_answer_is_client_error(response)
        assert task.final is not None
        checks.task_is_unchanged(task.final, after, "DEL-MALFORMED")
    judged.add("DEL-MALFORMED", text)


def _deleted_by(task_id: str, role: str, pool: Pool, provisioner: Provisioner, *,
                allowed: bool) -> None:
    """A form of the ID removed the task: cleanup need not delete it, and later tests know it
    is gone (``allowed``: rightly, read as the same ID; else destroyed by a DEL-MALFORMED
    violation)."""
    provisioner.note_deleted("task", task_id)
    if allowed:
        pool.tasks[role].deleted = True
        pool.tasks[role].gone_why = ("was deleted by its ID in upper case, which the target "
                                     "reads as the same ID (as DEL-MALFORMED allows)")
    else:
        pool.destroyed(role, "DEL-MALFORMED")


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


MALFORMED_RETRIEVES = ("not-an-id", "0" * 23, IMPOSSIBLE_PREFIX + "ABCDEF0123456789",
                      "%C3%A9" * 4, "z" * 1024)
"""Malformed IDs a retrieve is sent, sent as written (too short, upper case, non-ASCII, very
long)."""


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
    # Retrieve has no clause of its own for a malformed ID (any answer but a 5xx will do).
    for wire_id in MALFORMED_RETRIEVES:
        checks.answer_is_not_a_server_error(raw.request("GET", "/tasks/" + wire_id))
    for response in _error_answers(raw, run_index).values():
        checks.answer_is_not_a_server_error(response)
