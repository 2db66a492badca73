"""Settings: one frozen object per run, built once from every source and validated eagerly.

Precedence is option > environment > config file > default. The API keys are held in
:class:`Secret` so that no repr, log line or report can show them by accident.
"""

from __future__ import annotations

import math
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A usage or configuration error: the run cannot start (exit code 2)."""


class Secret:
    """A string that never shows itself: str() and repr() give a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int
    """Hypothesis examples per generated operation."""
    derandomize: bool
    stateful_steps: int
    max_tasks: int
    """Tasks a run may create; on a loopback target the budget is multiplied by 20."""
    max_upload_bytes: int


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("ci", examples=10, derandomize=True, stateful_steps=10, max_tasks=20,
                max_upload_bytes=2_000_000),
        Profile("nightly", examples=100, derandomize=False, stateful_steps=20, max_tasks=8,
                max_upload_bytes=1_000_000),
        Profile("quick", examples=5, derandomize=True, stateful_steps=5, max_tasks=10,
                max_upload_bytes=1_000_000),
    )
}

ENVIRONMENT: dict[str, str] = {
    # The SDK's own names where it has one, so one variable points both at a target.
    "base_url": "TWELVELABS_BASE_URL",
    "api_key": "TWELVELABS_API_KEY",
    "second_api_key": "TWELVELABS_SECOND_API_KEY",
    "index_id": "CONFORMANCE_INDEX_ID",
    "report_dir": "CONFORMANCE_REPORT_DIR",
    "profile": "CONFORMANCE_PROFILE",
    "seed": "CONFORMANCE_SEED",
    "deviations": "CONFORMANCE_DEVIATIONS",
    "ready_video_url": "CONFORMANCE_READY_VIDEO_URL",
    "failing_video_url": "CONFORMANCE_FAILING_VIDEO_URL",
    "wait_timeout": "CONFORMANCE_WAIT_TIMEOUT",
    "time_budget": "CONFORMANCE_TIME_BUDGET",
    "rate": "CONFORMANCE_RATE",
    "max_tasks": "CONFORMANCE_MAX_TASKS",
    "client_adapter": "CONFORMANCE_CLIENT_ADAPTER",
    "live_rules": "CONFORMANCE_LIVE_RULES",
}
LIVE_EXAMPLES = 10
"""Generated examples per operation at most, under live rules: each one is a request the
account pays for and the rate limit counts."""
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
CONFIG_FILE = "conformance.toml"


