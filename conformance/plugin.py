"""pytest hooks of the conformance suite: options, markers, outcomes, deviations, exit code.

Load it with ``-p conformance.plugin`` (``conformance run`` does). The run's state lives in
``config.stash`` and is reached with :func:`run_state`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.clauses import CLAUSES, ContractViolation
from conformance.deviations import Deviations, load_deviations
from conformance.report import (
    VERDICTS,
    CaseRecord,
    build_summary,
    case_extra_html,
    clause_matrix,
    console_lines,
    exit_code,
    matrix_html,
    notes_html,
    write_summary,
)
from conformance.settings import Settings, SettingsError, build_settings
from conformance.target import EmbeddedTarget, TargetError, attach_embedded, preflight

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
    "--client-adapter": "client_adapter",
}
TRANSCRIPT_LIMIT = 200
"""Exchanges shown per test; property tests send hundreds and would bloat the report."""


@dataclass(eq=False)  # pluggy keeps plugins in sets: identity hashing
class Handover:
    """Registered by ``conformance run`` (``pytest.main(plugins=[...])``) to pass ready
    Settings in without putting the key into argv; ``target`` is stopped by the CLI."""

    settings: Settings
    preflighted: bool = False
    embedded: bool = False
    """The target is the embedded emulator the CLI started (for the report header)."""


@dataclass
class RunState:
    """Everything the hooks and the suite's fixtures share during one run."""

    settings: Settings
    transcript: Any
    deviations: Deviations = field(default_factory=Deviations)
    cleanup_problems: list[str] = field(default_factory=list)
    provisioner: Any = None
    """Set by the suite's fixtures; its budget and spend figures go into the reports."""
    clients: list[Any] = field(default_factory=list)
    """ApiClients whose ``stats.rate_limited`` are added to the 429 count."""
    rate_limited: int = 0
    records: dict[str, CaseRecord] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)
    embedded: EmbeddedTarget | None = None
    """An emulator this plugin started and stops at unconfigure."""
    target_label: str = ""
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    interrupted: bool = False
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    progress_writer: Callable[[str], None] | None = None

    def progress(self, message: str) -> None:
        """A progress line on the console (long waits), outside output capture."""
        if self.progress_writer is not None:
            self.progress_writer(message)

    def total_rate_limited(self) -> int:
        counted = sum(getattr(getattr(c, "stats", None), "rate_limited", 0) for c in self.clients)
        return self.rate_limited + counted


class TimeBudgetSpent(Exception):
    """The whole-run deadline passed: a harness error (exit 3), never a clause failure."""


STATE_KEY = pytest.StashKey[RunState]()
ViolationMapper = Callable[[BaseException], list[str] | None]
_MAPPERS: list[ViolationMapper] = []


def run_state(config: pytest.Config) -> RunState:
    """The run's shared state (settings, transcript, cleanup problems, provisioner slot)."""
    return config.stash[STATE_KEY]


def register_violation_mapper(mapper: ViolationMapper) -> ViolationMapper:
    """Teach the plugin that another exception type (e.g. a schemathesis failure) means a
    broken clause: the mapper returns clause IDs, or None when it does not apply."""
    _MAPPERS.append(mapper)
    return mapper


def violation_clauses(excinfo: pytest.ExceptionInfo[BaseException] | BaseException) -> list[str]:
    """The clauses a test's exception shows broken; empty means a harness error."""
    exc = excinfo.value if isinstance(excinfo, pytest.ExceptionInfo) else excinfo
    if isinstance(exc, ContractViolation):
        return [exc.clause_id]
    for mapper in _MAPPERS:
        found = mapper(exc)
        if found:
            return [c for c in found if c in CLAUSES]
    if isinstance(exc, BaseExceptionGroup):
        found = [c for sub in exc.exceptions for c in violation_clauses(sub)]
        return list(dict.fromkeys(found))
    return []


