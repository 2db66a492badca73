"""report.html of a run that has no test session to render it: the summary's recorded tests
replayed through pytest-html, so one renderer serves every page.

A run that could not start (exits 2, 3, 4, 5 and 130 before any test), ``conformance report
SUMMARY.json``, and a session that ended before pytest-html could write its page get their
report.html here: a minimal pytest session in this process (no plugin but pytest-html, its
pytest-metadata, and two of ours) collects one item per recorded test, each of which ends
as the run recorded it (its outcome, its finding's text, its evidence and reproduction),
and ``html.PageHooks`` leads the page with the same banner and matrix. A few tenths of a
second; the summary is redacted already, and the environment table shows the summary's.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.run.evidence import evidence_views_html
from conformance.run.html import REPORT_CSS, PageHooks
from conformance.run.summary import Summary, TestResult

__all__ = ["PageError", "write_page"]

_EMPTY_INI = Path(__file__).resolve().parent.parent / "data" / "conformance-run.ini"
_SHIELDED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")
"""A user's pytest options and plugins are not the page's (one could start a run)."""
_SKIPS = {"disabled": "disabled: {}", "not-judged": "not judged: {}", "skipped": "{}"}


class PageError(Exception):
    """pytest-html did not write the page (what the session said is the message)."""


def write_page(summary: Summary, path: Path, *,
               transcripts: Mapping[str, Sequence[dict[str, Any]]] | None = None,
               note: str = "") -> None:
    """report.html at ``path`` from ``summary`` (and each test's exchanges, if kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    replay = _Replay(summary)
    hooks = PageHooks(lambda session: summary, replay.tests.get,
                      (lambda nodeid: (transcripts or {}).get(nodeid, ())), note=note)
    args = ["--disable-plugin-autoload", "-p", "html", "-p", "metadata",
            f"--html={path}", "--self-contained-html", f"--css={REPORT_CSS}",
            "-p", "no:terminal", "-p", "no:cacheprovider", "-p", "no:faulthandler",
            "-p", "no:logging", "-p", "no:stepwise", "--capture=no", "--assert=plain",
            "--noconftest", "-c", str(_EMPTY_INI), "--rootdir", str(path.parent)]
    said = io.StringIO()
    with _shielded(), contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = pytest.main(args, plugins=[replay, hooks])
    if not path.is_file():
        raise PageError(f"pytest-html wrote no {path} (pytest exit code {int(code)}): "
                        f"{said.getvalue().strip()[-500:]}")


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    kept = {name: os.environ.pop(name) for name in _SHIELDED if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(kept)


class _Recorded(pytest.Item):
    """One test as the run recorded it."""

    def __init__(self, *, result: TestResult, deviation: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self.deviation = deviation

    def runtest(self) -> None:
        result = self.result
        if result.outcome in ("failed", "error"):
            raise _Ended(result.message or result.outcome)
        if result.outcome == "expected-failure":
            pytest.xfail(self.deviation or "a known deviation")
        if result.outcome in _SKIPS:
            message = result.message or result.outcome
            pytest.skip(message if message.startswith(("disabled:", "not judged:"))
                        else _SKIPS[result.outcome].format(message))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        # The recorded text is the finding (or the harness error in words), never a
        # traceback of this replay; an expected failure's too (its reason is wasxfail).
        return self.result.message or str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.result.nodeid


class _Ended(Exception):
    """How a recorded failure or error ends its replay."""


class _Replay:
    """Collects the summary's tests (those that ran) and gives each report what the run's
    did: its phase's duration, whether it broke a clause, its evidence first."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary
        self.tests = {t.nodeid: t for t in summary.tests if t.outcome != "not-run"}
        applied: dict[str, list[str]] = {}
        for entry in summary.deviations.get("applied", ()):
            applied.setdefault(entry["test"], []).append(
                f"known deviation {entry['clause']}: {entry['reason']}")
        self.deviations = {test: "; ".join(reasons) for test, reasons in applied.items()}

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        session.items = [
            _Recorded.from_parent(session, name=nodeid, nodeid=nodeid, result=result,
                                  deviation=self.deviations.get(nodeid, ""))
            for nodeid, result in self.tests.items()]
        session.testscollected = len(session.items)
        session.config.hook.pytest_collection_finish(session=session)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not isinstance(item, _Recorded):
            return report
        result = item.result
        report.duration = result.duration_s if report.when == "call" else 0.0
        if report.when != "call":
            return report
        if report.failed:
            name = "conformance_violation" if result.outcome == "failed" else "conformance_error"
            setattr(report, name, True)
        if report.failed:  # as a live run's (evidence_hooks.py): a failure's evidence
            block = evidence_views_html(result.evidence, result.reproduce)
            if block:
                from pytest_html import extras

                report.extras = [extras.html(block), *getattr(report, "extras", [])]
        return report