@dataclass(frozen=True)
class Settings:
    base_url: str | None = None
    """The target, with its version prefix (``.../v1.3``); None runs the embedded emulator."""
    api_key: Secret | None = None
    second_api_key: Secret | None = None
    index_id: str | None = None
    report_dir: Path = Path("reports")
    profile: Profile = PROFILES["ci"]
    seed: int | None = None
    deviations: Path | None = None
    ready_video_url: str | None = None
    failing_video_url: str | None = None
    wait_timeout: float = 120.0
    """Deadline of one status wait, in seconds."""
    time_budget: float = 1800.0
    """Deadline of the whole run, in seconds."""
    rate: float | None = None
    """Requests per second; None picks a default by target (unlimited on loopback)."""
    max_tasks: int | None = None
    """Overrides the profile's task budget."""
    client_adapter: str | None = None
    """``module:factory`` of the client category's adapter; None: the official SDK."""
    live_rules: bool = False
    """Apply the rules of a remote target (pacing, live budgets and allowances, live probing)
    whatever the host: a loopback target otherwise gets relaxed ones."""
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def is_loopback(self) -> bool:
        if self.base_url is None:
            return True
        host = urlsplit(self.base_url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")

    @property
    def relaxed(self) -> bool:
        """Loopback targets get relaxed rules (bigger budgets, no pacing, quick probing)
        unless live rules are asked for."""
        return self.is_loopback and not self.live_rules

    @property
    def examples(self) -> int:
        """Generated examples per operation: the profile's, capped under live rules."""
        return self.profile.examples if self.relaxed else min(self.profile.examples,
                                                              LIVE_EXAMPLES)

    @property
    def probe_interval(self) -> float:
        """Seconds between reads of a task probed at each unfinished status: a live status
        lasts seconds to minutes, the emulator's a few tenths of a second."""
        return 0.05 if self.relaxed else 1.0

    @property
    def page_budget(self) -> int:
        """Pages one walk of a listing may read; past it a clause is judged in part."""
        return 100 if self.relaxed else 20

    @property
    def effective_rate(self) -> float | None:
        if self.rate is not None:
            return self.rate if self.rate > 0 else None
        return None if self.relaxed else 2.0

    @property
    def task_budget(self) -> int:
        if self.max_tasks is not None:
            return self.max_tasks
        return self.profile.max_tasks * (20 if self.relaxed else 1)

    @property
    def upload_budget(self) -> int:
        return self.profile.max_upload_bytes * (20 if self.relaxed else 1)

    @property
    def effective_seed(self) -> int:
        """The seed of this run: given, fixed by a derandomized profile, or drawn once."""
        if self.seed is not None:
            return self.seed
        return 0 if self.profile.derandomize else _DRAWN_SEED

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready view for reports: keys are shown only as present or absent."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "(set)"
            elif isinstance(value, Profile):
                value = value.name
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        out["seed"] = self.effective_seed
        out["task_budget"] = self.task_budget
        out["rate"] = self.effective_rate
        return out

    def with_target(self, base_url: str, api_key: str, second_api_key: str | None) -> Settings:
        """The same settings pointed at a started target (the embedded emulator)."""
        return replace(self, base_url=base_url, api_key=Secret(api_key),
                       second_api_key=Secret(second_api_key) if second_api_key else None)


_DRAWN_SEED = secrets.randbits(32)


def _convert(name: str, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    try:
        match name:
            case "api_key" | "second_api_key":
                return Secret(str(raw))
            case "report_dir" | "deviations":
                return Path(str(raw))
            case "profile":
                if str(raw) not in PROFILES:
                    raise SettingsError(
                        f"unknown profile {raw!r} (choose from {', '.join(PROFILES)})")
                return PROFILES[str(raw)]
            case "seed" | "max_tasks":
                return int(raw)
            case "wait_timeout" | "time_budget" | "rate":
                return float(raw)
            case "live_rules":
                if isinstance(raw, bool):
                    return raw
                text = str(raw).strip().lower()
                if text not in (*_TRUE, *_FALSE):
                    raise SettingsError(f"live_rules must be true or false, got {raw!r}")
                return text in _TRUE
            case "client_adapter":
                module, _, factory = str(raw).partition(":")
                if not module or not factory:
                    raise SettingsError(f"client adapter {raw!r} is not module:factory")
                return str(raw)
            case "base_url":
                return _base_url(str(raw))
            case _:
                return str(raw)
    except ValueError as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"setting {name}: {raw!r} is not a valid value") from None


def _base_url(raw: str) -> str:
    """The target's base URL, or a SettingsError that says what is wrong with it."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        hint = f"; did you mean https://{url}?" if not parts.scheme or "." in parts.scheme \
            else ""
        raise SettingsError(f"base URL {raw!r} must start with http:// or https://{hint}")
    if not parts.hostname:
        raise SettingsError(f"base URL {raw!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"base URL {raw!r}: the port must be a number from 1 to "
                            "65535") from None
    if port == 0:
        raise SettingsError(f"base URL {raw!r}: the port must be a number from 1 to 65535")
    if parts.query or parts.fragment:
        raise SettingsError(f"base URL {raw!r} must not carry a query or fragment: give the "
                            "API's root, e.g. https://api.twelvelabs.io/v1.3")
    if parts.path in ("", "/"):
        raise SettingsError(f"base URL {raw!r} has no version prefix: add it, e.g. "
                            f"{url}/v1.3 (the SDK's convention)")
    return url


def _read_config(path: Path | None, required: bool) -> dict[str, Any]:
    path = path or Path(CONFIG_FILE)
    if not path.exists():
        if required:
            raise SettingsError(f"config file {path} does not exist")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc}") from None
    table = data.get("conformance", data)
    unknown = sorted(set(table) - set(ENVIRONMENT))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return dict(table)


def build_settings(
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge the sources (option > environment > file > default) and validate the result."""
    options = options or {}
    environ = os.environ if environ is None else environ
    unknown = sorted(set(options) - set(ENVIRONMENT))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}")
    from_file = _read_config(config_file, required=config_file is not None)
    values: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        for raw in (options.get(name), environ.get(variable), from_file.get(name)):
            value = _convert(name, raw)
            if value is not None:
                values[name] = value
                break
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if settings.base_url is not None and settings.api_key is None:
        raise SettingsError(
            f"no API key for {settings.base_url}: pass --api-key or set TWELVELABS_API_KEY")
    if settings.deviations is not None and not settings.deviations.is_file():
        raise SettingsError(f"deviations file {settings.deviations} does not exist")
    for name in ("wait_timeout", "time_budget"):
        value = getattr(settings, name)
        if not math.isfinite(value) or value <= 0:
            raise SettingsError(f"{name} must be a positive number of seconds, got {value:g}")
    if settings.rate is not None and (not math.isfinite(settings.rate) or settings.rate < 0):
        raise SettingsError("rate must be a positive number of requests per second (or 0 "
                            f"for no limit), got {settings.rate:g}")
    if settings.max_tasks is not None and settings.max_tasks < 0:
        raise SettingsError("max_tasks must not be negative")
    if settings.api_key is not None and settings.api_key == settings.second_api_key:
        raise SettingsError("the second API key must belong to another account")
