"""pytest hooks of the conformance suite: options, markers, outcomes, deviations, exit code.

Load it with ``-p conformance.run.plugin`` (``conformance run`` does). The run's state lives in
``config.stash`` and is reached with :func:`run_state`; the bookkeeping behind the hooks is
in ``outcomes.py``, the rendering in ``report.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.clauses import CLAUSES
from conformance.run.evidence_hooks import EvidenceHooks
from conformance.run.html import HtmlHooks
from conformance.run.outcomes import finalize, finding_text, judge, run_header, skip_reason
from conformance.run.report import (
    CaseRecord,
    case_extra_html,
    console_lines,
)
from conformance.run.startup import start
from conformance.run.state import STATE_KEY, Handover, RunState, TimeBudgetSpent, run_state
from conformance.run.target import TargetError
from conformance.settings import Settings, SettingsError, build_settings
from conformance.wire.transcript import Transcript

__all__ = ["CAPABILITIES", "CATEGORIES"]

CATEGORIES = ("auth", "refusals", "deletes", "gone", "ids", "task", "create", "list",
              "isolation", "properties", "stateful", "client")
CAPABILITIES: dict[str, tuple[Callable[[Settings], bool], str]] = {
    "second_api_key": (lambda s: s.second_api_key is not None,
                       "disabled: no second API key configured"),
}
SETTING_OPTIONS = {  # pytest option -> Settings field; --target-url avoids pytest-base-url
    "--target-url": "base_url", "--api-key": "api_key", "--second-api-key": "second_api_key",
    "--index-id": "index_id", "--report-dir": "report_dir", "--profile": "profile",
    "--seed": "seed", "--deviations": "deviations", "--ready-video-url": "ready_video_url",
    "--failing-video-url": "failing_video_url", "--wait-timeout": "wait_timeout",
    "--time-budget": "time_budget", "--rate": "rate", "--max-tasks": "max_tasks",
    "--client-adapter": "client_adapter", "--live-rules": "live_rules",
}
FLAGS = {"--live-rules"}
"""Options that take no value."""
TRANSCRIPT_LIMIT = 200
"""Exchanges shown per test; property tests send hundreds and would bloat the report."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "tasks-conformance")
    for option, name in SETTING_OPTIONS.items():
        flag = {"action": "store_const", "const": "true"} if option in FLAGS else {}
        group.addoption(option, dest=f"conformance_{name}", default=None, **flag,
                        help=f"conformance setting {name} (see conformance run --help)")
    group.addoption("--conformance-config", dest="conformance_config", default=None,
                    metavar="FILE", help="conformance settings file (TOML)")
    group.addoption("--clause", dest="conformance_clauses", action="append", default=[],
                    metavar="ID", help="run only tests carrying this clause ID (repeatable)")


