"""The story of a finding: the run's own exchanges that lead to its evidence, in order.

A verdict often rests on an answer whose preconditions were made long before, in shared
set-up: the index the run created, the task it uploaded, the wait until the task was ready,
the delete of its video. From the whole transcript this picks the exchanges that concern the
finding's resources (their creation, and every request that acted on them), turns the status
reads between them into waits for the status the next step needed, and writes every ID the
target assigned as a variable captured from the answer that assigned it (``${TASK_1}``), the
base URL as ``${BASE}``. A reproduction script and ``conformance replay`` both play it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance.resources.media import sample_video, undecodable_bytes
from conformance.wire.transcript import Exchange

__all__ = ["Step", "Story", "build_story", "fill", "is_create", "template_value"]

_CREATES = {"/indexes": (("index", "_id"),), "/tasks": (("task", "_id"), ("video", "video_id"))}
_NAMES = {"index": "INDEX", "task": "TASK", "video": "VIDEO"}


@dataclass
class Step:
    """One step of a story: a request to send again, or a wait for a task's status."""

    kind: str
    """send or wait."""
    role: str = "setup"
    """setup, or evidence: an answer the verdict rests on."""
    position: int | None = None
    """Where the recorded exchange stands in the run's transcript (sends only)."""
    method: str = ""
    url: str = ""
    """The URL with ${BASE} and ${VARIABLES} in place of what a new run would change."""
    key: str = "primary"
    """Which key the request carried: primary, second, invalid, none (see wire/transcript)."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Request headers beyond the ones every client sends (x-api-key is ``key``)."""
    form: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, str, str]] = field(default_factory=list)
    """(field, filename, content): content is sample, undecodable or unknown."""
    body: str | None = None
    json_body: bool = False
    captures: dict[str, str] = field(default_factory=dict)
    """Variable -> the answer's JSON field it is read from (the IDs a create assigned)."""
    task: str = ""
    """wait: the task (a template) whose status is awaited."""
    status: str = ""
    """wait: the status the run saw before the next step."""
    recorded_status: int | None = None
    recorded_code: str = ""
    """The error code of the answer the run got (``code`` of a JSON error body), if any."""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if v not in (None, "", [], {})}
        data["kind"] = self.kind
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("headers", "form", "files"):
            known[name] = [tuple(item) for item in known.get(name, [])]
        return cls(**known)


@dataclass
class Story:
    base_url: str
    steps: list[Step]
    variables: dict[str, str]
    """Variable -> the ID it stood for in the run (the findings file shows both)."""

    @property
    def keys(self) -> set[str]:
        return {s.key for s in self.steps if s.kind == "send"} | (
            {"primary"} if any(s.kind == "wait" for s in self.steps) else set())


def is_create(exchange: Exchange, base_url: str) -> list[tuple[str, str, str]]:
    """What a successful create assigned: (id, kind, answer field) per ID, else []."""
    if exchange.method != "POST" or exchange.status is None or not 200 <= exchange.status < 300:
        return []
    made = _CREATES.get(_path(exchange.url, base_url))
    if made is None:
        return []
    try:
        body = json.loads(exchange.response_body)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    return [(body[name], kind, name) for kind, name in made
            if isinstance(body.get(name), str) and body[name]]


def build_story(items: Sequence[Exchange], evidence: Sequence[int], base_url: str,
                also: Iterable[str] = ()) -> Story:
    """The steps that lead to the ``evidence`` positions of ``items`` (the run's transcript);
    ``also`` names IDs the verdict rests on beyond the evidence's requests (a check's
    arguments)."""
    base = base_url.rstrip("/")
    end = max(evidence)
    created: dict[str, tuple[int, str, str]] = {}
    for position in range(end + 1):
        for rid, kind, name in is_create(items[position], base):
            created.setdefault(rid, (position, kind, name))
    included = set(evidence)
    needed: set[str] = set()
    queue = [rid for p in evidence for rid in _mentions(items[p], created)]
    queue += [rid for rid in also if rid in created]
    # A list of an index shows what was made in it: its tasks belong to the story.
    for position in evidence:
        exchange = items[position]
        if exchange.method == "GET" and _path(exchange.url, base) == "/tasks":
            indexes = [r for r in _mentions(exchange, created) if created[r][1] == "index"]
            queue += [rid for rid, (at, kind, _) in created.items() if kind == "task"
                      and at < position and any(i in _haystack(items[at]) for i in indexes)]
    while queue:
        rid = queue.pop()
        if rid in needed:
            continue
        needed.add(rid)
        made_at, kind, _ = created[rid]
        included.add(made_at)
        queue += _mentions(items[made_at], created)
        # What one create made together (a task and its video) is one subject.
        queue += [other for other, (at, _, _) in created.items() if at == made_at]
        if kind == "index":
            continue  # a container: only its creation matters to what happens inside it
        for position in range(made_at + 1, end):
            exchange = items[position]
            if _acts_on(exchange, rid, base):
                included.add(position)
                queue += _mentions(exchange, created)
    return _steps(items, sorted(included), set(evidence), created, needed, base)


