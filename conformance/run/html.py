"""pytest-html hooks of a run: the report's title, header, clause matrix and result rows.

Registered by the plugin only when pytest-html is active (its hookspecs exist then).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.run.outcomes import finalize, run_header
from conformance.run.report import clause_matrix, console_lines, matrix_html, notes_html
from conformance.run.state import run_state
from conformance.settings import Settings

__all__ = ["HtmlHooks"]


class HtmlHooks:
    """pytest-html hooks, registered only when pytest-html is active (its hookspecs exist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.metadata: dict[str, Any] = {}

    def pytest_sessionstart(self) -> None:
        # Before pytest-html (trylast) copies the metadata into its environment table.
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        self.metadata = self.config.stash.get(metadata_key, {})
        header = run_header(run_state(self.config))
        self.metadata.update({k.replace("_", " ").capitalize(): v for k, v in header.items()})
        self.metadata["Settings"] = settings_redacted_text(run_state(self.config).settings)

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Conformance report: {run_header(run_state(self.config))['target']}"

    def pytest_html_results_summary(self, prefix: list[str], session: pytest.Session) -> None:
        summary = finalize(session)
        state = run_state(self.config)
        if summary is None:
            return
        self.metadata["Spend"] = summary["spend"]
        self.metadata["Rate limited (429)"] = summary["rate_limited"]
        matrix = clause_matrix(list(state.records.values()))
        lines = [*state.notes, *console_lines(summary, state.settings.report_dir)]
        prefix.append(notes_html(lines) + matrix_html(matrix, summary))

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        if getattr(report, "conformance_error", False) and report.when == "call":
            cells[0] = '<td class="col-result">Error</td>'


def settings_redacted_text(settings: Settings) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.redacted().items())
