"""``conformance replay``: send a finding's story again (set-up included, new IDs captured as
the target assigns them) and judge the new final answer with the check that judged the
finding in the run.

Exit codes: 0 the finding is gone (the check holds now), 1 it still stands, 2 usage (no such
findings file or finding, a key it needs is missing), 3 it could not be replayed (a set-up
step did not give what later steps need, a wait ran out, the target is unavailable, or the
check cannot judge outside the run: schemathesis' own). What the replay created is deleted
at the end; what cannot be is left in ``replay-ledger.json`` with the command that removes it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from conformance.checks.answers import json_body
from conformance.clauses import ContractViolation
from conformance.resources.cleanup import clean
from conformance.resources.ledger import Ledger
from conformance.resources.media import sample_video, undecodable_bytes
from conformance.run.evidence import exchange_text
from conformance.run.reproduce import INVALID_KEY
from conformance.run.story import Step, fill
from conformance.settings import Secret, Settings, SettingsError, build_settings
from conformance.wire.client import ApiClient, TargetUnavailable
from conformance.wire.transcript import Transcript

__all__ = ["EXIT_COULD_NOT_REPLAY", "EXIT_GONE", "EXIT_STANDS", "add_parser", "command",
           "replay"]

EXIT_GONE, EXIT_STANDS, EXIT_USAGE, EXIT_COULD_NOT_REPLAY = 0, 1, 2, 3
_SETTINGS = ("base_url", "api_key", "second_api_key", "wait_timeout", "rate")
_CHECKS = "conformance.checks."


class CouldNotReplay(Exception):
    """The story could not be played to its end (exit 3)."""


class ReplayUsageError(Exception):
    """Bad findings file, finding or keys (exit 2)."""


def add_parser(commands: Any) -> None:
    """The ``replay`` subcommand's options (``cli.py`` calls this)."""
    parser = commands.add_parser(
        "replay", help="send a finding's requests again and say whether it still stands",
        description="Send a finding's requests again (set-up included, new IDs captured as "
        "the target assigns them) and judge the new answer with the check that judged it in "
        "the run; what the replay creates, it deletes.",
        epilog="exit codes: 0 gone, 1 stands, 2 usage, 3 could not replay")
    parser.add_argument("finding", metavar="FINDING", help="a finding's ID (F1, F2...)")
    parser.add_argument("--findings", default="reports/findings.json", metavar="FILE",
                        help="the run's findings file (default reports/findings.json)")
    parser.add_argument("--base-url", help="target (default $TWELVELABS_BASE_URL, else the "
                        "run's)")
    parser.add_argument("--api-key", help="API key ($TWELVELABS_API_KEY; prefer the variable)")
    parser.add_argument("--second-api-key", help="the second account's key "
                        "($TWELVELABS_SECOND_API_KEY), for findings that use it")
    parser.add_argument("--wait-timeout", metavar="S", help="deadline of one status wait")
    parser.add_argument("--config", metavar="FILE", help="settings file")


def command(args: argparse.Namespace) -> int:
    """Run ``conformance replay`` from parsed arguments; prints what it did."""
    try:
        document = _load(Path(args.findings))
        finding = next((f for f in document.get("findings", []) if f.get("id") == args.finding),
                       None)
        if finding is None:
            known = ", ".join(f.get("id", "?") for f in document.get("findings", [])) or "none"
            raise ReplayUsageError(f"{args.findings} has no finding {args.finding} (it has: "
                                   f"{known})")
        options = {n: getattr(args, n) for n in _SETTINGS if getattr(args, n, None) is not None}
        environ = dict(os.environ)
        if "base_url" not in options and not environ.get("TWELVELABS_BASE_URL"):
            options["base_url"] = finding["base_url"]
        settings = build_settings(options, environ,
                                  Path(args.config) if args.config else None)
        ledger = Ledger(_free(Path(args.findings).with_name("replay-ledger.json")),
                        f"replay-{finding['id']}", settings.base_url)
        return replay(finding, settings, ledger, print)
    except (ReplayUsageError, SettingsError) as exc:
        print(f"conformance replay: {exc}")
        return EXIT_USAGE


