"""pytest hooks of a run's evidence: each failed test's findings (with the exchanges they rest
on, set-up included) lead its report, and at the end of the run the exchanges are written
as a HAR file and the findings as ``findings.json`` with a reproduction script each.

Registered by the run's plugin (``plugin.pytest_configure``); it relies on the plugin's
judging of each report (``report.conformance_violation``) and keeps its failure text in
``report.conformance_longrepr``, the text the plugin restores after schemathesis.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from conformance.run.evidence import (
    evidence_html,
    evidence_text,
    finding_script,
    without_filtered_reproduction,
)
from conformance.run.findings import FINDINGS_KEY, Findings, record
from conformance.run.har import write_har
from conformance.run.state import run_state

__all__ = ["FINDINGS_FILE", "HAR_FILE", "REPRODUCE_DIR", "EvidenceHooks", "write_run_files"]

HAR_FILE, FINDINGS_FILE, REPRODUCE_DIR = "exchanges.har", "findings.json", "reproduce"
"""What this module writes into the report directory."""


class EvidenceHooks:
    """See the module docstring."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    # tryfirst makes this wrapper the outer one: it sees the report once the plugin judged it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not (getattr(report, "conformance_violation", False) and report.failed
                and call.excinfo is not None):
            return report
        state = run_state(self.config)
        try:
            self._lead_with_evidence(item, call.excinfo.value, report)
        except Exception as exc:  # evidence is an aid: it must never turn into a harness error
            state.notes.append(f"evidence of {item.nodeid} could not be gathered: "
                               f"{type(exc).__name__}: {exc}")
        return report

    def _lead_with_evidence(self, item: pytest.Item, exc: BaseException,
                            report: pytest.TestReport) -> None:
        found = record(self.config, item.nodeid, exc)
        if not found:
            return
        state = run_state(self.config)
        items = state.transcript.since(0)
        report_dir = state.settings.report_dir
        scrub = state.redactor.scrub
        for finding in found:
            finding.script = scrub(finding_script(finding))
        text = without_filtered_reproduction(str(report.longrepr))
        text = scrub(f"{text}\n"
                     f"{evidence_text(found, items, report_dir, curl='curl ' not in text)}")
        report.longrepr = text
        report.conformance_longrepr = text  # type: ignore[attr-defined]
        if self.config.pluginmanager.hasplugin("html"):
            from pytest_html import extras

            block = extras.html(scrub(evidence_html(found, items, report_dir)))
            report.extras = [block, *getattr(report, "extras", [])]  # type: ignore[attr-defined]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # tryfirst: before the summary is written, so its notes say what was written here.
        try:
            write_run_files(self.config)
        except OSError as exc:
            run_state(self.config).notes.append(f"{HAR_FILE} and {FINDINGS_FILE} could not be "
                                                f"written: {exc}")


def write_run_files(config: pytest.Config) -> None:
    """exchanges.har, findings.json and reproduce/F<n>.sh in the report directory (stale
    ones of an earlier run are replaced: a run without findings writes an empty list)."""
    state = run_state(config)
    report_dir = state.settings.report_dir
    scrub = state.redactor.scrub
    items = state.transcript.since(0)
    started = time.perf_counter()
    size = write_har(report_dir / HAR_FILE, items,
                     [(mark, nodeid) for nodeid, mark in state.marks.items()], scrub)
    har_ms = (time.perf_counter() - started) * 1000
    findings = config.stash.get(FINDINGS_KEY, Findings()).items
    scripts = report_dir / REPRODUCE_DIR
    for stale in scripts.glob("F*.sh") if scripts.is_dir() else ():
        stale.unlink()
    entries = []
    for finding in findings:
        path = scripts / f"{finding.id}.sh"
        script = finding.script or scrub(finding_script(finding))
        scripts.mkdir(parents=True, exist_ok=True)
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)
        entries.append({**finding.as_dict(), "reproduce": f"{REPRODUCE_DIR}/{path.name}",
                        "script": script})
    document = {"run_id": state.settings.run_id, "base_url": state.settings.base_url,
                "har": HAR_FILE, "findings": entries}
    (report_dir / FINDINGS_FILE).write_text(scrub(json.dumps(document, indent=1)) + "\n",
                                            encoding="utf-8")
    state.notes.append(f"{HAR_FILE}: {len(items)} exchanges, {size / 1024:.0f} KiB, written in "
                       f"{har_ms:.0f} ms; {FINDINGS_FILE}: {len(findings)} finding(s)")
