"""The hooks of a run, registered by ``plugin.py`` once a run is asked for (never before: an
environment that merely has the suite installed keeps its sessions untouched).

They keep a record per test (``outcomes.judge``), tell the signal policy where the run is
(``resources/interrupts.py``: cleanup starts with the last test's teardown), and end the
session with the one Summary every report renders (``outcomes.finalize``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from conformance.clauses import CLAUSES
from conformance.clientlib.adapter import library_available
from conformance.resources.interrupts import INTERRUPTS
from conformance.run.compat import distinct_node_id
from conformance.run.outcomes import finalize, finding_text, judge, skip_reason
from conformance.run.report import console_lines
from conformance.run.state import Handover, RunState, TimeBudgetSpent, run_state
from conformance.run.summary import CaseRecord
from conformance.settings import Settings

__all__ = ["CAPABILITIES", "CATEGORIES", "RunHooks", "clause_marker"]

CATEGORIES = ("auth", "refusals", "deletes", "gone", "ids", "task", "create", "list",
              "isolation", "properties", "stateful", "client")
CAPABILITIES: dict[str, tuple[Callable[[Settings], bool], str]] = {
    "second_api_key": (lambda s: s.second_api_key is not None,
                       "disabled: no second API key configured"),
    "client_library": (lambda s: library_available(s.client_adapter),
                       "disabled: install the sdk extra (pip install 'tasks-conformance[sdk]') "
                       "or configure --client-adapter"),
}
CATEGORY_NEEDS = {"client": "client_library"}
"""A category whose every test needs a capability, without each test saying so."""


def clause_marker(clause_id: str) -> str:
    return "clause_" + clause_id.replace("-", "_")


def clauses_of(item: pytest.Item) -> tuple[str, ...]:
    ids = [str(cid) for mark in item.iter_markers("clause") for cid in mark.args]
    return tuple(dict.fromkeys(ids))


def categories_of(item: pytest.Item) -> tuple[str, ...]:
    return tuple(c for c in CATEGORIES if item.get_closest_marker(c) is not None)


class RunHooks:
    """See the module docstring."""

    def __init__(self, config: pytest.Config, handover: Handover | None) -> None:
        self.config = config
        self.handover = handover

    @property
    def state(self) -> RunState:
        return run_state(self.config)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        INTERRUPTS.phase = "tests"
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None and self.handover is not None:
            # `conformance run` starts anywhere: name the suite's files from its root.
            terminal.startpath = session.config.rootpath
        from _pytest.junitxml import xml_key

        xml = session.config.stash.get(xml_key, None)
        if xml is not None:
            for name, value in (("target", self.state.target_label),
                                ("run_id", self.state.settings.run_id),
                                ("profile", self.state.settings.profile.name),
                                ("seed", self.state.settings.effective_seed)):
                xml.add_global_property(name, value)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        """An unknown clause ID or capability on a test is a collection error of its module."""
        report = yield
        if report.passed and report.result:
            problems = [p for node in report.result if isinstance(node, pytest.Item)
                        for p in _marker_problems(node)]
            if problems:
                report.outcome = "failed"
                report.longrepr = "\n".join(problems)
                report.result = []
        if report.failed:
            first = str(report.longrepr).strip().splitlines()
            self.state.collection_errors.append(
                f"collecting {report.nodeid or 'the suite'} failed: "
                f"{first[-1] if first else 'see the console'}")
        return report

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        distinct_node_id(item)
        # Per-clause markers make `-m clause_DEL_204` work alongside the category markers.
        for cid in clauses_of(item):
            if cid in CLAUSES:
                item.add_marker(clause_marker(cid))

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        wanted = set(config.getoption("conformance_clauses"))
        if not wanted:
            return
        keep = [i for i in items if wanted & set(clauses_of(i))]
        dropped = [i for i in items if not wanted & set(clauses_of(i))]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        state = self.state
        for item in session.items:
            clauses, categories = clauses_of(item), categories_of(item)
            state.records[item.nodeid] = CaseRecord(item.nodeid, clauses, categories)
            item.user_properties += [("clause", c) for c in clauses]
            item.user_properties += [("category", c) for c in categories]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        state = self.state
        INTERRUPTS.phase, INTERRUPTS.where = "provisioning", f"setup of {item.nodeid}"
        state.marks[item.nodeid] = state.transcript.mark()
        elapsed = time.monotonic() - state.started
        if elapsed > state.settings.time_budget:
            item.session.shouldstop = "the run's time budget is spent"
            raise TimeBudgetSpent(f"the run's time budget of {state.settings.time_budget:g} s "
                                  f"is spent ({elapsed:.0f} s): the remaining tests do not run")
        needs = [m.args[0] for m in item.iter_markers("requires")]
        needs += [need for category, need in CATEGORY_NEEDS.items()
                  if item.get_closest_marker(category) is not None]
        for need in needs:
            available, reason = CAPABILITIES[need]
            if not available(state.settings):
                pytest.skip(reason)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        INTERRUPTS.phase, INTERRUPTS.where = "tests", item.nodeid

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        INTERRUPTS.where = f"teardown of {item.nodeid}"
        if nextitem is None:
            # The session's fixtures go now, cleanup among them: no signal may cut it.
            INTERRUPTS.enter_cleanup()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        state = self.state
        record = state.records.setdefault(
            item.nodeid, CaseRecord(item.nodeid, clauses_of(item), categories_of(item)))
        record.duration += report.duration
        judge(state, item, call, report, record)
        if getattr(report, "conformance_violation", False) and not report.passed \
                and call.excinfo is not None:
            # A finding reads as clause, expected, got and a curl line (an excused one too:
            # judge made it an expected failure); tracebacks are for harness errors.
            report.longrepr = finding_text(call.excinfo.value)
        _redact(state, report, record)
        report.conformance_longrepr = report.longrepr
        if report.when == "call" or (report.when == "setup" and not report.passed):
            start = state.marks.get(item.nodeid, 0)
            record.exchanges = (start, state.transcript.mark())
            if record.reproduce is None and report.failed and record.exchanges[1] > start:
                record.reproduce = state.transcript.since(start)[-1].curl()
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The finding's text as the evidence hooks completed it (after this module's
        # makereport): what the console and junit.xml show, the report shows too.
        record = self.state.records.get(report.nodeid)
        text = getattr(report, "conformance_longrepr", None)
        if record is not None and text is not None and report.failed \
                and getattr(report, "conformance_violation", False):
            record.message = self.state.redactor.scrub(str(text))

    @pytest.hookimpl(trylast=True)
    def pytest_exception_interact(self, node: pytest.Item, call: pytest.CallInfo[None],
                                  report: pytest.TestReport) -> None:
        """schemathesis puts a traceback back into a failed report here, after the report
        was judged: a finding keeps its own text, harness errors their (redacted) one."""
        kept = getattr(report, "conformance_longrepr", None)
        if kept is not None and getattr(report, "conformance_violation", False):
            report.longrepr = kept
        elif report.longrepr is not None:
            report.longrepr = self.state.redactor.scrub(str(report.longrepr))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        if getattr(report, "conformance_error", False) and report.when == "call":
            return "error", "E", "ERROR"
        if getattr(report, "conformance_violation", False) and report.failed:
            return "failed", "F", "FAILED"
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = skip_reason(report)
            if reason.startswith("disabled:"):
                return "disabled", "d", "DISABLED"
            if reason.startswith("not judged:"):
                return "not judged", "n", "NOT JUDGED"
        return None

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # Collection errors arrive here too, as Session.Interrupted; only Ctrl-C counts.
        if not isinstance(excinfo.value, pytest.Session.Interrupted):
            self.state.interrupted = True

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        # Before the session's fixtures are torn down (an interrupted run tears them down
        # here): cleanup goes on whatever signal comes. After every other implementation
        # (junit.xml written): the verdict, once.
        INTERRUPTS.enter_cleanup()
        try:
            return (yield)
        finally:
            summary = finalize(session)
            if self.handover is not None:
                self.handover.summary = summary

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        summary = self.state.summary
        if summary is None:
            return
        terminalreporter.write_sep("=", "conformance summary")
        for line in [*self.state.notes, *console_lines(summary, self.state.settings.report_dir)]:
            terminalreporter.write_line(line)


def _marker_problems(item: pytest.Item) -> list[str]:
    problems = [f"{item.nodeid}: unknown clause ID {cid!r} in @pytest.mark.clause"
                for cid in clauses_of(item) if cid not in CLAUSES]
    problems += [f"{item.nodeid}: unknown capability {m.args[0] if m.args else None!r} "
                 "in @pytest.mark.requires"
                 for m in item.iter_markers("requires")
                 if not m.args or m.args[0] not in CAPABILITIES]
    return problems


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
    record.why = scrub(record.why)
