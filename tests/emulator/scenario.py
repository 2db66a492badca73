"""A scripted walk through every subject the mutants name, recording every answer.

Two accounts, tasks at each unfinished status, ready and failed tasks, deletes of each, a video
delete, look-alike keys on every operation, missing and malformed IDs, rejected creates, page
walks of each view, every kind of error: run against the clean emulator and against a mutant,
the two transcripts must differ (else the mutant changes nothing anyone could see). IDs and
timestamps are replaced by their order of first appearance, so two runs compare.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import httpx

from conformance.emulator import create_app
from conformance.emulator.lifecycle import Clock

from emulator_support import MODELS, SAMPLE  # isort: skip

OWNER, OTHER = "scenario-owner-key-0000000000000000", "scenario-other-key-0000000000000000"
START = 1_700_000_000.0
_TOKEN = re.compile(r"[0-9a-f]{24}")
_OPERATIONS = ("create_task", "list_tasks", "retrieve_task", "delete_task", "delete_video",
               "create_index", "delete_index")


class Walk:
    def __init__(self, client: httpx.AsyncClient, clock: Clock) -> None:
        self.client, self.clock = client, clock
        self.lines: list[str] = []
        self._names: dict[str, str] = {}

    def _name(self, match: re.Match[str]) -> str:
        return self._names.setdefault(match.group(0), f"<id{len(self._names)}>")

    async def call(self, label: str, method: str, path: str, key: str | None = OWNER,
                   **kwargs: Any) -> httpx.Response:
        headers = {} if key is None else {"x-api-key": key}
        answer = await self.client.request(method, f"/v1.3/{path}", headers=headers, **kwargs)
        shown = f"{label}: {answer.status_code} {answer.headers.get('content-type', '-')} " \
                f"{answer.headers.get('content-length', '-')} {answer.text}"
        self.lines.append(_TOKEN.sub(self._name, shown))
        return answer

    async def index(self, key: str = OWNER) -> str:
        answer = await self.call("index", "POST", "indexes", key,
                                 json={"index_name": "s", "models": MODELS})
        return str(answer.json()["_id"])

    async def task(self, index: str, ready: bool = True) -> dict[str, str]:
        video = SAMPLE if ready else b"not a video"
        answer = await self.call("create", "POST", "tasks", data={"index_id": index},
                                 files={"video_file": ("clip.mp4", video, "video/mp4")})
        try:
            body = answer.json()
        except ValueError:
            body = {}
        # a mutant may answer anything: keep walking with what there is
        return {name: str(body.get(name) if isinstance(body, dict) else None)
                for name in ("_id", "video_id")}

    async def look(self, label: str, index: str, *tasks: dict[str, str],
                   extra: tuple[dict[str, Any], ...] = ()) -> None:
        """Every view of the account: each task retrieved, lists of each kind, paged, and
        what the other account sees."""
        for params in ({}, {"index_id": index}):
            await self.call(f"{label} other lists {params}", "GET", "tasks", OTHER,
                            params={**params, "page_limit": 50})
        for n, task in enumerate(tasks):
            await self.call(f"{label} retrieve {n}", "GET", f"tasks/{task['_id']}")
        for params in ({}, {"index_id": index}, {"status": "ready"}, {"status": "failed"},
                       {"status": ["ready", "failed"]}, {"sort_by": "updated_at"},
                       {"sort_option": "asc"}, {"sort_by": "updated_at", "index_id": index},
                       *extra):
            first = await self.call(f"{label} list {params} p1", "GET", "tasks",
                                    params={**params, "page_limit": 3})
            last = int(first.json().get("page_info", {}).get("total_page", 1)) \
                if first.status_code == 200 else 1
            for page in sorted({2, last, last + 1} - {1}):
                await self.call(f"{label} list {params} p{page}", "GET", "tasks",
                                params={**params, "page": page, "page_limit": 3})


async def _walk(walk: Walk) -> None:
    clock = walk.clock
    index, second, foreign = await walk.index(), await walk.index(), await walk.index(OTHER)
    spare = await walk.index()
    await walk.task(foreign)
    # tasks at each unfinished status at once: created 0.32 s apart
    unfinished = []
    for n in range(4):
        if n:
            clock.advance(0.32)
        unfinished.append(await walk.task(index))
    doomed = await walk.task(index, ready=False)
    elsewhere = await walk.task(second)
    statuses = tuple({"status": s} for s in ("validating", "pending", "queued", "indexing"))
    await walk.look("unfinished", index, *unfinished, doomed, elsewhere, extra=statuses)
    for n, task in enumerate([*unfinished, doomed]):
        await walk.call(f"delete unfinished {n}", "DELETE", f"tasks/{task['_id']}")
        await walk.call(f"other retrieves unfinished {n}", "GET", f"tasks/{task['_id']}", OTHER)
        await walk.call(f"other deletes unfinished {n}", "DELETE", f"tasks/{task['_id']}",
                        OTHER)
    await walk.look("after refusals", index, *unfinished, doomed, elsewhere)
    ready = [await walk.task(index) for _ in range(3)]
    failed = [await walk.task(index, ready=False) for _ in range(3)]
    clock.advance(30)
    everything = [*unfinished, doomed, elsewhere, *ready, *failed]
    await walk.look("settled", index, *everything)
    # look-alike keys on every operation, then what they changed
    looks = {"none": None, "empty": "", "unknown": "nobody-0000", "suffix": OWNER + "x",
             "truncated": OWNER[:-1], "case": OWNER.upper()}
    for kind, key in looks.items():
        await walk.call(f"{kind} create", "POST", "tasks", key, data={"index_id": index},
                        files={"video_file": ("clip.mp4", SAMPLE, "video/mp4")})
        await walk.call(f"{kind} list", "GET", "tasks", key)
        await walk.call(f"{kind} retrieve", "GET", f"tasks/{ready[0]['_id']}", key)
        await walk.call(f"{kind} delete", "DELETE", f"tasks/{failed[0]['_id']}", key)
        await walk.call(f"{kind} delete video", "DELETE",
                        f"indexes/{index}/videos/{ready[1]['video_id']}", key)
        await walk.call(f"{kind} create index", "POST", "indexes", key,
                        json={"index_name": "k", "models": MODELS})
        await walk.call(f"{kind} delete index", "DELETE", f"indexes/{spare}", key)
    await walk.look("after look-alikes", index, *everything)
    await walk.call("create in the spare index", "POST", "tasks", data={"index_id": spare},
                    files={"video_file": ("clip.mp4", SAMPLE, "video/mp4")})
    await walk.call("delete ready with video", "DELETE", f"tasks/{ready[1]['_id']}")
    # the other account against the owner's subjects
    await walk.call("other retrieves ready", "GET", f"tasks/{ready[2]['_id']}", OTHER)
    await walk.call("other deletes ready", "DELETE", f"tasks/{ready[2]['_id']}", OTHER)
    await walk.call("other deletes video", "DELETE",
                    f"indexes/{index}/videos/{ready[2]['video_id']}", OTHER)
    await walk.call("other creates", "POST", "tasks", OTHER, data={"index_id": index},
                    files={"video_file": ("clip.mp4", SAMPLE, "video/mp4")})
    for params in ({}, {"index_id": index}):
        await walk.call(f"other lists {params}", "GET", "tasks", OTHER, params=params)
    # deletes: refused ready, then its video, then it; a failed one; and what they changed
    await walk.call("delete ready with video", "DELETE", f"tasks/{ready[0]['_id']}")
    await walk.look("after refused ready", index, *everything)
    await walk.call("delete video", "DELETE", f"indexes/{index}/videos/{ready[0]['video_id']}")
    await walk.look("after video delete", index, *everything)
    for task in (ready[0], failed[1]):
        await walk.call("other retrieves deletable", "GET", f"tasks/{task['_id']}", OTHER)
        await walk.call("other deletes deletable", "DELETE", f"tasks/{task['_id']}", OTHER)
    for task in (ready[0], failed[1]):
        await walk.call("delete deletable", "DELETE", f"tasks/{task['_id']}")
        await walk.look("after delete", index, *everything)
        await walk.call("delete again", "DELETE", f"tasks/{task['_id']}")
    clock.advance(3.5)
    await walk.look("later", index, *everything)
    # missing and malformed IDs (the malformed forms of a deletable task's ID)
    unknown = "0123456789abcdef01234567"
    await walk.call("retrieve unknown", "GET", f"tasks/{unknown}")
    await walk.call("delete unknown", "DELETE", f"tasks/{unknown}")
    target = failed[2]["_id"]
    for n, form in enumerate((target + "0", target[:-1], " " + target, target + " ",
                              target.upper(), "z" * 24, "abc", "a" * 100, "é" * 24)):
        await walk.call(f"delete malformed {n}", "DELETE", f"tasks/{quote(form)}")
        await walk.call(f"retrieve malformed {n}", "GET", f"tasks/{quote(form)}")
    await walk.call("retrieve target", "GET", f"tasks/{target}")
    # creates the contract refuses, and valid ones
    sample = {"video_file": ("clip.mp4", SAMPLE, "video/mp4")}
    for label, data, files in (("no index", {}, sample), ("malformed index", {"index_id": "x"},
                               sample), ("unknown index", {"index_id": unknown}, sample),
                               ("no source", {"index_id": index}, {"_": ("", b"", "text/plain")}),
                               ("url", {"index_id": index,
                                        "video_url": "https://cdn.example.com/a.mp4"}, None)):
        await walk.call(f"create {label}", "POST", "tasks", data=data, files=files)
    await walk.call("list after creates", "GET", "tasks", params={"page_limit": 50})
    # queries: bad values, page_limit above 50, an unknown path
    for params in ({"page": "one"}, {"sort_by": "size"}, {"page_limit": 60}):
        await walk.call(f"list {params}", "GET", "tasks", params=params)
    await walk.call("unknown path", "GET", "nowhere")
    # a lifecycle watched closely, and the views of the new tasks
    watched = [await walk.task(index), await walk.task(index, ready=False)]
    for step in range(50):
        for task in watched:
            await walk.call(f"watch {step}", "GET", f"tasks/{task['_id']}")
        clock.advance(0.1)
    await walk.look("end", index, *everything, *watched)
    for n, task in enumerate([*unfinished, *ready, *watched]):  # a video shows in a delete
        await walk.call(f"end delete {n}", "DELETE", f"tasks/{task['_id']}")


def transcript(**options: Any) -> list[str]:
    """The walk's answers against an emulator made with these options."""
    clock = Clock.manual(start=START)
    app = create_app(api_keys=(OWNER, OTHER), clock=clock, latency=0, **options)

    async def go() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://emulator") as client:
            walk = Walk(client, clock)
            await _walk(walk)
            return walk.lines

    return asyncio.run(go())


OPERATIONS = _OPERATIONS
