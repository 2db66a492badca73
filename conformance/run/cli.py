"""The ``conformance`` command: run the suite, serve the emulator, clean up, compare two runs.

Every usage or configuration problem ends as one readable line and exit code 2; the run's
own verdict (0, 1, 3) comes from the pytest plugin.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import conformance
from conformance.run import replay
from conformance.run.report import EXIT_ENDPOINTS_GONE, VERDICTS, write_summary
from conformance.run.startup import start
from conformance.run.state import Handover
from conformance.run.target import TargetError
from conformance.settings import PROFILES, Settings, SettingsError, build_settings

EXIT_USAGE, EXIT_COULD_NOT_RUN, EXIT_INTERRUPTED = 2, 3, 130
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
        if args.command == "replay":
            return replay.command(args)
        from conformance.run.compare import compare

        return compare(Path(args.old), Path(args.new))
    except (UsageError, SettingsError) as exc:
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


def _settings(args: argparse.Namespace, names: Sequence[str]) -> Settings:
    options = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return build_settings(options, os.environ, Path(args.config) if args.config else None)


def run(args: argparse.Namespace, passthrough: Sequence[str]) -> int:
    """Settings, the one start-up (target, preflight), then the suite in-process with the
    started run handed over."""
    import pytest

    settings = _settings(args, RUN_SETTINGS)
    try:
        started = start(settings, args.clause)
    except TargetError as exc:
        if exc.exit_code == EXIT_ENDPOINTS_GONE:
            _write_gone_summary(settings, exc.message)
        raise
    try:
        if started.embedded is not None:
            print(f"target: {started.target_label}", flush=True)
        code = pytest.main(_pytest_args(args, started.settings, passthrough),
                           plugins=[Handover(started)])
    finally:
        started.stop()
    # pytest's own usage errors (a bad -m expression) are ours too.
    return EXIT_USAGE if code == pytest.ExitCode.USAGE_ERROR else int(code)


def _write_gone_summary(settings: Settings, message: str) -> None:
    """A run that ends before pytest starts still leaves its verdict where CI looks for it."""
    write_summary(settings.report_dir / "summary.json", {
        "target": settings.base_url, "suite_version": conformance.__version__,
        "exit_code": EXIT_ENDPOINTS_GONE, "verdict": VERDICTS[EXIT_ENDPOINTS_GONE],
        "notes": [message], "clauses": {}, "tests": [], "failed_clauses": [],
        "settings": settings.redacted()})


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
        # The user's working directory and its pytest configuration are not the suite's.
        "-c", str(RUN_INI), "--rootdir", str(rootdir), "--strict-markers", "-ra",
        # The suite judges with ContractViolation, not bare asserts: rewriting every module
        # of schemathesis and hypothesis (pytest11 plugins) would cost seconds of CPU per run.
        "--assert=plain",
        # httpx (preflight) imported anyio's pytest plugin before pytest could rewrite it.
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        # xunit1 is the JUnit dialect that carries per-test properties (clause IDs).
        "-o", "junit_family=xunit1",
        f"--junitxml={reports / 'junit.xml'}", f"--html={reports / 'report.html'}",
        "--self-contained-html",
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
        client.close()
