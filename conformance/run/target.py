"""The target of a run: the embedded emulator when none is given, and the preflight check.

The preflight sends one cheap authenticated request so that a target that is down or a key
that is refused is reported in seconds, with one line, before any test starts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.resources.cleanup import answer_json
from conformance.run.summary import EXIT_ENDPOINTS_GONE
from conformance.settings import Settings

PREFLIGHT_TIMEOUT = 5.0
_NEVER_ISSUED = "ffffffff0c0ffee0c0ffee00"  # a 2106 creation time: no task has this ID


class TargetError(Exception):
    """The run cannot start against this target; carries its exit code (2, 3 or 4)."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


@dataclass
class EmbeddedTarget:
    """A running embedded emulator with two accounts; ``stop()`` shuts it down."""

    base_url: str
    api_key: str
    second_api_key: str
    server: Any

    def stop(self) -> None:
        self.server.stop()


def start_embedded() -> EmbeddedTarget:
    """Start the emulator on a free loopback port with two freshly drawn account keys."""
    try:
        from conformance.emulator import create_app
        from conformance.emulator.server import start_in_thread
    except ImportError as exc:
        raise TargetError(3, f"the embedded emulator is not available: {exc}") from None
    keys = [f"tlk_{secrets.token_hex(16)}", f"tlk_{secrets.token_hex(16)}"]
    try:
        server = start_in_thread(create_app(api_keys=keys))
    except Exception as exc:  # any start-up failure means the run cannot happen
        raise TargetError(3, f"the embedded emulator did not start: {exc}") from None
    return EmbeddedTarget(server.base_url.rstrip("/"), keys[0], keys[1], server)


def attach_embedded(settings: Settings) -> tuple[Settings, EmbeddedTarget | None]:
    """The settings pointed at a target: the configured one, or a freshly started emulator."""
    if settings.base_url is not None:
        return settings, None
    target = start_embedded()
    return settings.with_target(target.base_url, target.api_key, target.second_api_key), target


def preflight(settings: Settings, timeout: float = PREFLIGHT_TIMEOUT) -> None:
    """One authenticated ``GET /tasks?page_limit=1``; TargetError when the run cannot start."""
    assert settings.base_url is not None, "preflight needs a target"
    url = f"{settings.base_url}/tasks"
    headers = {"x-api-key": settings.api_key.reveal()} if settings.api_key else {}
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url, params={"page_limit": 1}, headers=headers)
    except httpx.TimeoutException:
        raise TargetError(
            3, f"target unreachable: {settings.base_url} did not answer within {timeout:g} s"
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise TargetError(3, f"target unreachable: {settings.base_url}: {reason}") from None
    if response.status_code == 401:
        raise TargetError(2, f"the API key (TWELVELABS_API_KEY / --api-key) was refused by "
                          f"{settings.base_url} (401)")
    if _endpoint_gone(response):
        _tasks_endpoints_gone(settings, headers, timeout)
    if response.status_code in (404, 405):
        raise TargetError(
            2, f"{settings.base_url} answered {response.status_code} to GET /tasks: the base "
            "URL must include the version prefix (e.g. https://api.twelvelabs.io/v1.3)")
    if settings.second_api_key is not None:
        _second_key(settings, url, timeout)


def _second_key(settings: Settings, url: str, timeout: float) -> None:
    """The second account's key is a key too: a refused one would make every isolation test
    see a 401 as the refusal it expects, and pass."""
    assert settings.second_api_key is not None
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url, params={"page_limit": 1},
                                  headers={"x-api-key": settings.second_api_key.reveal()})
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise TargetError(3, f"target unreachable: {settings.base_url}: {reason}") from None
    if response.status_code == 401:
        raise TargetError(2, "the second API key (TWELVELABS_SECOND_API_KEY / "
                          f"--second-api-key) was refused by {settings.base_url} (401): "
                          "TENANT-ISOLATION needs a key the target accepts for another "
                          "account")


def _endpoint_gone(response: httpx.Response) -> bool:
    """The answer says the endpoint itself is gone, not a resource: 410, or 404 with code
    ``endpoint_not_exists``."""
    return response.status_code == 410 or (
        response.status_code == 404 and answer_json(response).get("code") == "endpoint_not_exists")


def _tasks_endpoints_gone(settings: Settings, headers: dict[str, str], timeout: float) -> None:
    """Raise TargetError(EXIT_ENDPOINTS_GONE) when every tasks operation says it is gone while
    the API itself still answers; return when only some are (the suite then judges)."""
    base = settings.base_url
    probes: list[tuple[str, str, dict[str, Any]]] = [
              ("POST", "/tasks", {"files": {"index_id": (None, _NEVER_ISSUED)}}),
              ("GET", f"/tasks/{_NEVER_ISSUED}", {}), ("DELETE", f"/tasks/{_NEVER_ISSUED}", {}),
              # Creates nothing: an empty body is refused by an API that still answers.
              ("POST", "/indexes", {"json": {}})]
    answers = []
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            for method, path, extra in probes:
                answers.append(client.request(method, f"{base}{path}", headers=headers,
                                              **extra))
    except httpx.HTTPError:
        return  # the suite's own requests will say what is wrong
    *tasks, indexes = answers
    if not all(_endpoint_gone(a) for a in tasks):
        return
    if _endpoint_gone(indexes) or indexes.status_code == 404:
        raise TargetError(2, f"{base} answers 404/410 to every operation, tasks and indexes "
                          "alike: check the base URL and its version prefix (e.g. "
                          "https://api.twelvelabs.io/v1.3)")
    statuses = sorted({str(a.status_code) for a in tasks})
    raise TargetError(EXIT_ENDPOINTS_GONE, f"the tasks endpoints are gone from {base}: every "
                      f"tasks operation answered {'/'.join(statuses)} (endpoint_not_exists or "
                      "Gone) while the index operations still answer; nothing to judge")
