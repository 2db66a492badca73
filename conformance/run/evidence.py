"""How a finding's evidence reads: in full in report.html (each exchange the verdict rests on
with request line, headers and body, then the answer's status, headers and body; the
reproduction script; the replay command), and in a short form in the failure text that
junit.xml and the console carry. A page rendered from a summary (``page.py``) shows the same
block from the summary's evidence (``evidence_views_html``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from conformance.run.findings import Finding
from conformance.wire.transcript import Exchange

__all__ = ["STYLE", "evidence_html", "evidence_text", "evidence_views_html",
           "without_filtered_reproduction"]

BODY_SHOWN = 4000
"""Characters of a body the report shows (the HAR holds what the transcript kept)."""
SHORT_BODY = 160
STYLE = """<style>
.cf-evidence { font-size: 13px; margin: 4px 0 10px; }
.cf-evidence h4 { margin: 6px 0 4px; color: #c62828; }
/* A result's details wrap at the page's edge, long tokens (IDs, URLs) included: anywhere,
   unlike break-word, also narrows the table cell's minimum width. */
.extras-row .extra, .cf-evidence, .cf-evidence *, .conformance-extra,
.conformance-extra pre, .logwrapper .log { overflow-wrap: anywhere; }
.cf-evidence pre, .conformance-extra pre { white-space: pre-wrap; }
.cf-exchange { border-left: 3px solid #c62828; padding: 0 0 0 8px; margin: 6px 0; }
.cf-exchange pre { margin: 2px 0; background: #fafafa; padding: 4px; }
.cf-exchange .cf-answer { background: #fff3f3; }
.cf-evidence details > summary { cursor: pointer; font-weight: bold; }
</style>"""


def evidence_html(findings: Sequence[Finding], items: Sequence[Exchange],
                  report_dir: Path) -> str:
    """The block a failed test's report opens with: per finding its evidence in full."""
    parts = [STYLE]
    for finding in findings:
        steps = finding.evidence
        parts.append(f'<div class="cf-evidence" id="finding-{escape(finding.id)}">'
                     f"<h4>{escape(finding.id)} &middot; {escape(finding.clause)}: "
                     f"{escape(finding.message)}</h4>"
                     f"<p>Evidence: {len(steps)} exchange{'s' if len(steps) != 1 else ''} "
                     "the verdict rests on"
                     + (f" (judged by <code>{escape(finding.check)}</code>)"
                        if finding.check else "") + "</p>")
        for step in steps:
            if step.position is not None and step.position < len(items):
                request, answer = exchange_text(items[step.position])
                parts.append(f'<div class="cf-exchange"><pre>{escape(request)}</pre>'
                             f'<pre class="cf-answer">{escape(answer)}</pre></div>')
        setup = len(finding.story.steps) - len(steps)
        script = finding_script(finding)
        parts.append(f"<details><summary>Reproduce: a bash script of "
                     f"{_steps(len(finding.story.steps))} ({setup} of set-up), keys from "
                     "the environment</summary>"
                     f"<pre>{escape(script)}</pre></details>"
                     f"<p>Replay against a target: <code>{escape(replay_line(finding, report_dir))}"
                     "</code></p></div>")
    return "".join(parts)


def evidence_views_html(views: Sequence[Mapping[str, Any]], reproduce: str | None) -> str:
    """The same block from a summary's evidence (``report.exchange_view`` dicts, each marked
    with its finding) and the test's reproduction, collapsed when it is a script."""
    parts = [STYLE]
    findings: dict[str, list[Mapping[str, Any]]] = {}
    for view in views:
        findings.setdefault(str(view.get("finding") or "Evidence"), []).append(view)
    for finding, shown in findings.items():
        parts.append(f'<div class="cf-evidence"><h4>{escape(finding)}</h4>'
                     f"<p>Evidence: {len(shown)} exchange{'s' if len(shown) != 1 else ''} "
                     "the verdict rests on</p>")
        for view in shown:
            request, answer = _view_text(view)
            parts.append(f'<div class="cf-exchange"><pre>{escape(request)}</pre>'
                         f'<pre class="cf-answer">{escape(answer)}</pre></div>')
        parts.append("</div>")
    if reproduce and "\n" in reproduce:  # a script: set-up steps included
        lines = reproduce.count("\n") + 1
        parts.append(f'<div class="cf-evidence"><details><summary>Reproduce: a bash script of '
                     f"{lines} lines, keys from the environment</summary>"
                     f"<pre>{escape(reproduce)}</pre></details></div>")
    elif reproduce:
        parts.append(f'<div class="cf-evidence"><p>Reproduce:</p><pre>{escape(reproduce)}'
                     "</pre></div>")
    return "".join(parts) if len(parts) > 1 else ""


def _view_text(view: Mapping[str, Any]) -> tuple[str, str]:
    """``exchange_text`` of an exchange as summary.json holds it."""
    request = [f"{view.get('method', '?')} {view.get('url', '?')}"]
    request += [f"{k}: {v}" for k, v in (view.get("request_headers") or {}).items()]
    if view.get("request_body"):
        request += ["", _shown(str(view["request_body"]), BODY_SHOWN)]
    if view.get("status") is None:
        return "\n".join(request), f"no answer: {view.get('error') or 'unknown error'}"
    answer = [f"HTTP {view['status']}"]
    answer += [f"{k}: {v}" for k, v in (view.get("response_headers") or {}).items()]
    body = view.get("response_body")
    answer += ["", _shown(str(body), BODY_SHOWN) if body else "(no body bytes)"]
    return "\n".join(request), "\n".join(answer)


def finding_script(finding: Finding) -> str:
    from conformance.run.reproduce import reproduction_script

    return reproduction_script(finding.story, title=f"Reproduces {finding.id} "
                               f"[{finding.clause}] of {finding.test}",
                               judged=f"[{finding.clause}] {finding.message}")


def replay_line(finding: Finding, report_dir: Path) -> str:
    return f"conformance replay {finding.id} --findings {report_dir / 'findings.json'}"


def exchange_text(exchange: Exchange) -> tuple[str, str]:
    """The request (line, headers, body) and the answer (status, headers, body) as text."""
    request = [f"{exchange.method} {exchange.url}"]
    request += [f"{k}: {v}" for k, v in exchange.request_headers.items()]
    if exchange.form or exchange.files:
        request += ["", *(f"{k}={v}" for k, v in exchange.form),
                    *(f"{k}=@{name} ({size} bytes)" for k, name, size in exchange.files)]
    elif exchange.request_body:
        request += ["", _shown(exchange.request_body, BODY_SHOWN)]
    if exchange.status is None:
        return "\n".join(request), f"no answer: {exchange.error or 'unknown error'}"
    answer = [f"HTTP {exchange.status}"]
    answer += [f"{k}: {v}" for k, v in exchange.response_headers.items()]
    body = exchange.response_body
    answer += ["", _shown(body, BODY_SHOWN) if body else "(no body bytes)"]
    if exchange.response_truncated:
        answer.append("(shortened: longer than the transcript keeps)")
    return "\n".join(request), "\n".join(answer)


def _steps(count: int) -> str:
    return f"{count} step{'s' if count != 1 else ''}"


def _shown(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def evidence_text(findings: Sequence[Finding], items: Sequence[Exchange],
                  report_dir: Path, *, curl: bool = False) -> str:
    """The short form: per finding the answers it rests on in a line each (status, headers,
    start of the body), the size of its story, and where its reproduction is; with ``curl``
    also a curl line of its last request (for a failure text that has none of its own)."""
    lines = []
    for finding in findings:
        steps = finding.evidence
        lines.append(f"evidence {finding.id} [{finding.clause}]:")
        for step in steps:
            if step.position is None or step.position >= len(items):
                continue
            exchange = items[step.position]
            headers = "; ".join(f"{k}: {v}" for k, v in exchange.response_headers.items())
            body = exchange.response_body
            lines.append(f"  {exchange.method} {exchange.url} -> "
                         f"{exchange.status if exchange.status is not None else 'no answer'}"
                         f" | {headers or 'no headers'} | body: "
                         f"{_shown(body, SHORT_BODY)!r}" if body else
                         f"  {exchange.method} {exchange.url} -> {exchange.status} | "
                         f"{headers or 'no headers'} | no body bytes")
        last = [s.position for s in steps if s.position is not None and
                s.position < len(items)]
        if curl and last:
            lines.append(f"  reproduce the last request: {items[last[-1]].curl()}")
        lines.append(f"  reproduce: {report_dir / 'reproduce' / (finding.id + '.sh')} "
                     f"({_steps(len(finding.story.steps))}, set-up included); replay: "
                     f"{replay_line(finding, report_dir)}")
    return "\n".join(lines)


# schemathesis' block: the header, blank lines, then the indented curl lines.
_FILTERED = re.compile(r"\n*Reproduce with:?[ \t]*\n(?:[ \t]*\n)*(?:[ \t]+\S.*(?:\n|\Z))+")


def without_filtered_reproduction(text: str) -> str:
    """A failure text without schemathesis' "Reproduce with" curl, whose key is
    ``[Filtered]`` (a 401 when pasted): the finding's own reproduction replaces it."""
    if "[Filtered]" not in text:
        return text
    return _FILTERED.sub("\n", text).strip("\n")
