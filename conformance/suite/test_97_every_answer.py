"""NO-5XX and ERR-ENVELOPE over every answer of the run, TASK-SHAPE and LIST-SHAPE over every
task object it read: provisioning's polls, the probe's reads, the scenarios', the property
tests' and the client library's alike, whichever client received them, at whatever status
the task showed; TASK-LIFECYCLE over every read of each task of the run, retrieve and list
items alike, in the order they were made.

Runs near the end, from the run's transcript. An answer whose body the transcript had to
shorten cannot be read as JSON again and is not judged here (the checked client judged it
when it arrived, if it was the checked client's).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.ledger import Ledger
from conformance.resources.reads import (
    TaskRead,
    account_reads,
    answer_of,
    first_step_back,
    task_reads,
)
from conformance.run.state import Subjects
from conformance.settings import Settings
from conformance.subjects import subject
from conformance.wire.transcript import Exchange, Transcript


@pytest.mark.clause("NO-5XX")
def test_no_answer_of_the_whole_run_was_a_server_error(transcript: Transcript,
                                                       judged: Subjects) -> None:
    exchanges = [e for e in transcript.since(0) if e.status is not None]
    for exchange in exchanges:
        if exchange.status is not None and exchange.status >= 500:
            raise ContractViolation(
                "NO-5XX", f"{exchange.method} {exchange.url}: expected any answer but a "
                f"server error, got {exchange.status}: {exchange.response_body[:200]}",
                reproduce=exchange.curl())
    judged.add("NO-5XX", f"every answer of the run: {len(exchanges)}")


@pytest.mark.clause("ERR-ENVELOPE")
def test_every_4xx_answer_of_the_whole_run_is_json_with_code_and_message(
        transcript: Transcript, judged: Subjects) -> None:
    errors = [e for e in transcript.since(0) if e.status is not None and 400 <= e.status < 500]
    readable = [e for e in errors if not e.response_truncated]
    for exchange in readable:
        checks.error_answer_has_envelope(answer_of(exchange))
    judged.add("ERR-ENVELOPE", f"every 4xx answer of the run: {len(readable)}")
    if len(readable) < len(errors):
        judged.partly("ERR-ENVELOPE", f"{len(errors) - len(readable)} 4xx answer(s) too long "
                      "to keep whole in the transcript")


def _judge_all(exchanges: list[Exchange], clause_id: str,
               judge: Callable[[httpx.Response], object], judged: Subjects,
               subject: str) -> None:
    """Judge every whole answer; fail naming the first finding and how many there were."""
    found: list[ContractViolation] = []
    whole = [e for e in exchanges if not e.response_truncated]
    for exchange in whole:
        try:
            judge(answer_of(exchange))
        except ContractViolation as exc:
            found.append(exc)
    if len(whole) < len(exchanges):
        judged.partly(clause_id, f"{len(exchanges) - len(whole)} answer(s) too long to keep "
                      "whole in the transcript")
    if found:
        more = f" (and {len(found) - 1} more answer(s) of the run like it)" \
            if len(found) > 1 else ""
        first = found[0]
        raise ContractViolation(clause_id, first.message + more, reproduce=first.reproduce,
                                evidence=first.evidence, judged_by=first.judged_by)
    if not whole:
        pytest.skip(f"not judged: the run read no {subject} whole")
    judged.add(clause_id, f"every {subject} the run read: {len(whole)}")


def _status(exchange: Exchange) -> str | None:
    try:
        body = json.loads(exchange.response_body)
    except ValueError:
        return None
    status = body.get("status") if isinstance(body, dict) else None
    return status if isinstance(status, str) else None


@pytest.mark.clause("TASK-SHAPE")
def test_every_task_object_the_run_retrieved_is_well_formed_at_every_status(
        transcript: Transcript, settings: Settings, judged: Subjects) -> None:
    reads = list(account_reads(transcript, settings.base_url or "", listed=False))

    def well_formed(answer: httpx.Response) -> None:
        checks.task_object_is_well_formed(checks.answers.json_body(answer), response=answer)

    _judge_all(reads, "TASK-SHAPE", well_formed, judged, "retrieve answer")
    for status in dict.fromkeys(s for s in map(_status, reads) if s is not None):
        # The report joins items with ", ": a target's status must not look like two.
        judged.add("TASK-SHAPE", subject("TASK-SHAPE", "every read", status.replace(",", ";")))


@pytest.mark.clause("LIST-SHAPE")
def test_every_list_answer_the_run_read_is_well_formed(
        transcript: Transcript, settings: Settings, judged: Subjects) -> None:
    _judge_all(list(account_reads(transcript, settings.base_url or "", listed=True)),
               "LIST-SHAPE",
               checks.list_answer_is_well_formed, judged, "list answer")
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "every read",
                                     "every list answer of the run"))


def _run_reads(transcript: Transcript, settings: Settings,
               ledger: Ledger) -> dict[str, list[TaskRead]]:
    return task_reads(transcript, settings.base_url or "",
                      (entry.id for entry in ledger.entries("task")))


@pytest.mark.task
@pytest.mark.clause("TASK-LIFECYCLE")
def test_every_task_of_the_run_read_in_order_only_moves_forward_and_stays_final(
        transcript: Transcript, settings: Settings, ledger: Ledger, judged: Subjects) -> None:
    # A read counts after another only when it was sent once the other was answered: reads
    # in flight together (a poll beside the probe) have no order between them.
    per_task = _run_reads(transcript, settings, ledger)
    for task_id, reads in per_task.items():
        step = first_step_back(reads)
        if step is not None:
            earlier, later = step
            checks.status_read_later_follows(
                str(earlier.status), str(later.status), answer_of(earlier.exchange),
                answer_of(later.exchange),
                subject=f"task {task_id} (read by {earlier.where()}, then by {later.where()})")
    read = sum(1 for reads in per_task.values() if len(reads) > 1)
    if not read:
        pytest.skip("not judged: no task of the run was read twice")
    judged.add("TASK-LIFECYCLE", f"statuses of {read} task(s) of the run, every read in order")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "every read",
                                         "every task of the run in the order read"))


@pytest.mark.task
@pytest.mark.clause("TASK-LIFECYCLE")
def test_every_task_object_of_the_run_shows_updated_at_not_before_created_at(
        transcript: Transcript, settings: Settings, ledger: Ledger, judged: Subjects) -> None:
    # Ordering is judged between two RFC 3339 date-times only: a time missing or malformed is
    # TASK-SHAPE's (LIST-SHAPE's) finding, judged on every read above.
    judgeable = [r for reads in _run_reads(transcript, settings, ledger).values() for r in reads
                 if checks.tasks.is_date_time(r.body.get("created_at"))
                 and checks.tasks.is_date_time(r.body.get("updated_at"))]
    for read in judgeable:
        checks.task_timestamps_are_ordered(read.body, answer_of(read.exchange))
    if not judgeable:
        pytest.skip("not judged: no task object of the run was read with both times")
    judged.add("TASK-LIFECYCLE", f"every task object of the run read: {len(judgeable)}")
    judged.add("TASK-LIFECYCLE", subject("TASK-LIFECYCLE", "every read",
                                         "updated_at not before created_at in every object"))