def _free(path: Path) -> Path:
    """``path``, or the first free ``replay-ledger-N.json`` beside it: an earlier replay's
    ledger of what it left behind is kept."""
    number = 1
    while path.exists():
        number += 1
        path = path.with_name(f"replay-ledger-{number}.json")
    return path


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReplayUsageError(f"cannot read findings file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReplayUsageError(f"{path} is no findings file")
    return data


def replay(finding: dict[str, Any], settings: Settings, ledger: Ledger,
           say: Callable[[str], None]) -> int:
    """Play ``finding`` (an entry of findings.json) against ``settings.base_url``; the exit
    code says whether it stands."""
    assert settings.base_url is not None
    steps = [Step.from_dict(s) for s in finding["steps"]]
    client = ApiClient(settings.base_url, settings.api_key, transcript=Transcript(),
                       rate=settings.effective_rate)
    say(f"replaying {finding['id']} [{finding['clause']}] of {finding['test']} against "
        f"{client.base_url}: {len(steps)} steps")
    try:
        values: dict[str, str] = {"BASE": client.base_url}
        answers = _play(steps, client, settings, ledger, say, values)
        code = _judge(finding, answers, values, say)
    except CouldNotReplay as exc:
        say(f"{finding['id']}: could not replay: {exc}")
        code = EXIT_COULD_NOT_REPLAY
    except ReplayUsageError as exc:
        say(f"conformance replay: {exc}")
        code = EXIT_USAGE
    except TargetUnavailable as exc:
        say(f"{finding['id']}: could not replay, the target is unavailable: {exc}")
        code = EXIT_COULD_NOT_REPLAY
    finally:
        problems = clean(ledger, client, settings.wait_timeout, say)
        for problem in problems:
            say(f"cleanup problem: {problem}")
        if problems:
            say(f"left behind, listed in {ledger.path}: conformance cleanup --ledger "
                f"{ledger.path} --base-url {client.base_url}")
        elif ledger.path is not None and ledger.path.exists():
            ledger.path.unlink()
        client.close()
    return code


def _play(steps: list[Step], client: ApiClient, settings: Settings, ledger: Ledger,
          say: Callable[[str], None], values: dict[str, str]) -> dict[int, httpx.Response]:
    """Send each step; ``values`` gains the IDs the target assigns (the story's variables)."""
    answers: dict[int, httpx.Response] = {}
    for number, step in enumerate(steps):
        if step.kind == "wait":
            _wait(client, fill(step.task, values), step.status, settings.wait_timeout, say,
                  number)
            continue
        response = _send(step, values, _caller(client, step.key, settings))
        answers[number] = response
        say(f"step {number + 1}: {step.method} {fill(step.url, values)} -> "
            f"{response.status_code} (the run saw {step.recorded_status})")
        if step.role == "evidence":
            _request, answer = exchange_text(response.extensions["conformance.exchange"])
            say("  " + answer.replace("\n", "\n  "))
        _capture(step, response, values, ledger, number)
        if response.is_success and step.method == "DELETE":
            for kind in ("task", "video", "index"):
                for entry in ledger.entries(kind, "created"):
                    if entry.id in fill(step.url, values):
                        ledger.mark_deleted(kind, entry.id)
    return answers


def _caller(client: ApiClient, key: str, settings: Settings) -> ApiClient:
    if key == "none":
        return client.with_key(None)
    if key == "invalid":
        return client.with_key(Secret(INVALID_KEY), "invalid")
    if key == "second":
        if settings.second_api_key is None:
            raise ReplayUsageError("this finding sends requests as the second account: set "
                                   "TWELVELABS_SECOND_API_KEY (or --second-api-key)")
        return client.with_key(settings.second_api_key, "second")
    return client


def _send(step: Step, values: dict[str, str], client: ApiClient) -> httpx.Response:
    url = step.url
    if not url.startswith("${BASE}"):
        raise CouldNotReplay(f"{url} is not on the target's base URL")
    path = fill(url[len("${BASE}"):], values)
    headers = {name: fill(value, values) for name, value in step.headers}
    kwargs: dict[str, Any] = {}
    if step.form or step.files:
        parts: list[tuple[str, Any]] = [(n, (None, fill(v, values))) for n, v in step.form]
        for name, filename, content in step.files:
            data = undecodable_bytes() if content == "undecodable" else sample_video()
            parts.append((name, (filename, data, "video/mp4")))
        kwargs["files"] = parts
    elif step.body is not None:
        kwargs["content"] = fill(step.body, values).encode()
        if step.json_body:
            headers["content-type"] = "application/json"
    return client.request(step.method, path, headers=headers, **kwargs)


def _capture(step: Step, response: httpx.Response, values: dict[str, str], ledger: Ledger,
             number: int) -> None:
    body = json_body(response)
    made: dict[str, str] = {}
    for variable, name in step.captures.items():
        value = body.get(name) if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise CouldNotReplay(f"step {number + 1} ({step.method} {step.url}) answered "
                                 f"{response.status_code} without {name!r}; later steps need it")
        values[variable] = made[variable.split("_")[0]] = value
    if "INDEX" in made:
        ledger.add("index", made["INDEX"], name="replay")
    if "TASK" in made:
        index_id = next((fill(v, values) for n, v in step.form if n == "index_id"), "")
        ledger.add("task", made["TASK"], index_id=index_id)
        if "VIDEO" in made:
            ledger.add("video", made["VIDEO"], index_id=index_id, task_id=made["TASK"])


def _wait(client: ApiClient, task_id: str, wanted: str, timeout: float,
          say: Callable[[str], None], number: int) -> None:
    deadline, interval = time.monotonic() + timeout, 0.2
    while True:
        response = client.retrieve_task(task_id)
        body = json_body(response)
        status = body.get("status") if isinstance(body, dict) else None
        if status == wanted:
            say(f"step {number + 1}: task {task_id} is {wanted}")
            return
        if status in ("ready", "failed"):
            raise CouldNotReplay(f"step {number + 1}: task {task_id} is {status}, the run saw "
                                 f"it {wanted}")
        if time.monotonic() + interval > deadline:
            raise CouldNotReplay(f"step {number + 1}: task {task_id} never showed {wanted} "
                                 f"within {timeout:g} s (last: {status or response.status_code})")
        time.sleep(interval)
        interval = min(2.0, interval * 1.5)


def _judge(finding: dict[str, Any], answers: dict[int, httpx.Response],
           values: dict[str, str], say: Callable[[str], None]) -> int:
    check = finding.get("check") or {}
    name, clause_id = check.get("name"), check.get("clause") or finding["clause"]
    if not name:
        return _compare(finding, answers, say)
    if not str(name).startswith(_CHECKS) or ":" not in name:
        raise CouldNotReplay(f"the finding was judged by {name}, which cannot judge outside "
                             f"the run; compare the answers above with: {finding['message']}")
    module, function = str(name).split(":", 1)
    judge = getattr(importlib.import_module(module), function)
    arguments = {k: _argument(v, answers, values, k)
                 for k, v in check.get("arguments", {}).items()}
    try:
        judge(**arguments)
    except ContractViolation as exc:
        if exc.clause_id == clause_id:
            say(f"{finding['id']} [{finding['clause']}] stands: {exc.message}")
            return EXIT_STANDS
        say(f"{finding['id']} [{finding['clause']}] gone, but {function} now finds "
            f"[{exc.clause_id}] {exc.message}")
        return EXIT_GONE
    say(f"{finding['id']} [{finding['clause']}] gone: {function} holds for the new answer")
    return EXIT_GONE


def _compare(finding: dict[str, Any], answers: dict[int, httpx.Response],
             say: Callable[[str], None]) -> int:
    """A finding the test judged by itself (no check recorded): it stands while the final
    answer is the run's again (same status, same error code), and is gone once it differs."""
    steps = finding["steps"]
    last = max((n for n, s in enumerate(steps) if s.get("role") == "evidence" and n in answers),
               default=None)
    if last is None:
        raise CouldNotReplay("the finding names no answer to compare")
    response = answers[last]
    body = json_body(response)
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"),
                                                                     str) else ""
    was = (steps[last].get("recorded_status"), steps[last].get("recorded_code", ""))
    now = f"{response.status_code}" + (f" {code}" if code else "")
    seen = f"{was[0]}" + (f" {was[1]}" if was[1] else "")
    if (response.status_code, code) == was:
        say(f"{finding['id']} [{finding['clause']}] stands: the test judged by itself and the "
            f"answer is the run's again ({now}): {finding['message']}")
        return EXIT_STANDS
    say(f"{finding['id']} [{finding['clause']}] gone: the test judged by itself, and the "
        f"answer it judged is no longer the run's ({seen} then, {now} now)")
    return EXIT_GONE


def _argument(encoded: Any, answers: dict[int, httpx.Response], values: dict[str, str],
              name: str) -> Any:
    """A check's argument rebuilt from the replay: answers by step, literals with the new IDs."""
    if not isinstance(encoded, dict) or len(encoded) != 1:
        raise CouldNotReplay(f"the check's argument {name} was not recorded")
    (kind, value), = encoded.items()
    if kind in ("answer", "body_of"):
        if value not in answers:
            raise CouldNotReplay(f"the check's argument {name} names no answer of the story")
        return answers[value] if kind == "answer" else json_body(answers[value])
    if kind == "list":
        return [_argument(v, answers, values, name) for v in value]
    if kind == "value":
        return _filled(value, values)
    if kind == "set":
        return set(_filled(value, values))
    raise CouldNotReplay(f"the check's argument {name} cannot be rebuilt ({value})")


def _filled(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [_filled(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v, values) for k, v in value.items()}
    return value
