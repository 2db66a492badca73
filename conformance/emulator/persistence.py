"""State on disk: indexes, tasks and deleted tasks in SQLite (WAL), written through on every
change."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from conformance.emulator.lifecycle import Schedule
from conformance.emulator.model import Index, Task

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
                                       body TEXT NOT NULL);
"""
# Deleted tasks are kept too: which IDs ever existed, and in which order tasks were deleted,
# decide some faults' answers, and a restart must not change them.
FILENAME = "emulator.sqlite3"


class SqlitePersistence:
    """One connection shared under a lock; tasks keep their absolute schedules across restarts."""

    def __init__(self, data_dir: str | Path) -> None:
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path / FILENAME, check_same_thread=False,
                                   isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def load(self) -> tuple[list[Index], list[Task], list[Task]]:
        """Indexes, live tasks (creation order), deleted tasks (deletion order)."""
        with self._lock:
            indexes = [Index(**json.loads(b)) for (b,) in self._db.execute(
                "SELECT body FROM indexes")]
            tasks = [_task(json.loads(b)) for (b,) in self._db.execute(
                "SELECT body FROM tasks ORDER BY seq")]
            tombstones = [_task(json.loads(b)) for (b,) in self._db.execute(
                "SELECT body FROM tombstones ORDER BY n")]
        return indexes, tasks, tombstones

    def put_index(self, index: Index) -> None:
        body = {f: getattr(index, f) for f in Index.__slots__}
        self._write("INSERT OR REPLACE INTO indexes VALUES (?, ?)", index.id, json.dumps(body))

    def drop_index(self, index_id: str) -> None:
        self._write("DELETE FROM indexes WHERE id = ?", index_id)

    def put_task(self, task: Task) -> None:
        self._write("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?)", task.id, task.seq,
                    _body(task))

    def drop_task(self, task_id: str) -> None:
        self._write("DELETE FROM tasks WHERE id = ?", task_id)

    def bury_task(self, task: Task) -> None:
        """A deleted task leaves the live ones and joins the tombstones, at once."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM tasks WHERE id = ?", (task.id,))
            self._db.execute("INSERT INTO tombstones (id, body) VALUES (?, ?)",
                             (task.id, _body(task)))

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM tasks")
            self._db.execute("DELETE FROM indexes")
            self._db.execute("DELETE FROM tombstones")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, *args: object) -> None:
        with self._lock:
            self._db.execute(sql, args)


def _body(task: Task) -> str:
    body = {f: getattr(task, f) for f in Task.__slots__ if f != "schedule"}
    body["schedule"] = task.schedule.to_json()
    return json.dumps(body)


def _task(body: dict) -> Task:
    body["schedule"] = Schedule.from_json(body["schedule"])
    return Task(**body)
