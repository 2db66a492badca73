"""The ledger: every resource a run created, kept in a file as it grows so cleanup finds them.

``cleanup.py`` removes what a ledger lists; ``provisioning.py`` writes to it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conformance.resources.errors import ProvisioningError
from conformance.settings import Settings
from conformance.wire.client import repr_error

__all__ = ["Ledger", "LedgerEntry"]


@dataclass
class LedgerEntry:
    kind: str
    """index, task or video."""
    id: str
    parents: dict[str, str]
    run_id: str
    created_at: str
    state: str = "created"
    """created, deleted, or unconfirmed: removed with its index (the index delete answered
    2xx) but not yet read back as gone."""
    status: str | None = None
    """A task's last status seen by a cleanup that left it (not final yet)."""


class Ledger:
    """Every resource a run created; rewritten atomically on each change when it has a path."""

    def __init__(self, path: Path | None, run_id: str, base_url: str | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.base_url = base_url
        self._entries: list[LedgerEntry] = []
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> Ledger:
        return cls(settings.report_dir / "ledger.json", settings.run_id, settings.base_url)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read a ledger file; further changes are written back to it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            ledger = cls(Path(path), str(data["run_id"]), data.get("base_url"))
            ledger._entries = [LedgerEntry(**e) for e in data["entries"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProvisioningError(f"ledger {path} cannot be read: {repr_error(exc)}") from None
        return ledger

    def add(self, kind: str, id: str, **parents: str) -> LedgerEntry:
        entry = LedgerEntry(kind, id, parents, self.run_id,
                            datetime.now(UTC).isoformat(timespec="seconds"))
        with self._lock:
            self._entries.append(entry)
            self._write()
        return entry

    def mark_deleted(self, kind: str, id: str) -> None:
        self.mark(kind, id, "deleted")

    def mark(self, kind: str, id: str, state: str) -> None:
        with self._lock:
            for entry in self._entries:
                if entry.kind == kind and entry.id == id:
                    entry.state = state
            self._write()

    def note_status(self, id: str, status: str) -> None:
        """A task cleanup had to leave: its last status, for the list of what is left."""
        with self._lock:
            for entry in self._entries:
                if entry.kind == "task" and entry.id == id:
                    entry.status = status
            self._write()

    def mark_in_index(self, index_id: str, state: str) -> None:
        """Every live task and video of ``index_id`` at once (one write)."""
        with self._lock:
            for entry in self._entries:
                if entry.state != "deleted" and entry.parents.get("index_id") == index_id:
                    entry.state = state
            self._write()

    def remaining(self) -> list[LedgerEntry]:
        """What the run made and did not see removed (unconfirmed entries included)."""
        return [e for e in self.entries() if e.state != "deleted"]

    def entries(self, kind: str | None = None, state: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [e for e in self._entries
                    if kind in (None, e.kind) and state in (None, e.state)]

    def _write(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Rewritten whole on each change (a killed run leaves a readable file), so kept cheap:
        # plain dicts, no indentation (asdict and indent made it quadratic in seconds).
        data = {"run_id": self.run_id, "base_url": self.base_url,
                "entries": [{"kind": e.kind, "id": e.id, "parents": e.parents,
                             "run_id": e.run_id, "created_at": e.created_at, "state": e.state,
                             **({"status": e.status} if e.status else {})}
                            for e in self._entries]}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, self.path)  # a killed run leaves the old or the new file whole
