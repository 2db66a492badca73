"""The run's reports, each a renderer of its one :class:`Summary`: console lines, summary.json,
the JUnit properties, and report.html (pytest-html's page: ``html.py`` hooks it in a live
session, ``page.py`` renders it for a run without one); and the report directory itself
(an earlier run's reports go before a run starts, its ledger is kept when it lists leftovers).

Nothing here decides anything: outcomes, counts, verdict and exit code come with the summary
(``verdict.py``). Nothing here sees an API key: summaries and exchanges arrive redacted.

The seam for a failure's evidence: a test's ``evidence`` (in the summary, and so in
summary.json) is a list of :func:`exchange_view` dicts, the exchanges its verdict rests on,
and its ``reproduce`` the text that reproduces it; report.html shows both under the finding.
Whatever fills them (``outcomes.judge`` reads ``exc.evidence`` and ``exc.reproduce`` of a
ContractViolation) needs nothing else from this module.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.run.advisories import advisory_lines
from conformance.run.summary import Summary

__all__ = ["REPORT_FILES", "clear_reports", "console_lines", "exchange_view",
           "junit_properties", "write_junit", "write_reports", "write_summary"]

REPORT_FILES = ("summary.json", "junit.xml", "report.html", "properties-requests.jsonl",
                "exchanges.har", "findings.json", "reproduce/F*.sh")
"""What a run writes into its report directory, removed before the next run starts (a new
kind of report belongs here too). ``ledger.json`` is handled apart: see clear_reports."""
_EXCHANGE_FIELDS = ("method", "url", "status", "key_label", "request_headers", "request_body",
                    "response_headers", "response_body", "error", "attempt", "elapsed_ms")


def clear_reports(report_dir: Path, run_id: str) -> list[str]:
    """Remove an earlier run's reports, so nothing stale is published or compared; an earlier
    ledger that still lists resources is kept as ``ledger-<its run id>.json`` (never lost).
    Returns notes for the console and the summary."""
    notes: list[str] = []
    if not report_dir.is_dir():
        return notes
    for pattern in REPORT_FILES:
        for path in report_dir.glob(pattern):
            if path.is_file():
                path.unlink()
    ledger = report_dir / "ledger.json"
    if ledger.is_file():
        try:
            data = json.loads(ledger.read_text(encoding="utf-8"))
            left = [e for e in data.get("entries", []) if e.get("state") != "deleted"]
            earlier = str(data.get("run_id") or "unknown")
        except (OSError, ValueError, AttributeError):
            left, earlier = [{"unreadable": True}], "unreadable"
        if left and earlier != run_id:
            kept = report_dir / f"ledger-{earlier}.json"
            os.replace(ledger, kept)
            notes.append(f"an earlier run's ledger lists {len(left)} resource(s) it did not "
                         f"see removed: kept as {kept}; conformance cleanup --ledger {kept} "
                         "removes them")
        else:
            ledger.unlink()
    return notes


def write_reports(summary: Summary, report_dir: Path, *,
                  transcripts: Mapping[str, Sequence[dict[str, Any]]] | None = None,
                  junit: Path | None = None, page: bool = True) -> None:
    """summary.json, junit.xml (``junit``: the one pytest wrote, given its properties; else
    one is written) and, unless the session's pytest-html writes it (``page=False``),
    report.html, all from the same summary."""
    report_dir.mkdir(parents=True, exist_ok=True)
    write_summary(report_dir / "summary.json", summary)
    write_junit(junit or report_dir / "junit.xml", summary, existing=junit is not None)
    if page:
        from conformance.run.page import write_page

        write_page(summary, report_dir / "report.html", transcripts=transcripts)


def write_summary(path: Path, summary: Summary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.to_json(), indent=2, default=str) + "\n",
                    encoding="utf-8")


def junit_properties(summary: Summary) -> list[tuple[str, str]]:
    """The run's verdict as JUnit properties of the test suite."""
    props = [("verdict", summary.verdict), ("exit_code", str(summary.exit_code)),
             ("headline", summary.headline),
             ("clauses_judged", f"{summary.clauses_judged} of {summary.clauses_total}")]
    props += [("failed_clause", cid) for cid in summary.failed_clauses]
    props += [("unjudged_clause", f"{u['clause']}: {u['why']}") for u in summary.unjudged]
    if summary.leftovers.items:
        props.append(("left_on_target", summary.leftovers.line()))
    return props


def write_junit(path: Path, summary: Summary, *, existing: bool) -> None:
    """Add the verdict to the JUnit file pytest wrote; a run that never reached pytest's
    session gets one with a single error case saying what happened."""
    root = None
    if existing and path.is_file():
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            root = None
    if root is None:
        root = ET.Element("testsuites")
        suite = ET.SubElement(root, "testsuite", name="conformance", tests="1", errors="1",
                              failures="0", skipped="0", time=f"{summary.duration_s:.3f}")
        holder = ET.SubElement(suite, "properties")
        for key, value in (("target", summary.target), ("run_id", summary.run_id)):
            ET.SubElement(holder, "property", name=key, value=value)
        case = ET.SubElement(suite, "testcase", classname="conformance", name="run", time="0")
        ET.SubElement(case, "error", message=summary.headline).text = summary.headline
    for suite in root.iter("testsuite"):
        found = suite.find("properties")
        if found is None:
            found = ET.Element("properties")
            suite.insert(0, found)
        for name, value in junit_properties(summary):
            ET.SubElement(found, "property", name=name, value=value)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def exchange_view(exchange: Any) -> dict[str, Any]:
    """An exchange (the transcript's ``Exchange``, or anything with its attributes) as a
    JSON-ready dict: what summary.json and the report show of it. Already redacted."""
    view = {name: getattr(exchange, name, None) for name in _EXCHANGE_FIELDS}
    curl = getattr(exchange, "curl", None)
    view["curl"] = curl() if callable(curl) else curl
    return {k: v for k, v in view.items() if v not in (None, "", {})}


def console_lines(summary: Summary, report_dir: Path) -> list[str]:
    """The end-of-run lines: counts, what failed or went unjudged and why, what is left on
    the target, the verdict, where the reports are."""
    lines = [", ".join(f"{n} {o}" for o, n in summary.counts.items() if n) or "no tests ran"]
    if summary.failed_clauses:
        lines.append(f"failed clauses: {', '.join(summary.failed_clauses)}")
    lines += [f"not judged: {u['clause']} ({u['outcome']}): {u['why']}"
              for u in summary.unjudged if u["outcome"] != "disabled"]
    lines += [f"partially judged: {c.clause_id}: {reason}" for c in summary.clauses
              for reason in c.partially_judged]
    deviations = summary.deviations
    lines += [f"expected failure: {a['clause']} in {a['test']} ({a['reason']})"
              for a in deviations.get("applied", [])]
    lines += [f"deviation can be removed: {e['clause']} ({e['reason']})"
              for e in deviations.get("removable", [])]
    lines += [f"cleanup problem: {problem}" for problem in summary.cleanup_problems]
    lines += summary.leftovers.lines()
    lines += advisory_lines(summary.advisories or {})
    lines.append(f"requests sent: {summary.requests}, 429s waited out: "
                 f"{summary.rate_limited}, wall {summary.duration_s:.0f} s")
    lines.append(f"verdict: {summary.headline} (exit code {summary.exit_code}), seed "
                 f"{summary.seed}, run {summary.run_id}")
    lines.append(f"reports: {report_dir}/report.html, junit.xml, summary.json")
    return lines
