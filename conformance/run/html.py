"""report.html: one self-contained page rendered from the run's Summary, leading with the verdict.

The first screen shows the banner (the verdict, what it rests on, the exit code), the target
and what it announces, what the run left on the target, and the clause matrix (per clause its
outcome, the subjects judged and why some were not, a link to its tests); the tests follow,
each with its finding, its evidence and its HTTP transcript; the run's facts, the environment
and the settings come last, collapsed. ``conformance report SUMMARY.json`` renders the same
page from a summary.json (without the transcripts, which summary.json does not hold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from conformance.run.advisories import advisory_lines
from conformance.run.summary import Summary, TestResult

__all__ = ["BODY_LIMIT", "render_exchange", "render_page"]

BODY_LIMIT = 2000
"""Characters of a body the report shows; the HAR file and the transcript keep more."""

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; font-size: 13px; margin: 12px 18px;
  color: #222; }
h1 { font-size: 15px; margin: 6px 0 0; color: #555; font-weight: normal; }
h2 { font-size: 16px; margin: 18px 0 6px; }
.cf-banner { padding: 12px 16px; border-radius: 6px; color: #fff; margin: 6px 0 8px; }
.cf-verdict { font-size: 26px; font-weight: bold; text-transform: uppercase; }
.cf-exit { float: right; font-size: 14px; margin-top: 8px; }
.cf-detail { font-size: 13px; margin-top: 4px; }
.cf-ok { background: #2e7d32; } .cf-warn { background: #b26a00; }
.cf-bad { background: #c62828; } .cf-broken { background: #5e35b1; }
#cf-target { font-size: 14px; margin: 4px 0; }
.cf-advisory, .cf-left { color: #b26a00; font-weight: bold; margin: 2px 0; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.m-failed { color: #c62828; font-weight: bold; } .m-passed { color: #2e7d32; font-weight: bold; }
.m-error { color: #5e35b1; font-weight: bold; }
.m-disabled, .m-not-run, .m-skipped { color: #757575; }
.m-not-judged { color: #b26a00; font-weight: bold; }
.m-expected-failure { color: #6a1b9a; font-weight: bold; }
.cf-partial, .cf-unjudged { color: #b26a00; font-style: italic; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; background: #f7f7f7;
  padding: 6px; max-width: 100%; }
details { margin: 4px 0; } details > summary { cursor: pointer; }
details.cf-more { margin: 8px 0 12px; font-size: 12px; }
details.cf-more > summary { font-size: 14px; font-weight: bold; }
tbody.cf-test:target { outline: 2px solid #1565c0; }
"""
_STYLE_OF = {0: "ok", 1: "bad"}
TRANSCRIPT_LIMIT = 200
"""Exchanges shown per test; property tests send hundreds and would bloat the page."""