def _markers(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the contract clauses a test enforces")
    config.addinivalue_line(
        "markers", "requires(capability): skip as disabled when the capability is missing")
    for category in CATEGORIES:
        config.addinivalue_line("markers", f"{category}: conformance category {category}")
    for cid in CLAUSES:
        config.addinivalue_line("markers", f"{_clause_marker(cid)}: tests of clause {cid}")


def _clause_marker(clause_id: str) -> str:
    return "clause_" + clause_id.replace("-", "_")


def _handover(config: pytest.Config) -> Handover | None:
    found = [p for p in config.pluginmanager.get_plugins() if isinstance(p, Handover)]
    return found[0] if found else None


def _settings(config: pytest.Config) -> Settings:
    options = {name: config.getoption(f"conformance_{name}")
               for name in SETTING_OPTIONS.values()}
    file = config.getoption("conformance_config")
    return build_settings({k: v for k, v in options.items() if v is not None},
                          config_file=Path(file) if file else None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _markers(config)
    if config.getoption("help", False) or hasattr(config, "workerinput"):
        return
    handover = _handover(config)
    try:
        started = handover.started if handover is not None else start(
            _settings(config), config.getoption("conformance_clauses"))
    except (SettingsError, TargetError) as exc:
        code = exc.exit_code if isinstance(exc, TargetError) else 2
        pytest.exit(f"conformance: {exc}", returncode=code)
    settings = started.settings
    state = RunState(settings=settings, transcript=Transcript(), deviations=started.deviations,
                     embedded=None if handover is not None else started.embedded,
                     target_label=started.target_label)
    for secret in (settings.api_key, settings.second_api_key):
        if secret is not None:
            state.redactor.add(secret.reveal())
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(RunHooks(config), "conformance-run")
    config.pluginmanager.register(EvidenceHooks(config), "conformance-evidence")
    report_dir = settings.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    # Plain pytest gets the same three reports as `conformance run` unless told otherwise.
    if getattr(config.option, "xmlpath", "missing") is None:
        config.option.xmlpath = str(report_dir / "junit.xml")
    if getattr(config.option, "htmlpath", "missing") is None:
        config.option.htmlpath = str(report_dir / "report.html")
        config.option.self_contained_html = True
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlHooks(config), "conformance-html")
    state.progress_writer = _console_writer(config)


def _console_writer(config: pytest.Config) -> Callable[[str], None]:
    """Write a line to the console even while a test's output is captured."""
    lock = threading.Lock()

    def write(line: str) -> None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if terminal is None:
            return
        with lock:
            if capture is None:
                terminal.write_line(line)
                return
            with capture.global_and_fixture_disabled():
                terminal.write_line(line)

    return write


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.embedded is not None:
        state.embedded.stop()
        state.embedded = None


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None and _handover(session.config) is not None:
        # `conformance run` starts anywhere: name the suite's files from its root, not
        # relative to the user's working directory.
        terminal.startpath = session.config.rootpath
    from _pytest.junitxml import xml_key

    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        for name, value in run_header(state).items():
            if not isinstance(value, dict):
                xml.add_global_property(name, value)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """An unknown clause ID or capability on a test is a collection error of its module."""
    report = yield
    if report.passed and report.result:
        problems = [p for node in report.result if isinstance(node, pytest.Item)
                    for p in _marker_problems(node)]
        if problems:
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


def _marker_problems(item: pytest.Item) -> list[str]:
    problems = [f"{item.nodeid}: unknown clause ID {cid!r} in @pytest.mark.clause"
                for cid in _clauses_of(item) if cid not in CLAUSES]
    problems += [f"{item.nodeid}: unknown capability {m.args[0] if m.args else None!r} "
                 "in @pytest.mark.requires"
                 for m in item.iter_markers("requires")
                 if not m.args or m.args[0] not in CAPABILITIES]
    return problems


def _clauses_of(item: pytest.Item) -> tuple[str, ...]:
    ids = [str(cid) for mark in item.iter_markers("clause") for cid in mark.args]
    return tuple(dict.fromkeys(ids))


def _categories_of(item: pytest.Item) -> tuple[str, ...]:
    return tuple(c for c in CATEGORIES if item.get_closest_marker(c) is not None)


def pytest_itemcollected(item: pytest.Item) -> None:
    # Per-clause markers make `-m clause_DEL_204` work alongside the category markers.
    for cid in _clauses_of(item):
        if cid in CLAUSES:
            item.add_marker(_clause_marker(cid))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("conformance_clauses"))
    if not wanted:
        return
    keep = [i for i in items if wanted & set(_clauses_of(i))]
    dropped = [i for i in items if not wanted & set(_clauses_of(i))]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    for item in session.items:
        clauses, categories = _clauses_of(item), _categories_of(item)
        state.records[item.nodeid] = CaseRecord(item.nodeid, clauses, categories)
        item.user_properties += [("clause", c) for c in clauses]
        item.user_properties += [("category", c) for c in categories]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    state.marks[item.nodeid] = state.transcript.mark()
    elapsed = time.monotonic() - state.started
    if elapsed > state.settings.time_budget:
        item.session.shouldstop = "the run's time budget is spent"
        raise TimeBudgetSpent(f"the run's time budget of {state.settings.time_budget:g} s is "
                              f"spent ({elapsed:.0f} s): the remaining tests do not run")
    for mark in item.iter_markers("requires"):
        available, reason = CAPABILITIES[mark.args[0]]
        if not available(state.settings):
            pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    state = item.config.stash.get(STATE_KEY, None)
    if state is None:
        return report
    record = state.records.setdefault(
        item.nodeid, CaseRecord(item.nodeid, _clauses_of(item), _categories_of(item)))
    record.duration += report.duration
    reproduce = judge(state, item, call, report, record)
    if getattr(report, "conformance_violation", False) and report.failed \
            and call.excinfo is not None:
        # A finding reads as clause, expected, got and a curl line; tracebacks are for
        # harness errors.
        report.longrepr = finding_text(call.excinfo.value)
    _redact(state, report, record)
    report.conformance_longrepr = report.longrepr
    if report.when == "call" or (report.when == "setup" and not report.passed):
        exchanges = state.transcript.since(state.marks.get(item.nodeid, 0))
        if reproduce is None and report.failed and exchanges:
            reproduce = exchanges[-1].curl()
        shown = exchanges[-TRANSCRIPT_LIMIT:]
        if not item.config.pluginmanager.hasplugin("html"):
            return report
        from pytest_html import extras

        report.extras = [*getattr(report, "extras", []),
                         extras.html(case_extra_html(record, shown, reproduce))]
    return report


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(node: pytest.Item, call: pytest.CallInfo[None],
                              report: pytest.TestReport) -> None:
    """schemathesis puts a traceback back into a failed report here, after the report was
    judged: a finding keeps its own text, harness errors their (redacted) traceback."""
    kept = getattr(report, "conformance_longrepr", None)
    if kept is not None and getattr(report, "conformance_violation", False):
        report.longrepr = kept
    else:
        state = node.config.stash.get(STATE_KEY, None)
        if state is not None and report.longrepr is not None:
            report.longrepr = state.redactor.scrub(str(report.longrepr))


def _redact(state: RunState, report: pytest.TestReport, record: CaseRecord) -> None:
    """A failure's text is built from answers, and a target may echo the key in them: what
    the console, junit.xml and report.html show of a test passes the run's redaction."""
    scrub = state.redactor.scrub
    if report.longrepr is not None:
        text = str(report.longrepr)
        if scrub(text) != text:
            report.longrepr = scrub(text)
    report.sections = [(name, scrub(content)) for name, content in report.sections]
    record.message = scrub(record.message)


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if getattr(report, "conformance_error", False) and report.when == "call":
        return "error", "E", "ERROR"
    if getattr(report, "conformance_violation", False) and report.failed:
        return "failed", "F", "FAILED"
    if (report.skipped and not hasattr(report, "wasxfail")
            and skip_reason(report).startswith("disabled:")):
        return "disabled", "d", "DISABLED"
    return None


class RunHooks:
    """Hooks that need the config but whose hookspec does not pass it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # Collection errors arrive here too, as Session.Interrupted; only Ctrl-C counts.
        if not isinstance(excinfo.value, pytest.Session.Interrupted):
            run_state(self.config).interrupted = True


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # trylast: session fixtures (cleanup) have been torn down by now.
    finalize(session)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    summary = state.summary
    if summary is None:
        return
    terminalreporter.write_sep("=", "conformance summary")
    for line in [*state.notes, *console_lines(summary, state.settings.report_dir)]:
        terminalreporter.write_line(line)
