"""Compare two runs' summary.json clause by clause, so a nightly job alerts on regressions only."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


class SummaryError(ValueError):
    """A summary file cannot be read or is not a conformance summary (exit code 2)."""


@dataclass(frozen=True)
class Change:
    clause: str
    old: str
    new: str

    @property
    def kind(self) -> str:
        if self.new == "failed":
            return "newly failing"
        if self.old == "failed" and self.new in ("passed", "expected-failure"):
            return "fixed"
        if self.new == "disabled":
            return "newly disabled"
        if self.new == "error":
            return "newly erroring"
        if self.new == "not-judged":
            return "newly not judged"
        return "changed"


def clause_outcomes(path: Path) -> dict[str, str]:
    """The per-clause outcomes of one summary.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SummaryError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SummaryError(f"{path} is not JSON: {exc}") from None
    clauses = data.get("clauses") if isinstance(data, dict) else None
    if not isinstance(clauses, dict):
        raise SummaryError(f"{path} is not a conformance summary (no 'clauses' table)")
    outcomes: dict[str, str] = {}
    for clause_id, entry in clauses.items():
        outcome = entry.get("outcome") if isinstance(entry, dict) else entry
        if not isinstance(outcome, str):
            raise SummaryError(f"{path}: clause {clause_id} has no outcome")
        outcomes[clause_id] = outcome
    return outcomes


def changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """Every clause whose outcome differs; a clause missing on one side counts as not-run."""
    return [
        Change(clause_id, old.get(clause_id, "not-run"), new.get(clause_id, "not-run"))
        for clause_id in sorted(set(old) | set(new))
        if old.get(clause_id, "not-run") != new.get(clause_id, "not-run")
    ]


def compare(old_path: Path, new_path: Path, out: TextIO | None = None,
            err: TextIO | None = None) -> int:
    """Print the changes; 1 when a clause newly fails, 0 otherwise, 2 on unreadable input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        found = changes(clause_outcomes(old_path), clause_outcomes(new_path))
    except SummaryError as exc:
        print(f"conformance compare: {exc}", file=err)
        return 2
    if not found:
        print("no clause changed its outcome", file=out)
        return 0
    width = max(len(c.clause) for c in found)
    for change in found:
        print(f"{change.kind:<16} {change.clause:<{width}}  {change.old} -> {change.new}",
              file=out)
    regressions = [c.clause for c in found if c.kind == "newly failing"]
    if regressions:
        print(f"regression: {', '.join(regressions)}", file=out)
        return 1
    return 0