def _reproduce(exc: BaseException) -> str | None:
    if isinstance(exc, ContractViolation):
        return exc.reproduce
    if isinstance(exc, BaseExceptionGroup):
        return next(filter(None, (_reproduce(e) for e in exc.exceptions)), None)
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "tasks-conformance")
    for option, name in SETTING_OPTIONS.items():
        group.addoption(option, dest=f"conformance_{name}", default=None,
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
    handover = _handover(config)
    if handover is not None:
        return handover.settings
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
    embedded = None
    handover = _handover(config)
    try:
        settings = _settings(config)
        for cid in config.getoption("conformance_clauses"):
            if cid not in CLAUSES:
                raise SettingsError(f"unknown clause ID {cid!r} in --clause")
        deviations = load_deviations(settings.deviations) if settings.deviations else Deviations()
        settings, embedded = attach_embedded(settings)
        if handover is None or not handover.preflighted:
            preflight(settings)
    except (SettingsError, TargetError) as exc:
        if embedded is not None:
            embedded.stop()
        code = exc.exit_code if isinstance(exc, TargetError) else 2
        pytest.exit(f"conformance: {exc}", returncode=code)
    state = RunState(settings=settings, transcript=_new_transcript(), deviations=deviations,
                     embedded=embedded)
    is_embedded = embedded is not None or (handover is not None and handover.embedded)
    state.target_label = (f"embedded emulator at {settings.base_url}" if is_embedded
                          else str(settings.base_url))
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(RunHooks(config), "conformance-run")
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


def _new_transcript() -> Any:
    from conformance.client import Transcript

    return Transcript()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.embedded is not None:
        state.embedded.stop()
        state.embedded = None


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    from _pytest.junitxml import xml_key

    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        for name, value in _header(state).items():
            if not isinstance(value, dict):
                xml.add_global_property(name, value)


def _header(state: RunState) -> dict[str, Any]:
    settings = state.settings
    return {
        "target": state.target_label,
        "suite_version": __version__,
        "spec_digest": _spec_digest(),
        "profile": settings.profile.name,
        "seed": settings.effective_seed,
        "run_id": settings.run_id,
        "budget": {"tasks": settings.task_budget, "upload_bytes": settings.upload_budget},
    }


def _spec_digest() -> str:
    try:
        from conformance.spec import spec_digest
    except ImportError:
        return "unavailable"
    try:
        return str(spec_digest())
    except Exception as exc:  # a broken spec file must not stop the report
        return f"unavailable ({type(exc).__name__})"


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
    reproduce = _judge(state, item, call, report, record)
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


def _judge(state: RunState, item: pytest.Item, call: pytest.CallInfo[None],
           report: pytest.TestReport, record: CaseRecord) -> str | None:
    """Classify one phase's report into the run's outcomes; returns a reproduce line."""
    if report.passed:
        if report.when == "call" and record.outcome == "not-run":
            record.outcome = "passed"
        return None
    if report.skipped:
        if record.outcome == "not-run":
            if hasattr(report, "wasxfail"):
                record.outcome = "expected-failure"
            else:
                reason = _skip_reason(report)
                record.outcome = "disabled" if reason.startswith("disabled:") else "skipped"
                record.message = reason
        return None
    exc = call.excinfo.value if call.excinfo is not None else None
    clauses = violation_clauses(exc) if exc is not None else []
    if not clauses:
        report.conformance_error = True  # type: ignore[attr-defined]
        if record.outcome != "failed":
            record.outcome = "error"
            record.message = _first_line(exc) if exc is not None else str(report.longrepr)
        return None
    report.conformance_violation = True  # type: ignore[attr-defined]
    base_url = state.settings.base_url or ""
    for cid in clauses:
        if cid not in record.violated:
            record.violated.append(cid)
            item.user_properties.append(("violated_clause", cid))
        entry = state.deviations.match(cid, base_url, dt.date.today())
        if entry is not None:
            record.excused[cid] = entry.reason
    record.message = _first_line(exc)
    if all(cid in record.excused for cid in clauses):
        report.outcome = "skipped"
        report.wasxfail = "; ".join(
            f"known deviation {cid}: {record.excused[cid]}" for cid in clauses)
        if record.outcome in ("not-run", "passed"):
            record.outcome = "expected-failure"
    else:
        record.outcome = "failed"
    return _reproduce(exc) if exc is not None else None


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines() if exc is not None else []
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if getattr(report, "conformance_error", False) and report.when == "call":
        return "error", "E", "ERROR"
    if getattr(report, "conformance_violation", False) and report.failed:
        return "failed", "F", "FAILED"
    if (report.skipped and not hasattr(report, "wasxfail")
            and _skip_reason(report).startswith("disabled:")):
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


def finalize(session: pytest.Session) -> dict[str, Any] | None:
    """Judge the run once: clause matrix, summary.json, exit code into session.exitstatus."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is None:
        return None
    if state.summary is not None:
        return state.summary
    records = list(state.records.values())
    matrix = clause_matrix(records)
    code = exit_code(matrix, records)
    status = int(session.exitstatus)
    if state.interrupted:
        code = 130
        state.notes.append("interrupted: cleanup ran, the verdict is incomplete")
    elif status == pytest.ExitCode.NO_TESTS_COLLECTED:
        code = 3
        state.notes.append("nothing ran: no tests were collected or selected")
    elif status == pytest.ExitCode.USAGE_ERROR:
        code = 2
    elif status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR) and code == 0:
        code = 3
        state.notes.append("the suite could not run: errors during collection")
    state.summary = _summary(state, records, matrix, code)
    write_summary(state.settings.report_dir / "summary.json", state.summary)
    session.exitstatus = code
    return state.summary


def _summary(state: RunState, records: list[CaseRecord], matrix: list[Any],
             code: int) -> dict[str, Any]:
    settings, base_url = state.settings, state.settings.base_url or ""
    today = dt.date.today()
    outcomes = {row.clause_id: row.outcome for row in matrix}
    aimed = state.deviations.for_target(base_url)
    entry = lambda d: {"clause": d.clause, "reason": d.reason,  # noqa: E731
                       "expires": d.expires.isoformat() if d.expires else None}
    deviations = {
        "applied": [{"test": r.nodeid, "clause": c, "reason": why}
                    for r in records for c, why in r.excused.items()],
        "removable": [entry(d) for d in aimed
                      if not d.expired(today) and outcomes.get(d.clause) == "passed"],
        "expired": [entry(d) for d in aimed if d.expired(today)],
    }
    header = {**_header(state), "started_at": state.started_at, "exit_code": code,
              "verdict": VERDICTS.get(code, "unknown")}
    extra = {
        "duration_s": round(time.monotonic() - state.started, 3),
        "spend": _spend(state.provisioner),
        "rate_limited": state.total_rate_limited(),
        "deviations": deviations,
        "cleanup_problems": list(state.cleanup_problems),
        "notes": list(state.notes),
        "settings": settings.redacted(),
    }
    summary = build_summary(records=records, matrix=matrix, header=header, extra=extra)
    summary["tasks_created"] = summary["spend"].get("tasks")
    return summary


def _spend(provisioner: Any) -> dict[str, Any]:
    """What the run created, as the suite's provisioner counted it."""
    if provisioner is None:
        return {"tasks": 0, "upload_bytes": 0}
    return {"tasks": getattr(provisioner, "tasks_created", None),
            "upload_bytes": getattr(provisioner, "bytes_uploaded", None)}


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
        header = _header(run_state(self.config))
        self.metadata.update({k.replace("_", " ").capitalize(): v for k, v in header.items()})
        self.metadata["Settings"] = settings_redacted_text(run_state(self.config).settings)

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Conformance report: {_header(run_state(self.config))['target']}"

    def pytest_html_results_summary(self, prefix: list[str], session: pytest.Session) -> None:
        summary = finalize(session)
        state = run_state(self.config)
        if summary is None:
            return
        self.metadata["Spend"] = summary["spend"]
        self.metadata["Rate limited (429)"] = summary["rate_limited"]
        matrix = clause_matrix(list(state.records.values()))
        lines = [*state.notes, *console_lines(summary, state.settings.report_dir)]
        prefix.append(notes_html(lines) + matrix_html(matrix))

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        if getattr(report, "conformance_error", False) and report.when == "call":
            cells[0] = '<td class="col-result">Error</td>'


def settings_redacted_text(settings: Settings) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.redacted().items())
