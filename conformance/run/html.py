"""report.html is pytest-html's page, fed by the run's one Summary: these are its hooks.

The page leads with the verdict: the banner (the verdict, what it rests on, the exit code),
the target and what it announces, what the run left on the target, and the clause matrix
(per clause its outcome, the subjects judged and why some were not, a link to its tests);
the run's facts, pytest-html's environment table and the settings follow, collapsed. The
results table gets a Clauses column and honest labels (Disabled, Not judged, Expected
failure, and Error for a harness error in a test's call); its counters are the Summary's.
A test's details hold its finding (the failure text), its evidence (``evidence_hooks.py``),
what it violated and its HTTP transcript, collapsed.

The same hooks serve a live run (registered by the plugin) and a page rendered from a
summary alone (``page.py``): both hand in where the Summary and each test's outcome come
from, and nothing here derives a verdict fact itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any, Protocol

import pytest

from conformance.run.advisories import advisory_lines
from conformance.run.summary import Summary

__all__ = ["BODY_LIMIT", "REPORT_CSS", "TRANSCRIPT_LIMIT", "PageHooks", "Shown", "details_block",
           "render_exchange", "summary_fragments"]

REPORT_CSS = Path(__file__).resolve().parent.parent / "data" / "report.css"
"""The page's own styles, handed to pytest-html (``--css``)."""
BODY_LIMIT = 2000
"""Characters of a body a transcript shows; the HAR file and the evidence keep more."""
TRANSCRIPT_LIMIT = 200
"""Exchanges shown per test; property tests send hundreds and would bloat the page."""
_STYLE_OF = {0: "ok", 1: "bad"}
_LABELS = {"disabled": "Disabled", "not-judged": "Not judged"}
# pytest-html binds its environment header by id, so only the table moves into the
# collapsed section (its own script fills the table wherever it is).
_MOVE_ENVIRONMENT = ("<script>(function(){var s=document.getElementById('cf-env-slot'),"
                     "t=document.getElementById('environment');"
                     "if(s&&t){s.appendChild(t);}})();</script>")


class Shown(Protocol):
    """What the page shows of a test beside pytest's report: a run's record, or a
    summary's test result."""

    @property
    def outcome(self) -> str: ...

    @property
    def clauses(self) -> Sequence[str]: ...

    @property
    def violated(self) -> Sequence[str]: ...


class PageHooks:
    """pytest-html hooks (see the module docstring). ``summary_of``: the Summary once the
    session ends (a live run computes it then); ``test_of``: a test's outcome by node ID;
    ``transcript_of``: its exchanges (``report.exchange_view`` dicts); ``note``: a line the
    page adds under the banner."""

    def __init__(self, summary_of: Callable[[pytest.Session], Summary | None],
                 test_of: Callable[[str], Shown | None],
                 transcript_of: Callable[[str], Sequence[Mapping[str, Any]]] | None = None,
                 *, note: str = "") -> None:
        self.summary_of = summary_of
        self.test_of = test_of
        self.transcript_of = transcript_of
        self.note = note
        self.data: Any = None
        """pytest-html's report data: its title, counters and environment."""

    def pytest_html_report_title(self, report: Any) -> None:
        self.data = report

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="clauses">Clauses</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport,
                                      cells: list[str]) -> None:
        shown = self.test_of(report.nodeid)
        clauses = ", ".join(shown.clauses) if shown is not None else ""
        cells.insert(2, f'<td class="col-clauses">{escape(clauses)}</td>')
        # pytest-html filters and sorts on the cell's text, one of its own categories: a
        # label of ours goes into data-label (report.css shows it instead).
        label = None
        if report.failed:
            text = "Failed" if getattr(report, "conformance_violation", False) else "Error"
            cells[0] = f'<td class="col-result">{text}</td>'
        elif report.skipped and hasattr(report, "wasxfail"):
            label = "Expected failure"
        elif report.skipped and shown is not None:
            label = _LABELS.get(shown.outcome)
        if label is not None:
            cells[0] = cells[0].replace('<td class="col-result"',
                                        f'<td class="col-result" data-label="{label}"', 1)

    def pytest_html_results_table_html(self, report: pytest.TestReport,
                                       data: list[str]) -> None:
        # A skip's log is pytest's (file, line, "Skipped: why") of wherever it was raised:
        # the reason alone says it.
        if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            data[:] = [escape(str(report.longrepr[2]).removeprefix("Skipped: "))]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if report.when == "call" or (report.when == "setup" and not report.passed):
            shown = self.test_of(item.nodeid)
            exchanges = self.transcript_of(item.nodeid) if self.transcript_of else ()
            block = details_block(shown, exchanges, getattr(report, "wasxfail", ""))
            if block:
                from pytest_html import extras

                report.extras = [*getattr(report, "extras", []), extras.html(block)]
        return report

    def pytest_html_results_summary(self, prefix: list[str], session: pytest.Session) -> None:
        summary = self.summary_of(session)
        if summary is None:
            return
        if self.data is not None:
            self.data.title = f"{summary.verdict}: {summary.target}"
            _count(self.data.outcomes, summary.counts)
            environment = self.data.data.get("environment")
            if isinstance(environment, dict):  # pytest-metadata's, shown by pytest-html
                environment.clear()
                environment.update(_environment(summary))
        prefix += [*summary_fragments(summary, self.note), _MOVE_ENVIRONMENT]


