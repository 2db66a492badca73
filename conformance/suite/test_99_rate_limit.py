"""RATE-LIMIT: the suite itself waited out every 429 of the run and sent the request again.

A 429 is never held against a target. This test judges the suite instead: it runs last, reads
the run's transcript, and ends in a harness error (never a clause failure) when a request
followed a 429 too soon or was dropped after one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conformance.run.state import RunState, Subjects
from conformance.subjects import subject
from conformance.wire.client import ApiClient
from conformance.wire.politeness import Timed, rate_limit_problems

pytestmark = pytest.mark.clause("RATE-LIMIT")


class RateLimitNotHonoured(Exception):
    """The suite broke its own RATE-LIMIT promise: a harness error, never a target's fault."""


def _counted_by_clients(clients: Sequence[ApiClient]) -> int:
    """429s the suite's clients counted; siblings share one stats object, counted once."""
    stats = {id(c.stats): c.stats for c in clients}
    return sum(s.rate_limited for s in stats.values())


def test_the_suite_waited_out_every_429_and_sent_the_request_again(
        state: RunState, judged: Subjects) -> None:
    exchanges = state.transcript.since(0)
    seen = sum(1 for e in exchanges if e.status == 429)
    counted = _counted_by_clients(state.clients)
    if not seen and not counted:
        pytest.skip("disabled: the target sent no 429 in this run")
    problems = []
    if counted > seen:
        problems.append(f"the suite's clients counted {counted} 429 answers but the transcript "
                        f"holds {seen}: every attempt must be recorded")
    problems += rate_limit_problems([Timed(e, e.received_at, e.received_wall) for e in exchanges])
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more"
                                            if len(problems) > 5 else "")
        raise RateLimitNotHonoured(f"RATE-LIMIT: the suite did not honour {len(problems)} of "
                                   f"the run's {seen} 429 answers: {shown}")
    judged.add("RATE-LIMIT", subject("RATE-LIMIT", "429 answers waited out", str(seen)))
