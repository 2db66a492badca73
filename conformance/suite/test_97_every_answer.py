"""NO-5XX and ERR-ENVELOPE over every answer of the run: provisioning's, the scenarios', the
property tests' and the probes' alike, whichever client received them.

Runs near the end, from the run's transcript. An answer whose body the transcript had to
shorten cannot be read as JSON again and is not judged here (the checked client judged it
when it arrived, if it was the checked client's).
"""

from __future__ import annotations

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.run.state import Subjects
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