def _count(counters: dict[str, dict[str, Any]], counts: Mapping[str, int]) -> None:
    """pytest-html's counters say what the Summary says."""
    kinds = {k: counts.get(k, 0) for k in ("disabled", "not-judged", "skipped")}
    values = {"passed": counts.get("passed", 0), "failed": counts.get("failed", 0),
              "error": counts.get("error", 0), "xfailed": counts.get("expected-failure", 0),
              "skipped": sum(kinds.values()), "xpassed": 0, "rerun": 0, "retried": 0}
    for name, value in values.items():
        if name in counters:
            counters[name]["value"] = value
    named = [f"{n} {kind.replace('-', ' ')}" for kind, n in kinds.items() if n]
    if "skipped" in counters and named:
        counters["skipped"]["label"] = f"Skipped ({', '.join(named)})"


def _environment(summary: Summary) -> dict[str, Any]:
    facts = {"Suite version": summary.suite_version, "Spec digest": summary.spec_digest,
             "Profile": summary.profile, "Seed": summary.seed, "Run": summary.run_id,
             "Started": summary.started_at}
    shown = {k: v for k, v in facts.items() if v not in (None, "")}
    shown.update({str(k): v for k, v in summary.environment.items()})
    return shown


def summary_fragments(summary: Summary, note: str = "") -> list[str]:
    """What leads the page, from the Summary: banner, target, advisories, leftovers, the
    clause matrix, and the run's facts collapsed."""
    return [
        _banner(summary),
        f'<p id="cf-target">Target: <b>{escape(summary.target)}</b> &nbsp; profile '
        f"{escape(str(summary.profile))}, seed {escape(str(summary.seed))}, run "
        f"{escape(str(summary.run_id))}, {escape(summary.mode)}</p>",
        *(f'<p class="cf-advisory">{escape(line)}</p>'
          for line in advisory_lines(summary.advisories or {})),
        *(f'<p class="cf-left">{escape(line)}</p>' for line in summary.leftovers.lines()),
        *([f'<p class="cf-note">{escape(note)}</p>'] if note else []),
        _matrix(summary),
        _more(summary),
    ]


def _banner(summary: Summary) -> str:
    code = summary.exit_code
    qualified = code == 0 and any(u["outcome"] != "disabled" or u["clause"] != "RATE-LIMIT"
                                  for u in summary.unjudged)
    style = "warn" if qualified else _STYLE_OF.get(code, "broken")
    verdict, _, rest = summary.headline.partition(": ")
    counts = ", ".join(f"{n} {o}" for o, n in summary.counts.items() if n)
    details = [rest, counts, *summary.problems[:5]]
    if summary.unjudged:
        details.append("not judged: " + "; ".join(
            f"{u['clause']} ({u['outcome']}): {u['why']}" for u in summary.unjudged))
    return (f'<div id="cf-banner" class="cf-banner cf-{style}"><span class="cf-verdict">'
            f'{escape(verdict)}</span><span class="cf-exit">exit code {code}</span>'
            + "".join(f'<div class="cf-detail">{escape(d)}</div>'
                      for d in dict.fromkeys(details) if d)
            + "</div>")


