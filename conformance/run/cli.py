"""The ``conformance`` command: run the suite, serve the emulator, clean up, compare two runs,
render a report again.

Exit codes of ``run`` (the verdict's, see ``run/summary.py``): 0 conformant, 1 a clause
failed, 2 usage or configuration error (a refused key included), 3 could not run or
provision, 4 the tasks endpoints are gone, 5 nothing judged, 130 interrupted. Every one of
them leaves summary.json, junit.xml and report.html saying what happened.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import conformance
from conformance.resources.interrupts import INTERRUPTS
from conformance.run import replay
from conformance.run.report import clear_reports
from conformance.run.startup import start, start_failed
from conformance.run.state import Handover
from conformance.run.summary import (
    EXIT_COULD_NOT_RUN,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
)
from conformance.run.target import TargetError
from conformance.settings import PROFILES, Settings, SettingsError, build_settings

RUN_SETTINGS = ("base_url", "api_key", "second_api_key", "index_id", "report_dir", "profile",
                "seed", "deviations", "ready_video_url", "failing_video_url", "wait_timeout",
                "time_budget", "rate", "max_tasks", "client_adapter", "live_rules")


RUN_INI = Path(conformance.__file__).resolve().parent / "data" / "conformance-run.ini"
"""An empty pytest configuration inside the package (shown as the run's configfile)."""


class UsageError(Exception):
    """Bad command line: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> _Parser:
    parser = _Parser(prog="conformance", description=conformance.__doc__)
    parser.add_argument("--version", action="version", version=conformance.__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the conformance suite against a target",
                              epilog="Arguments after `--` go to pytest unchanged.")
    run.add_argument("--base-url", help="target base URL with version prefix; none: the "
                     "embedded emulator ($TWELVELABS_BASE_URL)")
    run.add_argument("--api-key", help="API key ($TWELVELABS_API_KEY; prefer the variable)")
    run.add_argument("--second-api-key", help="another account's key: enables isolation tests")
    run.add_argument("--index-id", help="use this index instead of a temporary one")
    run.add_argument("--report-dir", help="where the reports go (default reports/)")
    run.add_argument("--profile", choices=sorted(PROFILES))
    run.add_argument("--seed", help="replay a run with its seed")
    run.add_argument("--deviations", metavar="FILE", help="known deviations (TOML or YAML)")
    run.add_argument("--ready-video-url", help="video URL that indexes fine (live targets)")
    run.add_argument("--failing-video-url", help="video URL whose indexing fails")
    run.add_argument("--wait-timeout", metavar="S", help="deadline of one status wait")
    run.add_argument("--time-budget", metavar="S", help="deadline of the whole run")
    run.add_argument("--rate", metavar="R", help="requests per second (0: unlimited)")
    run.add_argument("--max-tasks", metavar="N", help="tasks the run may create")
    run.add_argument("--client-adapter", metavar="MODULE:FACTORY",
                     help="client library adapter of the client category (default: the "
                     "official twelvelabs SDK)")
    run.add_argument("--live-rules", action="store_true", default=None,
                     help="apply a remote target's rules (pacing, live budgets, live probing) "
                     "even on loopback ($CONFORMANCE_LIVE_RULES)")
    run.add_argument("--config", metavar="FILE", help="settings file (default conformance.toml)")
    run.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k selection")
    run.add_argument("-m", dest="markexpr", metavar="EXPR", help="pytest -m selection")
    run.add_argument("--clause", action="extend", nargs="+", default=[], metavar="ID",
                     help="run only the tests of these clause IDs")
    run.add_argument("--suite", default="conformance.suite", metavar="TARGET",
                     help="pytest target instead of the built-in suite (a path or a package)")
    cleanup = commands.add_parser("cleanup", help="remove what an earlier run left behind")
    how = cleanup.add_mutually_exclusive_group(required=True)
    how.add_argument("--ledger", metavar="FILE", help="delete everything this ledger lists")
    how.add_argument("--sweep", action="store_true",
                     help="find leftovers of earlier runs by their marker (dry run)")
    cleanup.add_argument("--yes", action="store_true", help="with --sweep: really delete")
    cleanup.add_argument("--base-url")
    cleanup.add_argument("--api-key")
    cleanup.add_argument("--config", metavar="FILE")
    clauses = commands.add_parser(
        "clauses", help="the clause catalogue; --markdown: which suite tests enforce each clause")
    clauses.add_argument("--markdown", action="store_true",
                         help="the traceability table in Markdown (collects the suite; needs "
                         "no target)")
    clauses.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    report = commands.add_parser(
        "report", help="render report.html again from a summary.json")
    report.add_argument("summary", metavar="SUMMARY_JSON")
    report.add_argument("--output", metavar="DIR",
                        help="where report.html goes (default: beside the summary)")
    compare = commands.add_parser("compare", help="what changed between two summary.json")
    compare.add_argument("old", metavar="OLD_SUMMARY")
    compare.add_argument("new", metavar="NEW_SUMMARY")
    commands.add_parser("emulator", help="serve the emulator (see conformance emulator --help)",
                        add_help=False)
    replay.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator parses its own options.
        try:
            from conformance.emulator.__main__ import main as emulator_main
        except ImportError as exc:
            print(f"conformance: the emulator is not available: {exc}", file=sys.stderr)
            return EXIT_COULD_NOT_RUN
        return int(emulator_main(argv[1:]) or 0)
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    try:
        args = _parser().parse_args(argv)
        if passthrough and args.command != "run":
            raise UsageError("conformance: arguments after `--` are only for `run`")
        if args.command == "run":
            return run(args, passthrough)
        if args.command == "cleanup":
            return cleanup(args)
        if args.command == "clauses":
            return clauses(args)
        if args.command == "report":
            return report(args)
        if args.command == "replay":
            return replay.command(args)
        from conformance.run.compare import compare

        return compare(Path(args.old), Path(args.new))
    except UsageError as exc:
        if argv[:1] == ["run"]:
            usage_failed_run(argv, str(exc))
        text = str(exc)
        print(text if text.startswith("conformance") else f"conformance: {text}",
              file=sys.stderr)
        return EXIT_USAGE
    except SettingsError as exc:
        text = str(exc)
        print(text if text.startswith("conformance") else f"conformance: {text}",
              file=sys.stderr)
        return EXIT_USAGE
    except TargetError as exc:
        print(f"conformance: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console_main() -> NoReturn:
    """The ``conformance`` command itself: ``main``, then the process's exit."""
    code = main()
    # The run is over and its reports are written: a signal that comes while the process
    # ends must not turn exit 130 into a kill.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    # Everything is on disk (reports, ledger: written whole and closed); tearing down the
    # interpreter's objects (a run's worth of exchanges, schemathesis and hypothesis) would
    # add most of a second of wall to every run and save nothing, so only what atexit would
    # still flush is flushed (as mypy ends its runs).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _settings(args: argparse.Namespace, names: Sequence[str]) -> Settings:
    options = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return build_settings(options, os.environ, Path(args.config) if args.config else None)


def run(args: argparse.Namespace, passthrough: Sequence[str]) -> int:
    """Settings, the one start-up (target, preflight), then the suite in-process with the
    started run handed over. Whatever ends the run, its reports say so: an earlier run's are
    removed first."""
    import pytest

    INTERRUPTS.reset()
    INTERRUPTS.install()
    settings: Settings | None = None
    handover: Handover | None = None
    report_dir = _lenient_report_dir(args.report_dir)
    notes: list[str] = []
    try:
        try:
            settings = _settings(args, RUN_SETTINGS)
            report_dir = settings.report_dir
            notes = clear_reports(report_dir, settings.run_id)
            started = start(settings, args.clause)
        except (SettingsError, TargetError) as exc:
            if settings is None:
                notes = clear_reports(report_dir, "")
            code = exc.exit_code if isinstance(exc, TargetError) else EXIT_USAGE
            start_failed(report_dir, code, str(exc), settings=settings, notes=notes)
            raise
        handover = Handover(started, notes=notes)
        try:
            if started.embedded is not None:
                print(f"target: {started.target_label}", flush=True)
            code = pytest.main(_pytest_args(args, started.settings, passthrough),
                               plugins=[handover])
        finally:
            started.stop()
        if handover.summary is not None:
            return handover.summary.exit_code
        # pytest ended before its session began: its own usage errors (a bad -m) are ours.
        code = EXIT_USAGE if code == pytest.ExitCode.USAGE_ERROR else EXIT_COULD_NOT_RUN
        start_failed(report_dir, code, f"pytest stopped before the session (pytest exit "
                     f"code {int(pytest.ExitCode.USAGE_ERROR)}: see the console)",
                     settings=settings, notes=notes)
        return code
    except KeyboardInterrupt:
        if handover is None or handover.summary is None:
            first = INTERRUPTS.first
            start_failed(report_dir, EXIT_INTERRUPTED, "interrupted before any test ran; "
                         "nothing was created", settings=settings, notes=notes,
                         interrupted={"signal": first.signal if first else "SIGINT",
                                      "phase": "start-up", "cleanup": "nothing to clean up"})
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        INTERRUPTS.uninstall()


def _lenient_report_dir(given: str | None) -> Path:
    """Where the reports go when the settings themselves are wrong."""
    return Path(given or os.environ.get("CONFORMANCE_REPORT_DIR") or "reports")


def usage_failed_run(argv: Sequence[str], message: str) -> None:
    """`conformance run` with a command line it cannot parse still replaces the reports."""
    given = None
    for n, arg in enumerate(argv):
        if arg == "--report-dir" and n + 1 < len(argv):
            given = argv[n + 1]
        elif arg.startswith("--report-dir="):
            given = arg.partition("=")[2]
    report_dir = _lenient_report_dir(given)
    try:
        notes = clear_reports(report_dir, "")
        start_failed(report_dir, EXIT_USAGE, message, notes=notes)
    except OSError:
        pass  # an unwritable report directory is the usage error itself, said on the console


def _package_dir(name: str) -> str:
    """The directory of an importable package (``conformance.suite``), or a usage error."""
    import importlib.util

    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        raise UsageError(f"--suite {name}: neither a path nor an importable package")
    return str(Path(next(iter(found.submodule_search_locations))).resolve())


def _pytest_args(args: argparse.Namespace, settings: Settings,
                 passthrough: Sequence[str]) -> list[str]:
    reports = settings.report_dir
    reports.mkdir(parents=True, exist_ok=True)
    suite = Path(args.suite)
    if suite.exists():
        target = [str(suite)]
        rootdir = suite if suite.is_dir() else suite.parent
    else:
        # The package's suite by its path, not --pyargs: with no path among the arguments
        # pytest would also load the conftests of the working directory's test* folders.
        target = [_package_dir(args.suite)]
        rootdir = Path(conformance.__file__).resolve().parent.parent
    out = [
        # No cache, and no collection of unraisable exceptions: its forced garbage
        # collections at the end cost a third of a second a run and judge nothing.
        *target, "-p", "conformance.run.plugin", "-p", "no:cacheprovider",
        "-p", "no:unraisableexception",
        # The plugins the suite runs on, and no other that happens to be installed: a user's
        # plugin (a random order, a report of its own) is not the suite's, and loading them
        # all costs start-up time.
        "--disable-plugin-autoload", "-p", "hypothesispytest", "-p", "schemathesis",
        # report.html is pytest-html's page (the plugin points it at the report directory).
        "-p", "html", "-p", "metadata",
        # The user's working directory and its pytest configuration are not the suite's.
        "-c", str(RUN_INI), "--rootdir", str(rootdir), "--strict-markers", "-ra",
        # The suite judges with ContractViolation, not bare asserts: rewriting every module
        # of schemathesis and hypothesis (pytest11 plugins) would cost seconds of CPU per run.
        "--assert=plain",
        # httpx (preflight) imported anyio's pytest plugin before pytest could rewrite it.
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        # xunit1 is the JUnit dialect that carries per-test properties (clause IDs).
        "-o", "junit_family=xunit1",
        f"--junitxml={reports / 'junit.xml'}",
    ]
    if args.keyword:
        out += ["-k", args.keyword]
    if args.markexpr:
        out += ["-m", args.markexpr]
    for clause_id in args.clause:
        out += ["--clause", clause_id]
    return [*out, *passthrough]


def clauses(args: argparse.Namespace) -> int:
    """The catalogue as a table, or the traceability document (docs/clauses.md)."""
    from conformance.run import clausedoc

    if args.markdown:
        try:
            text = clausedoc.traceability_markdown(clausedoc.enforcing_tests())
        except clausedoc.ClauseDocError as exc:
            print(f"conformance: {exc}", file=sys.stderr)
            return EXIT_COULD_NOT_RUN
    else:
        text = clausedoc.catalogue_table()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"wrote {args.output}")
    return 0


