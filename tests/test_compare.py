"""`conformance compare`: per-clause changes between two summaries, exit 1 on a regression."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conformance.run.compare import compare


def _summary(tmp_path: Path, name: str, outcomes: dict[str, str]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"clauses": {c: {"outcome": o} for c, o in outcomes.items()}}))
    return path


def _run(old: Path, new: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = compare(old, new, out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_newly_failing_clause_is_a_regression_with_exit_1(tmp_path: Path) -> None:
    old = _summary(tmp_path, "old.json", {"DEL-204": "passed", "DEL-GONE": "failed",
                                          "TENANT-ISOLATION": "passed", "NO-5XX": "passed",
                                          "LIST-PAGING": "passed"})
    new = _summary(tmp_path, "new.json", {"DEL-204": "failed", "DEL-GONE": "passed",
                                          "TENANT-ISOLATION": "disabled", "NO-5XX": "error",
                                          "LIST-PAGING": "not-judged"})
    code, out, _ = _run(old, new)
    assert code == 1
    lines = {line.split()[-4]: line for line in out.splitlines() if "->" in line}
    assert lines["DEL-204"].startswith("newly failing")
    assert lines["DEL-GONE"].startswith("fixed")
    assert lines["TENANT-ISOLATION"].startswith("newly disabled")
    assert lines["NO-5XX"].startswith("newly erroring")
    assert lines["LIST-PAGING"].startswith("newly not judged")
    assert "regression: DEL-204" in out


def test_fixes_and_unchanged_clauses_exit_0(tmp_path: Path) -> None:
    old = _summary(tmp_path, "old.json", {"DEL-204": "failed", "DEL-EMPTY": "passed"})
    new = _summary(tmp_path, "new.json", {"DEL-204": "passed", "DEL-EMPTY": "passed"})
    code, out, _ = _run(old, new)
    assert code == 0
    assert "fixed" in out and "DEL-EMPTY" not in out
    code, out, _ = _run(new, new)
    assert (code, out.strip()) == (0, "no clause changed its outcome")


def test_a_failure_that_was_already_failing_is_not_a_regression(tmp_path: Path) -> None:
    both = _summary(tmp_path, "s.json", {"DEL-204": "failed"})
    assert _run(both, both)[0] == 0


def test_unreadable_input_exits_2_with_one_line(tmp_path: Path) -> None:
    good = _summary(tmp_path, "good.json", {"DEL-204": "passed"})
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"counts": {}}')
    for bad in ("bad.json", "other.json", "missing.json"):
        code, out, err = _run(good, tmp_path / bad)
        assert code == 2
        assert out == "" and len(err.strip().splitlines()) == 1
