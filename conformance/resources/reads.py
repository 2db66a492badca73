"""The run's reads of task objects, from its transcript: every retrieve answer and every list
item an account's key received, with when each request went out and its answer came, so that
a read can be placed after another only when it was sent once the other was answered
(concurrent reads, a settle poll beside the probe, have no order between them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.checks.tasks import FINAL_STATUSES, LIFECYCLE_RANK
from conformance.wire.transcript import Exchange, Transcript

__all__ = ["ACCOUNTS", "TaskRead", "account_reads", "answer_of", "first_step_back",
           "task_reads"]

ACCOUNTS = frozenset({"primary", "second"})
"""Keys whose 200s are the accounts' own reads (a 200 to a missing or invalid key is
AUTH-REQUIRED's finding, whatever its body)."""
# Headers that describe the bytes on the wire, not the decoded body the transcript keeps.
_WIRE_ONLY = {"content-encoding", "content-length", "transfer-encoding"}


def answer_of(exchange: Exchange) -> httpx.Response:
    """The recorded answer as the checks read one (its exchange attached, for evidence)."""
    headers = {k: v for k, v in exchange.response_headers.items()
               if k.lower() not in _WIRE_ONLY}
    answer = httpx.Response(exchange.status or 0, headers=headers,
                            content=exchange.response_body.encode("utf-8"),
                            request=httpx.Request(exchange.method, exchange.url))
    answer.extensions["conformance.exchange"] = exchange
    return answer


def account_reads(transcript: Transcript, base_url: str, *, listed: bool) -> Iterator[Exchange]:
    """Every 200 the run got to a retrieve (or, ``listed``, a list) with an account's key."""
    base = urlsplit(base_url).path.rstrip("/")
    for exchange in transcript.since(0):
        if exchange.status != 200 or exchange.method != "GET" \
                or exchange.key_label not in ACCOUNTS:
            continue
        parts = urlsplit(exchange.url).path.removeprefix(base).split("/")
        if (listed and parts == ["", "tasks"]) or \
                (not listed and len(parts) == 3 and parts[1] == "tasks" and parts[2]):
            yield exchange


@dataclass(frozen=True)
class TaskRead:
    """One task object the run read: a retrieve answer, or an item of a list page."""

    task_id: str
    body: Mapping[str, Any]
    exchange: Exchange
    listed: bool

    @property
    def status(self) -> Any:
        return self.body.get("status")

    @property
    def received(self) -> float:
        return self.exchange.received_at

    @property
    def sent(self) -> float:
        return self.exchange.received_at - self.exchange.elapsed_ms / 1000

    def where(self) -> str:
        return f"an item of GET {self.exchange.url}" if self.listed else \
            f"GET {self.exchange.url}"


def task_reads(transcript: Transcript, base_url: str,
               task_ids: Iterable[str]) -> dict[str, list[TaskRead]]:
    """Per task of ``task_ids``, every object of it the run read whole, in transcript order."""
    wanted = set(task_ids)
    found: dict[str, list[TaskRead]] = {task_id: [] for task_id in wanted}
    for listed in (False, True):
        for exchange in account_reads(transcript, base_url, listed=listed):
            if exchange.response_truncated:
                continue
            try:
                body = json.loads(exchange.response_body)
            except ValueError:
                continue
            items = (body.get("data") if isinstance(body, dict) else None) if listed else [body]
            for item in items if isinstance(items, list) else []:
                task_id = item.get("_id") if isinstance(item, dict) else None
                if isinstance(task_id, str) and task_id in wanted:
                    found[task_id].append(TaskRead(task_id, item, exchange, listed))
    for reads in found.values():
        reads.sort(key=lambda r: r.received)
    return found


def first_step_back(reads: Sequence[TaskRead]) -> tuple[TaskRead, TaskRead] | None:
    """The first pair of reads of one task whose second, sent after the first was answered,
    shows an earlier status of the lifecycle, or another status after a final one (None:
    there is none). Statuses outside the lifecycle are TASK-SHAPE's and passed over."""
    ranked = [r for r in reads if r.status in LIFECYCLE_RANK]
    for later in sorted(ranked, key=lambda r: r.sent):
        before = [r for r in ranked if r.received <= later.sent]
        final = next((r for r in before if r.status in FINAL_STATUSES
                      and r.status != later.status), None)
        if final is not None:
            return final, later
        ahead = max(before, key=lambda r: LIFECYCLE_RANK[r.status], default=None)
        if ahead is not None and LIFECYCLE_RANK[ahead.status] > LIFECYCLE_RANK[later.status]:
            return ahead, later
    return None
