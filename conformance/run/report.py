"""Report pieces: per-test records, the clause matrix, summary.json, HTML fragments, console lines.

Everything here is rendering over plain records; ``outcomes.py`` keeps them and the hooks
in ``plugin.py`` gather them. Nothing here sees an API key: settings arrive redacted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from conformance.clauses import CLAUSES
from conformance.run.advisories import advisory_lines

TEST_OUTCOMES = ("passed", "failed", "error", "expected-failure", "disabled", "skipped",
                 "not-run")
CLAUSE_OUTCOMES = ("failed", "error", "expected-failure", "passed", "disabled", "not-run")
EXIT_CONFORMANT, EXIT_VIOLATION, EXIT_USAGE, EXIT_COULD_NOT_RUN = 0, 1, 2, 3
EXIT_ENDPOINTS_GONE = 4
"""The tasks endpoints are gone from the target: nothing to judge (see target.preflight)."""
BODY_LIMIT = 2000


@dataclass
class CaseRecord:
    """What one test showed: its clauses, its outcome and the clauses it found broken."""

    nodeid: str
    clauses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    outcome: str = "not-run"
    violated: list[str] = field(default_factory=list)
    excused: dict[str, str] = field(default_factory=dict)
    """Violated clause -> the deviation reason that turned it into an expected failure."""
    message: str = ""
    duration: float = 0.0


@dataclass(frozen=True)
class ClauseRow:
    clause_id: str
    source: str
    strictness: str
    outcome: str
    tests: tuple[str, ...]


def clause_matrix(records: Iterable[CaseRecord]) -> list[ClauseRow]:
    """One row per catalogue clause, judged from every test that carries or violated it.

    A violation anywhere fails the clause; an excused one makes it an expected failure; else
    one passing test passes it; tests that errored (or broke another clause) leave it an
    error; a clause whose tests were all disabled is disabled; nothing at all is not-run.
    """
    evidence: dict[str, Counter[str]] = {cid: Counter() for cid in CLAUSES}
    tests: dict[str, list[str]] = {cid: [] for cid in CLAUSES}
    for record in records:
        for cid in dict.fromkeys((*record.clauses, *record.violated)):
            if cid not in evidence:
                continue
            tests[cid].append(record.nodeid)
            if cid in record.violated:
                evidence[cid]["expected-failure" if cid in record.excused else "failed"] += 1
            elif record.outcome in ("failed", "error", "expected-failure"):
                evidence[cid]["error"] += 1
            else:
                evidence[cid][record.outcome] += 1
    rows = []
    for cid, clause in CLAUSES.items():
        seen = evidence[cid]
        outcome = next(
            (o for o in ("failed", "expected-failure", "passed", "error", "disabled") if seen[o]),
            "not-run")
        rows.append(ClauseRow(cid, clause.source, str(clause.strictness), outcome,
                              tuple(tests[cid])))
    return rows


def exit_code(matrix: Sequence[ClauseRow], records: Iterable[CaseRecord]) -> int:
    """0 conformant, 1 a clause failed, 3 the run could not run or provision everything."""
    if any(row.outcome == "failed" for row in matrix):
        return EXIT_VIOLATION
    if any(r.outcome in ("error", "failed") for r in records):
        return EXIT_COULD_NOT_RUN
    return EXIT_CONFORMANT


def outcome_counts(records: Iterable[CaseRecord]) -> dict[str, int]:
    counts = Counter(r.outcome for r in records)
    return {o: counts.get(o, 0) for o in TEST_OUTCOMES}


def build_summary(*, records: Sequence[CaseRecord], matrix: Sequence[ClauseRow],
                  header: dict[str, Any], extra: dict[str, Any],
                  subjects: Mapping[str, Sequence[str]] | None = None,
                  partial: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The machine-readable verdict of a run (summary.json)."""
    subjects, partial = subjects or {}, partial or {}
    return {
        **header,
        "counts": outcome_counts(records),
        "clauses": {
            row.clause_id: {"outcome": row.outcome, "source": row.source,
                            "strictness": row.strictness, "tests": list(row.tests),
                            "subjects_judged": list(subjects.get(row.clause_id, ())),
                            "partially_judged": list(partial.get(row.clause_id, ()))}
            for row in matrix
        },
        "failed_clauses": [row.clause_id for row in matrix if row.outcome == "failed"],
        "tests": [
            {"nodeid": r.nodeid, "outcome": r.outcome, "clauses": list(r.clauses),
             "categories": list(r.categories), "violated": r.violated,
             "duration_s": round(r.duration, 3)}
            for r in records
        ],
        **extra,
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


def case_extra_html(record: CaseRecord, exchanges: Sequence[Any], reproduce: str | None) -> str:
    """Per-test block: clause IDs, the violated clause, the reproduce line, the transcript."""
    parts = [f"<p><b>Clauses:</b> {escape(', '.join(record.clauses) or '(none)')}"
             f" &nbsp; <b>Categories:</b> {escape(', '.join(record.categories) or '(none)')}</p>"]
    if record.violated:
        parts.append(f"<p><b>Violated:</b> {escape(', '.join(record.violated))}</p>")
    for cid, reason in record.excused.items():
        parts.append(f"<p><b>Known deviation</b> {escape(cid)}: {escape(reason)}</p>")
    if reproduce:
        parts.append(f"<p><b>Reproduce:</b></p><pre>{escape(reproduce)}</pre>")
    if exchanges:
        body = "\n\n".join(render_exchange(ex) for ex in exchanges)
        parts.append(f"<details><summary>HTTP transcript ({len(exchanges)} exchanges)"
                     f"</summary><pre>{escape(body)}</pre></details>")
    return '<div class="conformance-extra">' + "".join(parts) + "</div>"


def render_exchange(exchange: Any) -> str:
    """One exchange as text: request line, headers, bodies shortened."""
    method = getattr(exchange, "method", "?")
    url = getattr(exchange, "url", "?")
    status = getattr(exchange, "status", None) or getattr(exchange, "status_code", None)
    key = getattr(exchange, "key_label", None)
    lines = [f"{method} {url} -> {status if status is not None else 'no answer'}"
             + (f"  (key: {key})" if key else "")]
    for label in ("request_headers", "request_body", "response_headers", "response_body"):
        value = getattr(exchange, label, None)
        if value in (None, "", b"", {}):
            continue
        if isinstance(value, dict):
            value = "\n".join(f"  {k}: {v}" for k, v in value.items())
        elif isinstance(value, bytes):
            value = "  " + value.decode("utf-8", "replace")
        else:
            value = f"  {value}"
        if len(value) > BODY_LIMIT:
            value = value[:BODY_LIMIT] + f" ... ({len(value) - BODY_LIMIT} more characters)"
        lines.append(f"{label.replace('_', ' ')}:\n{value}")
    error = getattr(exchange, "error", None)
    if error:
        lines.append(f"error: {error}")
    return "\n".join(lines)


def console_lines(summary: dict[str, Any], report_dir: Path) -> list[str]:
    """The short end-of-run summary: counts, failed clauses, deviations, where the reports are."""
    counts = summary["counts"]
    lines = [", ".join(f"{n} {o}" for o, n in counts.items() if n) or "no tests ran"]
    failed = summary["failed_clauses"]
    if failed:
        lines.append(f"failed clauses: {', '.join(failed)}")
    erroring = [c for c, e in summary["clauses"].items() if e["outcome"] == "error"]
    if erroring:
        lines.append(f"clauses not judged (errors): {', '.join(erroring)}")
    for cid, entry in summary["clauses"].items():
        for reason in entry.get("partially_judged", ()):
            lines.append(f"partially judged: {cid}: {reason}")
    deviations = summary.get("deviations", {})
    for applied in deviations.get("applied", []):
        lines.append(f"expected failure: {applied['clause']} in {applied['test']} "
                     f"({applied['reason']})")
    for entry in deviations.get("removable", []):
        lines.append(f"deviation can be removed: {entry['clause']} ({entry['reason']})")
    for problem in summary.get("cleanup_problems", []):
        lines.append(f"cleanup problem: {problem}")
    lines += advisory_lines(summary.get("advisories") or {})
    lines.append(f"requests sent: {summary.get('requests')}, 429s waited out: "
                 f"{summary.get('rate_limited')}, wall {summary.get('duration_s', 0):.0f} s")
    lines.append(f"verdict: {summary['verdict']} (exit code {summary['exit_code']}), "
                 f"seed {summary.get('seed')}, run {summary.get('run_id')}")
    lines.append(f"reports: {report_dir}/report.html, junit.xml, summary.json")
    return lines


VERDICTS = {EXIT_CONFORMANT: "conformant", EXIT_VIOLATION: "not conformant",
            EXIT_USAGE: "usage or configuration error", EXIT_COULD_NOT_RUN: "could not run",
            EXIT_ENDPOINTS_GONE: "endpoints gone", 130: "interrupted"}