def render_page(summary: Summary,
                transcripts: Mapping[str, Sequence[dict[str, Any]]] | None = None) -> str:
    """The whole page; ``transcripts``: per test ID, its exchanges (``report.exchange_view``)."""
    title = f"{summary.verdict}: {summary.target}"
    body = [
        f"<h1 id=\"title\">Conformance report: {escape(summary.target)}</h1>",
        _banner(summary),
        f'<p id="cf-target">Target: <b>{escape(summary.target)}</b> &nbsp; profile '
        f"{escape(str(summary.profile))}, seed {escape(str(summary.seed))}, run "
        f"{escape(str(summary.run_id))}, {escape(summary.mode)}</p>",
        *(f'<p class="cf-advisory">{escape(line)}</p>'
          for line in advisory_lines(summary.advisories or {})),
        *(f'<p class="cf-left">{escape(line)}</p>' for line in summary.leftovers.lines()),
        _matrix(summary),
        _tests(summary, transcripts),
        _more(summary),
    ]
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


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
            + "".join(f'<div class="cf-detail">{escape(d)}</div>' for d in details if d)
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
        link = (f'<a href="#{escape(_anchor(tests[0]), quote=True)}">{len(tests)} '
                f'test{"s" if len(tests) != 1 else ""}</a>' if tests else "none")
        rows.append(
            f"<tr><td><b>{escape(row.clause_id)}</b></td><td>{escape(row.sentence)}</td>"
            f'<td class="m-{escape(row.outcome)}">{escape(row.outcome)}</td>'
            f"<td>{'<br>'.join(subjects)}</td><td>{link}</td>"
            f"<td>{escape(row.strictness)}, {escape(row.source)}</td></tr>")
    return (f"<h2>Clauses: {summary.clauses_judged} of {summary.clauses_total} judged</h2>"
            '<table id="clause-matrix"><thead><tr><th>Clause</th><th>Sentence</th>'
            "<th>Outcome</th><th>Subjects judged</th><th>Tests</th><th>Strictness, source"
            f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _tests(summary: Summary,
           transcripts: Mapping[str, Sequence[dict[str, Any]]] | None) -> str:
    order = {"failed": 0, "error": 1, "not-judged": 2, "expected-failure": 3}
    shown = sorted(summary.tests, key=lambda t: order.get(t.outcome, 9))
    rows = "".join(_test(t, (transcripts or {}).get(t.nodeid, ())) for t in shown)
    note = "" if transcripts is not None else (
        "<p>Rendered from summary.json: the HTTP transcripts are not part of it.</p>")
    return (f"<h2>Tests</h2>{note}<table id=\"results-table\"><thead><tr><th>Outcome</th>"
            "<th>Test</th><th>Clauses</th><th>Duration</th></tr></thead>"
            f"{rows}</table>")


def _test(test: TestResult, exchanges: Sequence[dict[str, Any]]) -> str:
    label = test.outcome.replace("-", " ").capitalize()
    parts = []
    if test.message:
        parts.append(f"<pre>{escape(test.message)}</pre>")
    if test.violated:
        parts.append(f"<p><b>Violated:</b> {escape(', '.join(test.violated))}</p>")
    if test.reproduce and "\n" in test.reproduce:  # a script: set-up steps included
        lines = test.reproduce.count("\n") + 1
        parts.append(f"<details><summary><b>Reproduce</b> ({lines} lines, keys from the "
                     f"environment)</summary><pre>{escape(test.reproduce)}</pre></details>")
    elif test.reproduce:
        parts.append(f"<p><b>Reproduce:</b></p><pre>{escape(test.reproduce)}</pre>")
    if test.evidence:
        parts.append("<p><b>Evidence</b> (the exchanges the finding rests on, set-up "
                     "included):</p><pre>"
                     + escape("\n\n".join(
                         (f"{e['finding']}: " if e.get("finding") else "") + render_exchange(e)
                         for e in test.evidence)) + "</pre>")
    if exchanges:
        kept = list(exchanges)[-TRANSCRIPT_LIMIT:]
        text = "\n\n".join(render_exchange(e) for e in kept)
        parts.append(f"<details><summary>HTTP transcript ({len(kept)} of {len(exchanges)} "
                     f"exchanges)</summary><pre>{escape(text)}</pre></details>")
    detail = (f'<tr><td colspan="4">{"".join(parts)}</td></tr>' if parts else "")
    return (f'<tbody class="cf-test" id="{escape(_anchor(test.nodeid), quote=True)}"><tr>'
            f'<td class="m-{escape(test.outcome)}">{escape(label)}</td>'
            f"<td>{escape(test.nodeid)}</td><td>{escape(', '.join(test.clauses))}</td>"
            f"<td>{test.duration_s:.2f} s</td></tr>{detail}</tbody>")


def _more(summary: Summary) -> str:
    facts = [*summary.notes, f"requests sent: {summary.requests}, 429s waited out: "
             f"{summary.rate_limited}, tasks created: {summary.tasks_created}, wall "
             f"{summary.duration_s:.0f} s, started {summary.started_at}"]
    facts += [f"cleanup problem: {p}" for p in summary.cleanup_problems]
    if summary.interrupted:
        facts.append(f"interrupted: {summary.interrupted}")

    def table(rows: Mapping[str, Any], ident: str) -> str:
        cells = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>"
                        for k, v in rows.items())
        return f'<table id="{ident}">{cells}</table>'

    return ('<details class="cf-more"><summary>Run, environment and settings</summary>'
            + "".join(f"<p>{escape(line)}</p>" for line in facts)
            + "<h3>Environment</h3>" + table(summary.environment, "environment")
            + "<h3>Settings</h3>" + table(summary.settings, "cf-settings") + "</details>")


def _anchor(nodeid: str) -> str:
    return "test-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid)


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
