"""pytest-html hooks of a run: a report that leads with the verdict.

The first screen shows the verdict banner (with the exit code), the target, what the target
announces (deprecation, sunset), and the clause matrix with the subjects judged per clause
and a link to each clause's tests; the run's facts and pytest-html's environment table
follow, collapsed. Result rows carry their clauses; a harness error in a test's call is
shown and counted as an error, a disabled test as "Disabled", a known deviation as an
expected failure. Registered by the plugin only when pytest-html is active.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from conformance.clauses import CLAUSES, Strictness
from conformance.run.advisories import advisory_lines
from conformance.run.outcomes import finalize, run_header
from conformance.run.report import clause_matrix
from conformance.run.state import run_state
from conformance.settings import Settings

__all__ = ["HtmlHooks", "verdict_phrase"]

_CLASS = {0: "ok", 1: "bad", 2: "broken", 3: "broken", 4: "broken", 130: "broken"}
_STYLE = """
#environment-header { display: none; }
.summary__data > h2 { display: none; }
h1#title { font-size: 15px; margin: 6px 0 0; color: #555; }
.cf-banner { padding: 12px 16px; border-radius: 6px; color: #fff; margin: 6px 0 8px; }
.cf-verdict { font-size: 26px; font-weight: bold; text-transform: uppercase; }
.cf-exit { float: right; font-size: 14px; margin-top: 8px; }
.cf-detail { font-size: 13px; margin-top: 4px; }
.cf-ok { background: #2e7d32; } .cf-warn { background: #b26a00; }
.cf-bad { background: #c62828; } .cf-broken { background: #5e35b1; }
#cf-target { font-size: 14px; margin: 4px 0; }
.cf-advisory { color: #b26a00; font-weight: bold; margin: 2px 0; }
#clause-matrix { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
#clause-matrix th, #clause-matrix td { border: 1px solid #ddd; padding: 3px 8px;
  text-align: left; vertical-align: top; }
#clause-matrix th { background: #f3f3f3; }
.m-failed { color: #c62828; font-weight: bold; } .m-passed { color: #2e7d32; font-weight: bold; }
.m-error { color: #5e35b1; font-weight: bold; } .m-disabled, .m-not-run { color: #757575; }
.m-expected-failure { color: #6a1b9a; font-weight: bold; }
.cf-partial { color: #b26a00; font-style: italic; }
details.cf-more { margin: 8px 0 12px; font-size: 12px; }
details.cf-more > summary { cursor: pointer; font-size: 14px; font-weight: bold; }
td.col-result[data-label] { font-size: 0; }
td.col-result[data-label]::before { content: attr(data-label); font-size: 12px; }
tbody.results-table-row:target { outline: 2px solid #1565c0; }
"""
# pytest-html's script finds #environment by id and its header must stay in the page (the
# script binds to it); only the table moves into the collapsed section.
_SCRIPT = ("<script>(function(){var s=document.getElementById('cf-env-slot'),"
           "t=document.getElementById('environment');"
           "if(s&&t){s.appendChild(t);t.classList.remove('hidden');}})();</script>")


def verdict_phrase(summary: dict[str, Any]) -> str:
    """The verdict as a reader wants it: with the disabled clauses and known deviations."""
    verdict = str(summary.get("verdict", "unknown"))
    if summary.get("exit_code") != 0:
        return verdict
    clauses = [c for cid, c in summary.get("clauses", {}).items()
               if CLAUSES[cid].strictness is not Strictness.ADVISORY]  # RATE-LIMIT: no 429 seen
    disabled = sum(1 for c in clauses if c.get("outcome") == "disabled")
    excused = sum(1 for c in clauses if c.get("outcome") == "expected-failure")
    extra = [f"{n} clause{'s' if n != 1 else ''} {what}"
             for n, what in ((disabled, "disabled"), (excused, "a known deviation"))
             if n]
    return f"{verdict} with {' and '.join(extra)}" if extra else verdict


class HtmlHooks:
    """See the module docstring."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.metadata: dict[str, Any] = {}
        self.report_data: Any = None
        self.moved_to_error = 0
        self.skips: list[str] = []

    def pytest_sessionstart(self) -> None:
        # Before pytest-html (trylast) copies the metadata into its environment table.
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        self.metadata = self.config.stash.get(metadata_key, {})
        header = run_header(run_state(self.config))
        self.metadata.update({k.replace("_", " ").capitalize(): v for k, v in header.items()})

    def pytest_html_report_title(self, report: Any) -> None:
        # pytest-html's report data: its title and counters are read when it renders.
        self.report_data = report
        report.title = f"Conformance report: {run_header(run_state(self.config))['target']}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="clauses">Clauses</th>')

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        record = run_state(self.config).records.get(report.nodeid)
        clauses = ", ".join(record.clauses) if record is not None else ""
        cells.insert(2, f'<td class="col-clauses">{escape(clauses)}</td>')
        # The cell's text is what pytest-html filters on: a new label goes in data-label.
        if getattr(report, "conformance_error", False) and report.when == "call":
            cells[0] = '<td class="col-result">Error</td>'
            self.moved_to_error += 1
        elif hasattr(report, "wasxfail") and report.skipped:
            cells[0] = '<td class="col-result" data-label="Expected failure">XFailed</td>'
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            disabled = str(reason).removeprefix("Skipped: ").startswith("disabled:")
            self.skips.append("disabled" if disabled else "skipped")
            if disabled:
                cells[0] = '<td class="col-result" data-label="Disabled">Skipped</td>'

    def pytest_html_results_summary(self, prefix: list[str], session: pytest.Session) -> None:
        summary = finalize(session)
        if summary is None:
            return
        state = run_state(self.config)
        self._relabel()
        code = int(summary.get("exit_code", 3))
        phrase = verdict_phrase(summary)
        style = "warn" if code == 0 and phrase != summary.get("verdict") else _CLASS.get(
            code, "broken")
        counts = ", ".join(f"{n} {o}" for o, n in summary["counts"].items() if n)
        failed = summary.get("failed_clauses") or []
        detail = (f"failed clauses: {', '.join(failed)} | " if failed else "") + counts
        if self.report_data is not None:
            self.report_data.title = f"{phrase}: {state.target_label}"
        matrix = clause_matrix(list(state.records.values()))
        prefix += [
            f'<div id="cf-banner" class="cf-banner cf-{style}"><span class="cf-verdict">'
            f'{escape(phrase)}</span><span class="cf-exit">exit code {code}</span>'
            f'<div class="cf-detail">{escape(detail)}</div></div>',
            f'<p id="cf-target">Target: <b>{escape(state.target_label)}</b> &nbsp; profile '
            f'{escape(str(summary.get("profile")))}, seed {escape(str(summary.get("seed")))}, '
            f'run {escape(str(summary.get("run_id")))}</p>',
            *(f'<p class="cf-advisory">{escape(line)}</p>'
              for line in advisory_lines(summary.get("advisories") or {})),
            _matrix(matrix, summary),
            _more(state.notes, summary, state.settings),
            f"<style>{_STYLE}</style>", _SCRIPT,
        ]

    def _relabel(self) -> None:
        data = self.report_data
        if data is None:
            return
        outcomes = data.outcomes
        outcomes["failed"]["value"] -= self.moved_to_error
        outcomes["error"]["value"] += self.moved_to_error
        disabled = self.skips.count("disabled")
        if disabled and disabled == len(self.skips):
            outcomes["skipped"]["label"] = "Disabled"
        elif disabled:
            outcomes["skipped"]["label"] = f"Skipped ({disabled} disabled)"
        outcomes["xfailed"]["label"] = "Expected failures"


def _matrix(rows: list[Any], summary: dict[str, Any]) -> str:
    clauses = summary.get("clauses", {})
    body = []
    for row in rows:
        entry = clauses.get(row.clause_id, {})
        subjects = [escape(s) for s in entry.get("subjects_judged", ())]
        subjects += [f'<span class="cf-partial">partially judged: {escape(p)}</span>'
                     for p in entry.get("partially_judged", ())]
        tests = row.tests
        link = (f'<a href="#{escape(tests[0], quote=True)}">{len(tests)} '
                f'test{"s" if len(tests) != 1 else ""}</a>' if tests else "none")
        body.append(
            f"<tr><td><b>{escape(row.clause_id)}</b></td>"
            f"<td>{escape(CLAUSES[row.clause_id].sentence)}</td>"
            f'<td class="m-{escape(row.outcome)}">{escape(row.outcome)}</td>'
            f"<td>{'<br>'.join(subjects)}</td><td>{link}</td>"
            f"<td>{escape(row.strictness)}, {escape(row.source)}</td></tr>")
    return ('<table id="clause-matrix"><thead><tr><th>Clause</th><th>Sentence</th>'
            "<th>Outcome</th><th>Subjects judged</th><th>Tests</th><th>Strictness, source"
            f"</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def _more(notes: list[str], summary: dict[str, Any], settings: Settings) -> str:
    facts = [*notes, f"requests sent: {summary.get('requests')}, 429s waited out: "
             f"{summary.get('rate_limited')}, tasks created: {summary.get('tasks_created')}, "
             f"wall {summary.get('duration_s', 0):.0f} s"]
    facts += [f"cleanup problem: {p}" for p in summary.get("cleanup_problems", ())]
    settings_rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                            for k, v in settings.redacted().items())
    return ('<details class="cf-more"><summary>Run, environment and settings</summary>'
            + "".join(f"<p>{escape(line)}</p>" for line in facts)
            + '<div id="cf-env-slot"></div><h3>Settings</h3>'
            f'<table class="cf-settings">{settings_rows}</table></details>')
