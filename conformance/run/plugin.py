"""pytest hooks of the conformance suite: options, markers, outcomes, deviations, exit code.

Registered under pytest's ``pytest11`` entry point, so installed anywhere it is loaded into
every pytest session, and inert there: it adds its options and markers, nothing else, until
a run is asked for (``conformance run``, ``--target-url``, ``-p conformance.run.plugin``, or
the suite's directory from a checkout, see the root ``conftest.py``). Then the run's hooks
(:class:`RunHooks`) are registered; its state lives in ``config.stash`` (``run_state``); the
bookkeeping behind the hooks is in ``outcomes.py``, the reports in ``report.py``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.clauses import CLAUSES
from conformance.resources.interrupts import INTERRUPTS
from conformance.run.evidence_hooks import EvidenceHooks
from conformance.run.hooks import CATEGORIES, RunHooks, clause_marker
from conformance.run.html import REPORT_CSS, PageHooks
from conformance.run.outcomes import finalize, transcript_views
from conformance.run.report import clear_reports
from conformance.run.startup import start, start_failed
from conformance.run.state import STATE_KEY, Handover, RunState
from conformance.run.target import TargetError
from conformance.settings import Settings, SettingsError, build_settings
from conformance.wire.transcript import Transcript

__all__ = ["ACTIVE_KEY"]

PLUGIN_NAME = "conformance.run.plugin"
ACTIVE_KEY = pytest.StashKey[bool]()
"""Set by the checkout's root conftest when the suite's directory is on the command line."""
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
_INSTALLED_SIGNALS = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "tasks-conformance")
    taken = _taken_options(parser)
    for option, name in SETTING_OPTIONS.items():
        flag = {"action": "store_const", "const": "true"} if option in FLAGS else {}
        # Loaded into every session of an environment, the plugin must not clash with
        # another plugin's option: each setting also has a --conformance-NAME spelling.
        names = [o for o in (option, f"--conformance-{option[2:]}") if o not in taken]
        group.addoption(*names, dest=f"conformance_{name}", default=None, **flag,
                        help=f"conformance setting {name} (see conformance run --help)")
    group.addoption("--conformance-config", dest="conformance_config", default=None,
                    metavar="FILE", help="conformance settings file (TOML)")
    names = [o for o in ("--clause", "--conformance-clause") if o not in taken]
    group.addoption(*names, dest="conformance_clauses", action="append", default=[],
                    metavar="ID", help="run only tests carrying this clause ID (repeatable)")


def _taken_options(parser: pytest.Parser) -> set[str]:
    groups = [*getattr(parser, "_groups", ()), getattr(parser, "_anonymous", None)]
    return {name for group in groups if group is not None
            for option in getattr(group, "options", ()) for name in option.names()}


def _markers(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the contract clauses a test enforces")
    config.addinivalue_line(
        "markers", "requires(capability): skip as disabled when the capability is missing")
    for category in CATEGORIES:
        config.addinivalue_line("markers", f"{category}: conformance category {category}")
    for cid in CLAUSES:
        config.addinivalue_line("markers", f"{clause_marker(cid)}: tests of clause {cid}")


def _handover(config: pytest.Config) -> Handover | None:
    found = [p for p in config.pluginmanager.get_plugins() if isinstance(p, Handover)]
    return found[0] if found else None


def _asked_for(config: pytest.Config) -> bool:
    """A run was asked for (see the module docstring); otherwise the plugin stays inert."""
    named = [*(config.option.plugins or []),
             *os.environ.get("PYTEST_PLUGINS", "").split(",")]
    return (_handover(config) is not None or config.stash.get(ACTIVE_KEY, False)
            or config.getoption("conformance_base_url") is not None
            or PLUGIN_NAME in [n.strip() for n in named])


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
    if not _asked_for(config):
        return
    handover = _handover(config)
    notes: list[str] = []
    if handover is None:
        INTERRUPTS.reset()
        INTERRUPTS.install()
        config.stash[_INSTALLED_SIGNALS] = True
        started = _start_under_pytest(config, notes)
    else:
        started = handover.started
        notes = handover.notes
    settings = started.settings
    state = RunState(settings=settings, transcript=Transcript(), deviations=started.deviations,
                     embedded=None if handover is not None else started.embedded,
                     on_embedded=started.embedded is not None,
                     mode="conformance run" if handover is not None else "pytest",
                     target_label=started.target_label, notes=notes)
    for secret in (settings.api_key, settings.second_api_key):
        if secret is not None:
            state.redactor.add(secret.reveal())
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(RunHooks(config, handover), "conformance-run")
    config.pluginmanager.register(EvidenceHooks(config), "conformance-evidence")
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    # Plain pytest gets the same reports as `conformance run` unless told otherwise.
    if getattr(config.option, "xmlpath", "missing") is None:
        config.option.xmlpath = str(settings.report_dir / "junit.xml")
    _page(config, state)
    state.progress_writer = _console_writer(config)


def _page(config: pytest.Config, state: RunState) -> None:
    """report.html is pytest-html's page of the session (its configure runs after this one),
    led by the run's Summary; without pytest-html the summary's page is rendered at the end."""
    if not config.pluginmanager.hasplugin("html"):
        return
    page = state.settings.report_dir / "report.html"
    if config.option.htmlpath is None:
        config.option.htmlpath = str(page)
        config.option.self_contained_html = True
    if str(REPORT_CSS) not in config.option.css:
        config.option.css.append(str(REPORT_CSS))
    # A page written elsewhere (a user's --html) leaves report.html to the summary's page.
    elsewhere = Path(config.option.htmlpath).resolve() != page.resolve()
    config.pluginmanager.register(PageHooks(
        lambda session: finalize(session, page=elsewhere), state.records.get,
        lambda nodeid: transcript_views(state, nodeid)), "conformance-page")


def _start_under_pytest(config: pytest.Config, notes: list[str]) -> Any:
    """The one start-up, under plain pytest: a problem ends the session before any test, with
    pytest's own exit code, and still leaves its reports."""
    report_dir = Path(config.getoption("conformance_report_dir")
                      or os.environ.get("CONFORMANCE_REPORT_DIR") or "reports")
    settings: Settings | None = None
    try:
        settings = _settings(config)
        report_dir = settings.report_dir
        notes += clear_reports(report_dir, settings.run_id)
        return start(settings, config.getoption("conformance_clauses"))
    except (SettingsError, TargetError) as exc:
        code = exc.exit_code if isinstance(exc, TargetError) else 2
        summary = start_failed(report_dir, code, str(exc), settings=settings, mode="pytest",
                               notes=notes)
        INTERRUPTS.uninstall()
        pytest.exit(f"conformance: {exc}", returncode=summary.exit_code)


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


SUITE_DIR = Path(__file__).resolve().parent.parent / "suite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The suite's tests collected without a run (``--pyargs conformance.suite`` alone): one
    line saying how to ask for one, instead of every test failing for want of it."""
    if STATE_KEY in config.stash:
        return
    if any(Path(str(item.path)).resolve().is_relative_to(SUITE_DIR) for item in items):
        raise pytest.UsageError(
            "the conformance suite needs a run: pass --target-url URL (the key in "
            "TWELVELABS_API_KEY), or -p conformance.run.plugin for the embedded emulator")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.embedded is not None:
        state.embedded.stop()
        state.embedded = None
    if config.stash.get(_INSTALLED_SIGNALS, False):
        INTERRUPTS.uninstall()

