"""How tasks and pages look on the wire, including the shape-changing faults and variations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from conformance.emulator.errors import json_media_type
from conformance.emulator.faults import Switches
from conformance.emulator.media import _MESSAGES
from conformance.emulator.model import Task

STREAM_HOST = "https://stream.emulator.invalid"


def timestamp(t: float, sw: Switches) -> str:
    moment = datetime.fromtimestamp(t, UTC)
    if sw.variation("timestamps-offset"):
        return moment.isoformat(timespec="microseconds")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def json_response(body: Any, sw: Switches, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                    status_code=status, media_type=json_media_type(sw))


def no_content(sw: Switches) -> Response:
    response = Response(status_code=204)
    if sw.variation("content-length-zero-on-204"):
        response.headers["content-length"] = "0"
    return response


def task_body(task: Task, now: float, sw: Switches, *, in_list: bool = False) -> dict[str, Any]:
    status, updated = task.status_at(now)
    body: dict[str, Any] = {
        "_id": task.id,
        "index_id": task.index_id,
        "video_id": task.video_id,
        "status": status,
        "created_at": timestamp(task.created_at, sw),
        "updated_at": timestamp(updated, sw),
    }
    if not sw.variation("no-system-metadata"):
        meta: dict[str, Any] = {"filename": task.filename}
        if task.duration is not None and task.width is not None and task.height is not None:
            meta.update(duration=task.duration, width=task.width, height=task.height)
            if sw.fault("list-duration-as-string" if in_list else "duration-as-string"):
                meta["duration"] = str(task.duration)
        body["system_metadata"] = meta
    wants_hls = not in_list or sw.fault("list-items-have-hls")
    if task.enable_stream and wants_hls and not sw.variation("no-hls"):
        body["hls"] = _hls(task, status, updated, sw, in_list=in_list)
    if sw.fault("updated-before-created") and not in_list:
        body["updated_at"] = timestamp(task.created_at - 1.0, sw)
    if sw.variation("extra-fields"):
        body["estimated_time"] = timestamp(task.schedule.final_at, sw)
        body["user_metadata"] = task.user_metadata
        if status == "failed" and task.failure:
            body["error_reason"] = {"code": task.failure, "message": _MESSAGES[task.failure]}
    return body


def _hls(task: Task, status: str, updated: float, sw: Switches, *, in_list: bool) -> dict:
    state = {"ready": "COMPLETE", "failed": "ERROR"}.get(status, "PROCESSING")
    if sw.fault("task-bad-status-enum") and not in_list:
        state = state.lower()
    base = f"{STREAM_HOST}/{task.video_id}"
    return {
        "video_url": f"{base}/stream.m3u8" if state != "ERROR" else "",
        "thumbnail_urls": [f"{base}/thumbnail.jpg"] if status == "ready" else [],
        "status": state,
        "updated_at": timestamp(updated, sw),
    }


def page_body(items: list[Task], total: int, page: int, limit: int, now: float,
              sw: Switches) -> dict[str, Any]:
    return {
        "data": [task_body(t, now, sw, in_list=True) for t in items],
        "page_info": {
            "limit_per_page": limit,
            "page": page,
            "total_page": -(-total // limit),
            "total_results": total,
        },
    }
