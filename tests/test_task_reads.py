"""The run's reads of its tasks, from the transcript: which read comes after which, and the
first step back the lifecycle judge (test_97) holds against the target."""

from __future__ import annotations

import json
from typing import Any

from conformance.resources.reads import first_step_back, task_reads
from conformance.wire.transcript import Exchange, Transcript

BASE = "http://127.0.0.1:9/v1.3"
A, B = "a" * 24, "b" * 24


def _exchange(path: str, body: Any, *, sent: float, received: float,
              key: str = "primary") -> Exchange:
    return Exchange(method="GET", url=BASE + path, request_headers={}, request_body="",
                    status=200, response_headers={"content-type": "application/json"},
                    response_body=json.dumps(body), elapsed_ms=(received - sent) * 1000,
                    key_label=key, received_at=received)


def _task(task_id: str, status: str) -> dict[str, Any]:
    return {"_id": task_id, "status": status}


def _transcript(*exchanges: Exchange) -> Transcript:
    transcript = Transcript()
    for exchange in exchanges:
        transcript.append(exchange)
    return transcript


def test_retrieves_and_list_items_of_the_run_s_tasks_are_its_reads() -> None:
    transcript = _transcript(
        _exchange(f"/tasks/{A}", _task(A, "pending"), sent=1.0, received=1.1),
        _exchange("/tasks?index_id=x", {"data": [_task(A, "ready"), _task(B, "failed"),
                                                 _task("c" * 24, "ready")]},
                  sent=2.0, received=2.1),
        _exchange(f"/tasks/{A}", _task(A, "failed"), sent=3.0, received=3.1, key="invalid"))
    reads = task_reads(transcript, BASE, [A, B])
    assert [(r.status, r.listed) for r in reads[A]] == [("pending", False), ("ready", True)]
    assert [r.status for r in reads[B]] == ["failed"]


def test_a_read_sent_after_another_was_answered_must_not_step_back() -> None:
    reads = task_reads(_transcript(
        _exchange(f"/tasks/{A}", _task(A, "indexing"), sent=1.0, received=1.1),
        _exchange("/tasks", {"data": [_task(A, "queued")]}, sent=1.2, received=1.3)),
        BASE, [A])[A]
    step = first_step_back(reads)
    assert step is not None and [r.status for r in step] == ["indexing", "queued"]


def test_a_final_status_must_stay_even_when_moving_on_would_be_forward() -> None:
    reads = task_reads(_transcript(
        _exchange(f"/tasks/{A}", _task(A, "ready"), sent=1.0, received=1.1),
        _exchange(f"/tasks/{A}", _task(A, "ready"), sent=1.2, received=1.3),
        _exchange(f"/tasks/{A}", _task(A, "failed"), sent=2.0, received=2.1),
        _exchange(f"/tasks/{A}", _task(A, "ready"), sent=3.0, received=3.1)), BASE, [A])[A]
    step = first_step_back(reads)
    assert step is not None and [r.status for r in step] == ["ready", "failed"]


def test_reads_in_flight_together_have_no_order_and_unknown_statuses_are_passed_over() -> None:
    reads = task_reads(_transcript(
        # A poll answered "indexing" while a read sent before its answer came says "queued".
        _exchange(f"/tasks/{A}", _task(A, "indexing"), sent=1.0, received=1.5),
        _exchange(f"/tasks/{A}", _task(A, "queued"), sent=1.2, received=1.6),
        _exchange(f"/tasks/{A}", _task(A, "in_progress"), sent=2.0, received=2.1),
        _exchange(f"/tasks/{A}", _task(A, "ready"), sent=3.0, received=3.1)), BASE, [A])[A]
    assert first_step_back(reads) is None