def _matrix(summary: Summary) -> str:
    rows = []
    for row in summary.clauses:
        subjects = [escape(s) for s in row.subjects_judged]
        subjects += [f'<span class="cf-partial">partially judged: {escape(p)}</span>'
                     for p in row.partially_judged]
        subjects += [f'<span class="cf-unjudged">not judged: {escape(p)}</span>'
                     for p in row.not_judged]
        tests = row.tests
        # pytest-html gives each result's body its test's node ID.
        link = (f'<a href="#{escape(tests[0], quote=True)}">{len(tests)} '
                f'test{"s" if len(tests) != 1 else ""}</a>' if tests else "none")
        rows.append(
            f"<tr><td><b>{escape(row.clause_id)}</b></td><td>{escape(row.sentence)}</td>"
            f'<td class="m-{escape(row.outcome)}">{escape(row.outcome)}</td>'
            f"<td>{'<br>'.join(subjects)}</td><td>{link}</td>"
            f"<td>{escape(row.strictness)}, {escape(row.source)}</td></tr>")
    return (f'<h2 id="cf-clauses">Clauses: {summary.clauses_judged} of '
            f"{summary.clauses_total} judged</h2>"
            '<table id="clause-matrix"><thead><tr><th>Clause</th><th>Sentence</th>'
            "<th>Outcome</th><th>Subjects judged</th><th>Tests</th><th>Strictness, source"
            f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _more(summary: Summary) -> str:
    facts = [*summary.notes, f"requests sent: {summary.requests}, 429s waited out: "
             f"{summary.rate_limited}, tasks created: {summary.tasks_created}, wall "
             f"{summary.duration_s:.0f} s, started {summary.started_at}"]
    facts += [f"cleanup problem: {p}" for p in summary.cleanup_problems]
    if summary.interrupted:
        facts.append(f"interrupted: {summary.interrupted}")
    settings = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>"
                       for k, v in summary.settings.items())
    return ('<details class="cf-more"><summary>Run, environment and settings</summary>'
            + "".join(f"<p>{escape(line)}</p>" for line in facts)
            + '<h3>Environment</h3><div id="cf-env-slot"></div>'
            + f'<h3>Settings</h3><table id="cf-settings">{settings}</table></details>')


def details_block(shown: Shown | None, exchanges: Sequence[Mapping[str, Any]],
                 deviation: str = "") -> str:
    """A test's own block under its finding: what it violated, the known deviation that
    excused it, and its HTTP transcript, collapsed (empty when there is nothing to show)."""
    parts = []
    if shown is not None and shown.violated:
        parts.append(f"<p><b>Violated:</b> {escape(', '.join(shown.violated))}</p>")
    if deviation:
        parts.append(f"<p><b>Expected failure:</b> {escape(deviation)}</p>")
    if exchanges:
        kept = list(exchanges)[-TRANSCRIPT_LIMIT:]
        text = "\n\n".join(render_exchange(e) for e in kept)
        parts.append(f"<details><summary>HTTP transcript ({len(kept)} of {len(exchanges)} "
                     f"exchanges)</summary><pre>{escape(text)}</pre></details>")
    return f'<div class="conformance-extra">{"".join(parts)}</div>' if parts else ""


def render_exchange(view: Mapping[str, Any]) -> str:
    """One exchange as text: request line, headers, bodies shortened."""
    status = view.get("status")
    key = view.get("key_label")
    lines = [f"{view.get('method', '?')} {view.get('url', '?')} -> "
             f"{status if status is not None else 'no answer'}"
             + (f"  (key: {key})" if key else "")]
    for label in ("request_headers", "request_body", "response_headers", "response_body"):
        value = view.get(label)
        if value in (None, "", {}):
            continue
        text = "\n".join(f"  {k}: {v}" for k, v in value.items()) if isinstance(value, dict) \
            else f"  {value}"
        if len(text) > BODY_LIMIT:
            text = text[:BODY_LIMIT] + f" ... ({len(text) - BODY_LIMIT} more characters)"
        lines.append(f"{label.replace('_', ' ')}:\n{text}")
    if view.get("error"):
        lines.append(f"error: {view['error']}")
    return "\n".join(lines)
