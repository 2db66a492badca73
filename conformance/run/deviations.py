"""Known deviations: clauses a user knowingly accepts as broken on a given target.

A deviations file (TOML or YAML) lists entries of clause ID, target pattern, reason and an
optional expiry date. A matching, unexpired entry turns that clause's failure into an
expected failure; it never loosens a check.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.clauses import CLAUSES
from conformance.settings import SettingsError


class DeviationsError(SettingsError):
    """The deviations file cannot be used: a configuration error (exit code 2)."""


@dataclass(frozen=True)
class Deviation:
    clause: str
    target: str
    """A glob on the base URL (``https://*.example.com/*``), or a regex when it starts
    with ``^`` (searched in the base URL)."""
    reason: str
    expires: dt.date | None = None

    def matches_target(self, base_url: str) -> bool:
        if self.target.startswith("^"):
            return re.search(self.target, base_url) is not None
        return fnmatch.fnmatchcase(base_url, self.target)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class Deviations:
    entries: tuple[Deviation, ...] = ()

    def match(self, clause_id: str, base_url: str,
              today: dt.date | None = None) -> Deviation | None:
        """The entry that excuses a failure of this clause on this target today, if any."""
        today = today or dt.date.today()
        for entry in self.entries:
            if (entry.clause == clause_id and entry.matches_target(base_url)
                    and not entry.expired(today)):
                return entry
        return None

    def for_target(self, base_url: str) -> list[Deviation]:
        """Every entry aimed at this target, expired ones included."""
        return [e for e in self.entries if e.matches_target(base_url)]


def load_deviations(path: Path) -> Deviations:
    """Read and validate a deviations file; any problem is one DeviationsError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviationsError(f"deviations file {path} cannot be read: {exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviationsError(f"deviations file {path} is not valid: {first}") from None
    if data is None:
        return Deviations()
    if not isinstance(data, dict) or not isinstance(data.get("deviation", []), list):
        raise DeviationsError(
            f"deviations file {path}: expected a list of entries under 'deviation'")
    unknown = sorted(set(data) - {"deviation"})
    if unknown:
        raise DeviationsError(f"deviations file {path}: unknown key(s) {', '.join(unknown)}")
    return Deviations(tuple(_entries(path, data.get("deviation", []))))


def _entries(path: Path, raw_entries: Iterable[Any]) -> Iterable[Deviation]:
    for number, raw in enumerate(raw_entries, start=1):
        where = f"deviations file {path}, entry {number}"
        if not isinstance(raw, dict):
            raise DeviationsError(f"{where}: expected a table with clause, target, reason")
        extra = sorted(set(raw) - {"clause", "target", "reason", "expires"})
        if extra:
            raise DeviationsError(f"{where}: unknown field(s) {', '.join(extra)}")
        for name in ("clause", "target", "reason"):
            if not isinstance(raw.get(name), str) or not raw[name].strip():
                raise DeviationsError(f"{where}: '{name}' must be a non-empty string")
        if raw["clause"] not in CLAUSES:
            raise DeviationsError(f"{where}: unknown clause ID {raw['clause']!r}")
        if raw["target"].startswith("^"):
            try:
                re.compile(raw["target"])
            except re.error as exc:
                raise DeviationsError(f"{where}: target is not a valid regex: {exc}") from None
        yield Deviation(raw["clause"], raw["target"], raw["reason"].strip(),
                        _date(where, raw.get("expires")))


def _date(where: str, raw: Any) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise DeviationsError(f"{where}: expires {raw!r} is not a date (YYYY-MM-DD)") from None
