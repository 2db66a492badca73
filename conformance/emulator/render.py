"""How answers and task objects look on the wire, as the rules decide them."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from conformance.emulator.asks import NOBODY, Answer, RenderAsk
from conformance.emulator.model import Task
from conformance.emulator.rules import Rules

STREAM_HOST = "https://stream.emulator.invalid"


def answer_response(answer: Answer, rules: Rules) -> Response:
    """An Answer on the wire: no body, bytes as they are, anything else as JSON."""
    if answer.body is NOBODY:
        return Response(status_code=answer.status, headers=dict(answer.headers))
    if isinstance(answer.body, bytes):
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers),
                        media_type=answer.media_type or "application/octet-stream")
    return Response(json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode(),
                    status_code=answer.status, headers=dict(answer.headers),
                    media_type=answer.media_type or rules.media_type())


def json_response(body: Any, rules: Rules, status: int = 200) -> Response:
    return answer_response(Answer(status, body), rules)


def task_body(task: Task, now: float, rules: Rules, view: str) -> dict[str, Any]:
    """The task object of a view (retrieve or list) at ``now``."""
    status, updated = task.status_at(now)
    stamp = rules.timestamp
    body: dict[str, Any] = {
        "_id": task.id,
        "index_id": task.index_id,
        "video_id": task.video_id,
        "status": status,
        "created_at": stamp(task.created_at),
        "updated_at": stamp(updated),
    }
    meta: dict[str, Any] = {"filename": task.filename}
    if task.duration is not None and task.width is not None and task.height is not None:
        meta.update(duration=task.duration, width=task.width, height=task.height)
    body["system_metadata"] = meta
    hls = _hls(task, status, stamp(updated)) if task.enable_stream else None
    if hls is not None and view == "retrieve":  # list items never carry hls
        body["hls"] = hls
    return rules.task_fields(RenderAsk(view, task, status, body, hls))


def _hls(task: Task, status: str, updated: str) -> dict[str, Any]:
    state = {"ready": "COMPLETE", "failed": "ERROR"}.get(status, "PROCESSING")
    base = f"{STREAM_HOST}/{task.video_id}"
    return {
        "video_url": f"{base}/stream.m3u8" if state != "ERROR" else "",
        "thumbnail_urls": [f"{base}/thumbnail.jpg"] if status == "ready" else [],
        "status": state,
        "updated_at": updated,
    }


def page_body(items: list[Task], info: dict[str, int], now: float,
              rules: Rules) -> dict[str, Any]:
    return {"data": [task_body(t, now, rules, "list") for t in items], "page_info": info}