def report(args: argparse.Namespace) -> int:
    """report.html from a summary.json: the same page the run wrote, without transcripts."""
    import json

    from conformance.run.page import write_page
    from conformance.run.summary import Summary

    source = Path(args.summary)
    try:
        summary = Summary.from_json(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read {source} as a summary: {exc}") from None
    out = Path(args.output) if args.output else source.parent
    write_page(summary, out / "report.html", note=f"Rendered from {source.name}: the HTTP "
               "transcripts are not part of it (exchanges.har holds them).")
    print(f"wrote {out / 'report.html'}: {summary.headline} (exit code {summary.exit_code})")
    return 0


def cleanup(args: argparse.Namespace) -> int:
    """Remove leftovers through the public API; only what this suite created."""
    from conformance.resources.cleanup import cleanup_ledger, sweep
    from conformance.resources.errors import ProvisioningError
    from conformance.wire.client import ApiClient
    from conformance.wire.transcript import Transcript

    settings = _settings(args, ("base_url", "api_key"))
    if settings.base_url is None:
        raise UsageError("cleanup needs a target: --base-url or TWELVELABS_BASE_URL")
    if args.yes and not args.sweep:
        raise UsageError("--yes only applies to --sweep")
    client = ApiClient(settings.base_url, settings.api_key, transcript=Transcript(),
                       rate=settings.effective_rate)
    INTERRUPTS.reset()
    INTERRUPTS.install()
    INTERRUPTS.enter_cleanup()  # Ctrl-C: stop waiting; again: stop, the ledger keeps the rest
    try:
        if args.ledger:
            try:
                problems = cleanup_ledger(
                    Path(args.ledger), client, wait_timeout=settings.wait_timeout,
                    progress=lambda line: print(line, flush=True))
            except ProvisioningError as exc:
                raise UsageError(str(exc)) from None
            for problem in problems:
                print(f"cleanup problem: {problem}", file=sys.stderr)
            print("cleanup incomplete" if problems else "cleanup complete: nothing left")
            return EXIT_COULD_NOT_RUN if problems else 0
        swept = sweep(client, dry_run=not args.yes)
        for line in swept.lines:
            print(f"sweep problem: {line}" if line in swept.problems else line,
                  file=sys.stderr if line in swept.problems else sys.stdout, flush=True)
        if not args.yes:
            print("dry run: nothing deleted; pass --yes to delete the above")
        return EXIT_COULD_NOT_RUN if swept.problems else 0
    finally:
        INTERRUPTS.uninstall()
        client.close()
