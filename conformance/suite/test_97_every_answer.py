"""NO-5XX and ERR-ENVELOPE over every answer of the run, TASK-SHAPE and LIST-SHAPE over every
task object it read: provisioning's polls, the probe's reads, the scenarios', the property
tests' and the client library's alike, whichever client received them, at whatever status
the task showed.

Runs near the end, from the run's transcript. An answer whose body the transcript had to
shorten cannot be read as JSON again and is not judged here (the checked client judged it
when it arrived, if it was the checked client's).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.run.state import Subjects
from conformance.settings import Settings
from conformance.subjects import subject
from conformance.wire.transcript import Exchange, Transcript

# Headers that describe the bytes on the wire, not the decoded body the transcript keeps.
_WIRE_ONLY = {"content-encoding", "content-length", "transfer-encoding"}


def _as_answer(exchange: Exchange) -> httpx.Response:
    headers = {k: v for k, v in exchange.response_headers.items()
               if k.lower() not in _WIRE_ONLY}
    answer = httpx.Response(exchange.status or 0, headers=headers,
                            content=exchange.response_body.encode("utf-8"),
                            request=httpx.Request(exchange.method, exchange.url))
    answer.extensions["conformance.exchange"] = exchange
    return answer


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
        checks.error_answer_has_envelope(_as_answer(exchange))
    judged.add("ERR-ENVELOPE", f"every 4xx answer of the run: {len(readable)}")
    if len(readable) < len(errors):
        judged.partly("ERR-ENVELOPE", f"{len(errors) - len(readable)} 4xx answer(s) too long "
                      "to keep whole in the transcript")


# Keys whose 200s are the account's own reads (a 200 to a missing or invalid key is
# AUTH-REQUIRED's finding, whatever its body).
_ACCOUNTS = frozenset({"primary", "second"})


def _reads(transcript: Transcript, settings: Settings, listed: bool) -> Iterator[Exchange]:
    """Every 200 the run got to a retrieve (or, ``listed``, a list) with an account's key."""
    base = urlsplit(settings.base_url or "").path.rstrip("/")
    for exchange in transcript.since(0):
        if exchange.status != 200 or exchange.method != "GET" \
                or exchange.key_label not in _ACCOUNTS:
            continue
        parts = urlsplit(exchange.url).path.removeprefix(base).split("/")
        if (listed and parts == ["", "tasks"]) or \
                (not listed and len(parts) == 3 and parts[1] == "tasks" and parts[2]):
            yield exchange


def _judge_all(exchanges: list[Exchange], clause_id: str,
               judge: Callable[[httpx.Response], object], judged: Subjects,
               subject: str) -> None:
    """Judge every whole answer; fail naming the first finding and how many there were."""
    found: list[ContractViolation] = []
    whole = [e for e in exchanges if not e.response_truncated]
    for exchange in whole:
        try:
            judge(_as_answer(exchange))
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
    reads = list(_reads(transcript, settings, listed=False))

    def well_formed(answer: httpx.Response) -> None:
        checks.task_object_is_well_formed(checks.answers.json_body(answer), response=answer)

    _judge_all(reads, "TASK-SHAPE", well_formed, judged, "retrieve answer")
    for status in dict.fromkeys(s for s in map(_status, reads) if s is not None):
        # The report joins items with ", ": a target's status must not look like two.
        judged.add("TASK-SHAPE", subject("TASK-SHAPE", "every read", status.replace(",", ";")))


@pytest.mark.clause("LIST-SHAPE")
def test_every_list_answer_the_run_read_is_well_formed(
        transcript: Transcript, settings: Settings, judged: Subjects) -> None:
    _judge_all(list(_reads(transcript, settings, listed=True)), "LIST-SHAPE",
               checks.list_answer_is_well_formed, judged, "list answer")
    judged.add("LIST-SHAPE", subject("LIST-SHAPE", "every read",
                                     "every list answer of the run"))