def _steps(items: Sequence[Exchange], included: list[int], evidence: set[int],
           created: dict[str, tuple[int, str, str]], needed: set[str], base: str) -> Story:
    variables: dict[str, str] = {}
    counts: dict[str, int] = {}
    for rid in sorted(needed, key=lambda r: (created[r][0], created[r][2])):
        kind = created[rid][1]
        counts[kind] = counts.get(kind, 0) + 1
        variables[rid] = f"{_NAMES[kind]}_{counts[kind]}"
    shown = sorted(variables, key=len, reverse=True)

    def fill_ids(text: str) -> str:
        for rid in shown:
            if rid in text:
                text = text.replace(rid, "${" + variables[rid] + "}")
        return text

    families = _families(created, needed)
    steps: list[Step] = []
    waited: dict[str, str] = {}
    for position in included:
        exchange = items[position]
        for task in _tasks_touched(exchange, families):
            status = _last_status(items, task, created[task][0], position, base)
            if status is not None and waited.get(task) != status:
                waited[task] = status
                steps.append(Step("wait", task=fill_ids(task), status=status,
                                  note=fill_ids(f"wait until task {task} is {status}")))
        step = _send(exchange, position, base, fill_ids)
        step.role = "evidence" if position in evidence else "setup"
        step.captures = {variables[rid]: name for rid, (p, _, name) in created.items()
                         if p == position and rid in variables}
        steps.append(step)
    return Story(base, steps, {v: rid for rid, v in variables.items()})


def _send(exchange: Exchange, position: int, base: str, fill_ids: Any) -> Step:
    url = exchange.url
    url = "${BASE}" + url[len(base):] if url.startswith(base) else url
    skip = {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length",
            "content-type", "x-api-key"}
    headers = [(k, fill_ids(v)) for k, v in exchange.request_headers.items()
               if k.lower() not in skip]
    multipart = bool(exchange.form or exchange.files)
    body = None if multipart or not exchange.request_body else fill_ids(exchange.request_body)
    if body is not None and exchange.request_headers.get("content-type") and not \
            exchange.json_body:
        headers.append(("content-type", exchange.request_headers["content-type"]))
    return Step("send", position=position, method=exchange.method, url=fill_ids(url),
                key=exchange.key_label, headers=headers,
                form=[(k, fill_ids(v)) for k, v in exchange.form],
                files=[(name, filename, _content(size)) for name, filename, size in
                       exchange.files],
                body=body, json_body=exchange.json_body, recorded_status=exchange.status,
                recorded_code=_error_code(exchange.response_body),
                note=fill_ids(f"{exchange.method} {_path(exchange.url, base)} -> "
                              f"{exchange.status}"))


def _error_code(body: str) -> str:
    try:
        found = json.loads(body) if body.startswith("{") else None
    except ValueError:
        return ""
    code = found.get("code") if isinstance(found, dict) else None
    return code if isinstance(code, str) else ""


def _content(size: int) -> str:
    if size == len(sample_video()):
        return "sample"
    return "undecodable" if size == len(undecodable_bytes()) else "unknown"


def _path(url: str, base: str) -> str:
    rest = url[len(base):] if url.startswith(base) else urlsplit(url).path
    return rest.split("?", 1)[0]


def _haystack(exchange: Exchange) -> str:
    return " ".join([exchange.url, *(v for _, v in exchange.form), exchange.request_body])


def _mentions(exchange: Exchange, created: dict[str, Any]) -> list[str]:
    text = _haystack(exchange)
    return [rid for rid in created if rid in text]


def _acts_on(exchange: Exchange, rid: str, base: str) -> bool:
    """A request (not a read, not a create, answered) that names the resource: a delete, a
    stranger's attempt; reads become waits, creates are steps of their own IDs."""
    if exchange.method in ("GET", "HEAD", "OPTIONS") or exchange.status in (None, 429):
        return False
    if exchange.method == "POST" and _path(exchange.url, base) in _CREATES:
        return False
    return rid in _haystack(exchange)


def _families(created: dict[str, tuple[int, str, str]], needed: set[str]) -> dict[str, str]:
    """Each needed task and video ID -> its task (a video's task is the one made with it)."""
    tasks = {created[rid][0]: rid for rid in needed if created[rid][1] == "task"}
    return {rid: tasks[created[rid][0]] for rid in needed
            if created[rid][1] in ("task", "video") and created[rid][0] in tasks}


def _tasks_touched(exchange: Exchange, families: dict[str, str]) -> list[str]:
    text = _haystack(exchange)
    return list(dict.fromkeys(task for rid, task in families.items() if rid in text))


def _last_status(items: Sequence[Exchange], task: str, made_at: int, before: int,
                 base: str) -> str | None:
    """The status the run last read of ``task`` before ``before`` (what that step needed)."""
    wanted = f"/tasks/{task}"
    for position in range(before - 1, made_at, -1):
        exchange = items[position]
        if exchange.method == "GET" and exchange.status == 200 and \
                _path(exchange.url, base) == wanted:
            try:
                body = json.loads(exchange.response_body)
            except ValueError:
                continue
            status = body.get("status") if isinstance(body, dict) else None
            if isinstance(status, str):
                return status
    return None


def fill(template: str, values: dict[str, str]) -> str:
    """A template with its ${VARIABLES} replaced (replay)."""
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    return template


def template_value(value: Any, variables: dict[str, str]) -> Any:
    """A check's literal argument with the IDs of a story (``variables``: name -> ID)
    written as its variables."""
    if isinstance(value, str):
        for name, rid in sorted(variables.items(), key=lambda kv: len(kv[1]), reverse=True):
            value = value.replace(rid, "${" + name + "}")
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [template_value(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: template_value(v, variables) for k, v in value.items()}
    return value
