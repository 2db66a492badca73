"""The fault matrix: the real suite, through `conformance run`, against the emulator once per row.

Each row serves the emulator on a loopback port (two accounts, so isolation runs) with one
fault, one generated mutant, or conforming variations, runs the suite against it through
`conformance run`, and judges the run from its exit code, `summary.json`, junit.xml and the
files it wrote (no API key may appear in any). Rows run in children of one warm process
(rows.py); `--runner process` starts both as their own processes instead, as a user would.
Every fault has a row of its own; variations that keep out of each other's way share one.
CI runs every conforming row and a seeded sample of faults and mutants (`ci_cases`); the
whole matrix is the benchmark.
Standalone: `python -m tests.fault_matrix [--all|--ci] [--mutants] [--only NAME ...]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.clauses import CLAUSES, Strictness
from conformance.emulator.faults import FAULTS
from conformance.emulator.mutants import MUTANTS
from conformance.emulator.variations import VARIATIONS

try:  # collected by pytest (tests/ on sys.path) or run as `python -m tests.fault_matrix`
    import rows
except ImportError:
    from tests import rows

PROFILE = "ci"
FAULT_PROFILE = "quick"
"""A fault row proves the suite fails that clause and no other; the quick profile (fewer
generated examples, the same scenario tests) shows it at half the property tests' cost.
Conforming rows run the ci profile: a false alarm must not hide behind fewer examples."""
RUN_TIMEOUT = 300.0
READY_TIMEOUT = 20.0
# Two suite runs per core: a run spends much of its time waiting on the lifecycle and on I/O.
DEFAULT_WORKERS = max(2, 2 * (os.cpu_count() or 1))
SEED_ENV = "CONFORMANCE_MATRIX_SEED"
DEFAULT_SEED = 16
CI_FAULTS = 2
CI_MUTANTS = 10
"""How many faults and mutants CI draws (seeded) into its matrix; the rest is the benchmark's."""
ADVISORY = frozenset(c.id for c in CLAUSES.values() if c.strictness is Strictness.ADVISORY)
RATE_LIMIT_VARIATIONS = ("rate-limit", "rate-limit-bodiless", "rate-limit-storms")
MARKDOWN_ENV = "CONFORMANCE_FAULT_MATRIX_MARKDOWN"
WORKERS_ENV = "CONFORMANCE_FAULT_MATRIX_WORKERS"
EXIT_ENDPOINTS_GONE = 4

# Conforming variations that do not touch each other's behaviour share a row (each still
# passes: the row passes only if all of them do). A row of its own is kept for what must be
# shown alone: hints answered leniently, a slow target, a throttled one.
VARIATION_ROWS: dict[str, tuple[str, ...]] = {
    "answer-shapes": ("extra-fields", "no-system-metadata", "no-hls", "error-docs-url",
                      "json-charset", "timestamps-offset", "content-length-zero-on-204",
                      "advisory-headers"),
    "error-statuses": ("unknown-id-400", "malformed-id-404", "foreign-id-403",
                       "clamp-page-limit", "tight-query-bounds", "echo-key-in-errors"),
    "wire": ("connection-close", "chunked", "gzip"),
    "lifecycle": ("skip-states", "uploading-state", "brief-first-status"),
    "lenient-queries": ("lenient-queries",),
    "slow-indexing": ("slow-indexing",),
    "rate-limit": ("rate-limit",),
    "rate-limit-bodiless": ("rate-limit-bodiless",),
    # What a live target may do (contract.md, "Live targets may differ"): a row each, so a
    # false alarm is blamed on the one difference that raised it.
    "index-create-200": ("index-create-200",),
    "rate-limit-storms": ("rate-limit-storms",),
    "long-error-messages": ("long-error-messages",),
    "keep-alive-drops": ("keep-alive-drops",),
    "busy-account": ("busy-account",),
    "new-task-404-briefly": ("new-task-404-briefly",),
}


@dataclass(frozen=True)
class Unjudged:
    """A variation that leaves one precondition unprovisionable: the run is exit 3, only
    ``clauses`` end unjudged, and every harness error's message matches ``because``."""

    clauses: frozenset[str]
    because: str


UNPROVISIONABLE: dict[str, Unjudged] = {
    # Final at the first read: no unfinished status exists to delete a task in.
    "instant-indexing": Unjudged(frozenset({"DEL-TERMINAL-ONLY"}), r"first read"),
    # Undecodable bytes refused at once, and no failing URL configured: no failed task.
    "reject-undecodable-at-create": Unjudged(frozenset({"DEL-FAILED"}), r"video_file_broken"),
}
FAULT_COMPANIONS: dict[str, tuple[str, ...]] = {
    # Failure messages quote answers: one that echoes the key must still show no key.
    "delete-failed-refused": ("echo-key-in-errors",),
}
"""Conforming variations a fault row runs with, where a fault alone would not show enough."""
SUBJECTS: dict[str, tuple[str, str]] = {
    # A fault at one status only must be judged at that status, and the report must say so.
    "delete-accepted-while-indexing": ("DEL-TERMINAL-ONLY", "indexing"),
}
"""Rows whose summary.json must name a subject among a clause's subjects judged."""
GONE = ("tasks-gone-404", "tasks-gone-410")
"""The tasks endpoints removed: the run's own exit path, one line, no wall of failures."""


@dataclass(frozen=True)
class Case:
    """One emulator configuration and what the suite must say about it."""

    name: str
    kind: str  # clean | fault | mutant | variation
    expected: frozenset[str] = frozenset()  # clauses that must fail (faults, mutants)
    switches: tuple[str, ...] = ()
    """The emulator's faults or variations of this row (its name when empty)."""

    @property
    def names(self) -> tuple[str, ...]:
        return self.switches or ((self.name,) if self.kind != "clean" else ())

    @property
    def companions(self) -> tuple[str, ...]:
        return FAULT_COMPANIONS.get(self.name, ()) if self.kind == "fault" else ()

    @property
    def emulator_args(self) -> list[str]:
        return [*(arg for name in self.names for arg in (f"--{self.kind}", name)),
                *(arg for name in self.companions for arg in ("--variation", name))]

    def row(self, workdir: Path, keys: tuple[str, str], time_scale: float) -> rows.Row:
        """This case as a row of the warm runner."""
        return rows.Row(workdir, keys, self.profile, time_scale=time_scale,
                        faults=self.names if self.kind == "fault" else (),
                        variations=(self.names if self.kind == "variation" else ())
                        + self.companions,
                        mutant=self.name if self.kind == "mutant" else None)

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return self.name
        if self.kind == "fault" and self.name in FAULT_COMPANIONS:
            return f"fault {self.name} (+ {', '.join(FAULT_COMPANIONS[self.name])})"
        if self.switches and self.switches != (self.name,):
            return f"{self.kind}s {self.name} ({', '.join(self.switches)})"
        return f"{self.kind} {self.name}"

    @property
    def profile(self) -> str:
        return FAULT_PROFILE if self.kind in ("fault", "mutant") else PROFILE

    @property
    def exit_code(self) -> int:
        if self.kind in ("fault", "mutant"):
            return 1
        if self.name in GONE:
            return EXIT_ENDPOINTS_GONE
        return 3 if self.unjudged is not None else 0

    @property
    def unjudged(self) -> Unjudged | None:
        return UNPROVISIONABLE.get(self.name)


def cases(*, mutants: bool = False) -> list[Case]:
    """The clean emulator, every fault of the catalogue, every conforming variation (in
    shared rows where they keep out of each other's way), and every mutant when asked."""
    grouped = {v for names in VARIATION_ROWS.values() for v in names}
    alone = [v for v in VARIATIONS if v not in grouped]
    return [Case("clean", "clean"),
            *(Case(f.name, "fault", frozenset(f.clauses)) for f in FAULTS.values()),
            *(Case(row, "variation", switches=names) for row, names in VARIATION_ROWS.items()),
            *(Case(v, "variation") for v in alone),
            *(mutant_cases() if mutants else [])]


def mutant_cases() -> list[Case]:
    return [Case(m.name, "mutant", frozenset(m.clauses)) for m in MUTANTS.values()]


def seed() -> int:
    text = os.environ.get(SEED_ENV, "").strip()
    return int(text) if text.isdigit() else DEFAULT_SEED


def ci_cases(seed: int = DEFAULT_SEED) -> list[Case]:
    """What CI runs: the clean row, every conforming row (a false alarm matters wherever it
    is), and a seeded sample of CI_FAULTS faults and CI_MUTANTS mutants."""
    rng = random.Random(seed)
    every = cases()
    faults = [c for c in every if c.kind == "fault"]
    drawn = {c.name for c in rng.sample(faults, min(CI_FAULTS, len(faults)))}
    mutants = rng.sample(mutant_cases(), min(CI_MUTANTS, len(MUTANTS)))
    return [*(c for c in every if c.kind != "fault" or c.name in drawn), *mutants]


def clauses_without_fault() -> list[str]:
    """Clauses no fault breaks: each is a blind spot of the matrix (advisory ones excepted)."""
    covered = {c for f in FAULTS.values() for c in f.clauses}
    return [c for c in CLAUSES if c not in covered and c not in ADVISORY]


@dataclass
class Outcome:
    """What one suite run said: exit code, per-clause outcomes, the failing tests."""

    case: Case
    exit_code: int | None
    seconds: float
    report_dir: Path
    summary: dict[str, Any] | None = None
    problem: str | None = None  # the run itself went wrong (no summary, timeout, no emulator)
    tail: str = ""
    messages: dict[str, str] = field(default_factory=dict)  # test name -> junit message
    leaks: list[str] = field(default_factory=list)
    """Files of the run (reports, logs) in which an API key of the run appears."""

    def unexplained_errors(self) -> list[str]:
        """Harness errors whose message names none of the clauses this case is meant to break
        (nor, for a variation that leaves a precondition unprovisionable, says why).

        A fault that destroys a later test's subject leaves that test an error saying so
        ("nothing to judge (see DEL-TERMINAL-ONLY)"); any other harness error is noise.
        """
        unjudged = self.case.unjudged

        def explained(message: str) -> bool:
            return any(cid in message for cid in self.case.expected) or (
                unjudged is not None and re.search(unjudged.because, message) is not None)

        return [t["nodeid"] for t in (self.summary or {}).get("tests", [])
                if t.get("outcome") == "error" and not explained(
                    self.messages.get(t["nodeid"].split("::", 1)[-1], ""))]

    @property
    def clause_outcomes(self) -> dict[str, str]:
        clauses = (self.summary or {}).get("clauses", {})
        return {cid: row.get("outcome", "?") for cid, row in clauses.items()}

    def clauses_with(self, outcome: str) -> set[str]:
        return {cid for cid, got in self.clause_outcomes.items() if got == outcome}

    @property
    def failed(self) -> set[str]:
        return self.clauses_with("failed")

    @property
    def rate_limited(self) -> int:
        return int((self.summary or {}).get("rate_limited") or 0)

    def tests_with(self, *outcomes: str) -> list[str]:
        """`nodeid [violated clauses]: outcome` for each test that ended in one of these."""
        return [f"{t['nodeid']} {t.get('violated') or []}: {t['outcome']}"
                for t in (self.summary or {}).get("tests", []) if t.get("outcome") in outcomes]


def judge(outcome: Outcome) -> list[str]:
    """Everything wrong with a run, one sentence each; empty means the row holds."""
    case, problems = outcome.case, []
    if outcome.problem:
        return [outcome.problem]
    if outcome.summary is None:
        return [f"no summary.json (exit {outcome.exit_code}): {outcome.tail}"]
    want_exit = case.exit_code
    if outcome.exit_code != want_exit:
        problems.append(f"exit code {outcome.exit_code}, expected {want_exit}")
    if outcome.leaks:
        problems.append(f"an API key of the run appears in {', '.join(outcome.leaks)}")
    if case.name in GONE:
        verdict = outcome.summary.get("verdict")
        if verdict != "endpoints gone":
            problems.append(f"verdict {verdict!r}, expected 'endpoints gone'")
        return problems
    failed, expected = outcome.failed, set(case.expected)
    if case.kind == "mutant":
        # killed: the run failed, with at least one clause the mutant declares; other
        # clauses failing too are a blame question (reported), not a wrong row
        if not failed & expected:
            problems.append(f"survived: none of {', '.join(sorted(expected))} failed")
        if problems:
            problems.append(f"reports: {outcome.report_dir}")
        return problems
    if missing := expected - failed:
        problems.append(f"declared clause(s) not detected: {', '.join(sorted(missing))}")
    if collateral := failed - expected:
        problems.append(f"clause(s) failed that this {case.kind} does not break: "
                        f"{', '.join(sorted(collateral))}")
    if errored := outcome.unexplained_errors():
        problems.append("test(s) ended in a harness error that names no clause this case "
                        f"breaks: {'; '.join(errored)}")
    if case.kind != "fault":
        # Two accounts are configured: every clause must have been judged, and passed
        # (but those a variation leaves unprovisionable, which must be left unjudged).
        allowed = case.unjudged.clauses if case.unjudged is not None else frozenset()
        unjudged = {cid for cid, got in outcome.clause_outcomes.items()
                    if got != "passed" and cid not in ADVISORY and cid not in allowed} - failed
        if allowed and (judged := {c for c in allowed if outcome.clause_outcomes.get(c) ==
                                   "passed"}):
            problems.append(f"clause(s) judged that this variation leaves unprovisionable: "
                            f"{', '.join(sorted(judged))}")
        if unjudged:
            problems.append("clause(s) not passed: " + ", ".join(
                f"{cid} {outcome.clause_outcomes[cid]}" for cid in sorted(unjudged)))
        if missing_rows := set(CLAUSES) - set(outcome.clause_outcomes):
            problems.append("clause(s) absent from summary.json: "
                            + ", ".join(sorted(missing_rows)))
    if case.name in SUBJECTS:
        clause_id, subject = SUBJECTS[case.name]
        judged = outcome.summary.get("clauses", {}).get(clause_id, {}).get("subjects_judged", [])
        if not any(subject in line for line in judged):
            problems.append(f"{clause_id}: {subject!r} is not among the subjects judged: {judged}")
    if "advisory-headers" in case.names:
        found = outcome.summary.get("advisories") or {}
        if not {"deprecation", "sunset", "deprecation_link", "rate_limit_headers"} <= set(found):
            problems.append(f"advisory headers not recorded in summary.json: {found}")
    if set(case.names) & set(RATE_LIMIT_VARIATIONS):
        if outcome.rate_limited == 0:
            problems.append("no 429 was seen: the variation did not exercise RATE-LIMIT")
        elif (got := outcome.clause_outcomes.get("RATE-LIMIT")) != "passed":
            # The suite's own check that it waited out every 429 must have judged them.
            problems.append(f"RATE-LIMIT {got}, expected passed under 429 answers")
    if problems:
        bad = outcome.tests_with("failed")
        if bad:
            problems.append("failing tests: " + "; ".join(bad))
        problems.append(f"reports: {outcome.report_dir}")
    return problems


def _clean_env(base: dict[str, str]) -> dict[str, str]:
    """The caller's environment without settings that would steer either process."""
    drop = ("TWELVELABS_", "CONFORMANCE_", "PYTEST_")
    return {k: v for k, v in base.items() if not k.startswith(drop)}


def _entry_point() -> list[str]:
    """The `conformance` script users call, or the same main through `-m` when not installed."""
    script = Path(sys.executable).with_name("conformance")
    return [str(script)] if script.exists() else [sys.executable, "-m", "conformance"]


@contextmanager
def emulator(args: Sequence[str], keys: Sequence[str], workdir: Path,
             time_scale: float = 1.0) -> Iterator[str]:
    """An emulator process on a free loopback port; yields its base URL, stops it after."""
    log = workdir / "emulator.log"
    env = {**_clean_env(dict(os.environ)), "CONFORMANCE_EMULATOR_API_KEYS": ",".join(keys)}
    command = [sys.executable, "-m", "conformance.emulator", "--host", "127.0.0.1",
               "--port", "0", "--time-scale", str(time_scale), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=workdir, start_new_session=True)
    try:
        yield _ready_url(process, log)
    finally:
        _stop(process)


def _ready_url(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("emulator ready at "):
                return line.removeprefix("emulator ready at ").strip()
        if process.poll() is not None:
            break
        time.sleep(0.05)
    text = log.read_text(errors="replace").strip().splitlines()
    raise RuntimeError(f"emulator did not start: {text[-1] if text else 'no output'}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


RUNNERS = ("fork", "process")


def run_case(case: Case, workdir: Path, time_scale: float = 1.0,
             runner: str = "fork") -> Outcome:
    """Serve the emulator for this case, run the suite against it, read what it concluded:
    in a child of the warm process (``fork``), or as two processes of their own."""
    workdir.mkdir(parents=True, exist_ok=True)
    reports = workdir / "reports"
    keys = (f"fm-{secrets.token_hex(12)}", f"fm-{secrets.token_hex(12)}")
    started = time.monotonic()
    outcome = Outcome(case, None, 0.0, reports)
    try:
        if runner == "fork":
            outcome.exit_code = rows.run(case.row(workdir, keys, time_scale), RUN_TIMEOUT)
            if outcome.exit_code is None:
                raise subprocess.TimeoutExpired("row", RUN_TIMEOUT)
        else:
            outcome.exit_code = _run_processes(case, workdir, keys, time_scale)
    except subprocess.TimeoutExpired:
        outcome.problem = f"the suite run did not finish within {RUN_TIMEOUT:.0f} s"
    except (RuntimeError, OSError) as exc:
        outcome.problem = str(exc)
    outcome.seconds = time.monotonic() - started
    outcome.leaks = _leaks(workdir, keys)
    try:
        outcome.summary = json.loads((reports / "summary.json").read_text())
        outcome.messages = _junit_messages(reports / "junit.xml")
    except (OSError, ValueError):
        log = workdir / "run.log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        outcome.tail = " | ".join(lines[-3:])
    return outcome


def _run_processes(case: Case, workdir: Path, keys: Sequence[str], time_scale: float) -> int:
    """The emulator and the suite as processes of their own, as a user would start them."""
    with emulator(case.emulator_args, keys, workdir, time_scale) as base_url:
        env = {**_clean_env(dict(os.environ)), "TWELVELABS_API_KEY": keys[0],
               "TWELVELABS_SECOND_API_KEY": keys[1]}
        command = [*_entry_point(), "run", "--base-url", base_url, "--profile",
                   case.profile, "--report-dir", str(workdir / "reports")]
        with (workdir / "run.log").open("wb") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                  cwd=workdir, timeout=RUN_TIMEOUT, check=False)
        return done.returncode


def _leaks(workdir: Path, keys: Sequence[str]) -> list[str]:
    """The run's files (reports, transcripts, its console log) that show one of its keys."""
    found = []
    for path in sorted(workdir.rglob("*")):
        if path.is_file() and path.name != "emulator.log" and "hypothesis" not in path.parts:
            text = path.read_bytes()
            if any(key.encode() in text for key in keys):
                found.append(str(path.relative_to(workdir)))
    return found


def _junit_messages(path: Path) -> dict[str, str]:
    """The failure or error text of each test in a run's junit.xml, by test name."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    return {case.get("name", ""): " ".join(f"{f.get('message') or ''} {f.text or ''}"
                                           for f in [*case.iter("error"), *case.iter("failure")])
            for case in root.iter("testcase")}


SLOWEST = ("slow-indexing", "busy-account", *RATE_LIMIT_VARIATIONS)


def run_matrix(selected: Sequence[Case], root: Path, workers: int = DEFAULT_WORKERS,
               progress: Callable[[str], None] | None = None,
               time_scale: float = 1.0, runner: str = "fork") -> dict[str, Outcome]:
    """Every case, `workers` at a time, slowest kinds first so the pool drains evenly."""
    order = sorted(selected, key=lambda c: c.name not in SLOWEST)

    def one(case: Case) -> Outcome:
        outcome = run_case(case, root / case.kind / case.name, time_scale, runner)
        if progress is not None:
            progress(f"fault matrix: {case.label}: exit {outcome.exit_code}, "
                     f"{outcome.seconds:.1f} s, {'ok' if not judge(outcome) else 'WRONG'}")
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(one, order))
    return {o.case.label: o for o in sorted(outcomes, key=lambda o: selected.index(o.case))}


@dataclass
class Table:
    """The matrix as rows of text: fault/variation, expected, failed, verdict, seconds."""

    outcomes: Sequence[Outcome]
    wall: float | None = None
    header: tuple[str, ...] = field(default=("case", "expected to fail", "failed",
                                             "harness errors", "verdict", "seconds"))

    def rows(self) -> list[tuple[str, ...]]:
        return [(o.case.label, ", ".join(sorted(o.case.expected)) or "-",
                 ", ".join(sorted(o.failed)) or "-", str(len(o.tests_with("error"))),
                 "ok" if not judge(o) else "WRONG", f"{o.seconds:.1f}")
                for o in self.outcomes]

    def score(self) -> str:
        good = sum(1 for o in self.outcomes if not judge(o))
        wall = f", {self.wall:.0f} s wall" if self.wall is not None else ""
        return f"{good}/{len(self.outcomes)} rows hold{wall}"

    def text(self) -> str:
        rows = [self.header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        return "\n".join([*lines, self.score()])

    def markdown(self) -> str:
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(cells) + " |"

        body = [line(self.header), line(["---"] * len(self.header)),
                *(line([f"`{r[0]}`", *r[1:]]) for r in self.rows())]
        return "\n".join([f"# Fault matrix (faults: {FAULT_PROFILE} profile, the rest: "
                          f"{PROFILE})", "", *body, "", self.score(), ""])

    def write_markdown(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown(), encoding="utf-8")


def cost(outcomes: Sequence[Outcome], runner: str, children: Any) -> str:
    """Seconds per row: median wall, and CPU (rows say theirs under the fork runner; the
    process runner's are those of this process's children, shared out)."""
    if not outcomes:
        return "no rows"
    walls = sorted(o.seconds for o in outcomes)
    if runner == "fork":
        cpus = [c for o in outcomes if (c := rows.cpu_seconds(o.report_dir.parent)) is not None]
        cpu = sum(cpus) / len(cpus) if cpus else float("nan")
    else:
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (now.ru_utime - children.ru_utime) + (now.ru_stime - children.ru_stime)
        cpu = used / len(outcomes)
    return (f"{len(outcomes)} rows ({runner} runner): median {walls[len(walls) // 2]:.1f} s "
            f"wall a row, {cpu:.1f} s CPU a row")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault_matrix",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table here")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME",
                        help="run only these cases (clean, fault, variation or mutant names)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ci", action="store_true",
                       help=f"what CI runs: conforming rows and a sample (${SEED_ENV})")
    which.add_argument("--mutants", action="store_true", help="the mutants too")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--runner", choices=RUNNERS, default="fork",
                        help="fork: children of one warm process; process: two processes a row")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep every run's reports here")
    args = parser.parse_args(argv)
    every = cases(mutants=True)
    pool = ci_cases(seed()) if args.ci else cases(mutants=args.mutants or bool(args.only))
    selected = [c for c in pool if not args.only or c.name in args.only]
    if unknown := set(args.only) - {c.name for c in every}:
        print(f"fault matrix: unknown case(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if blind := clauses_without_fault():
        print(f"fault matrix: clause(s) without a fault: {', '.join(blind)}", file=sys.stderr)
    started = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The reports of a wrong row must outlive the run for whoever reads its message.
    root = args.keep or Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    outcomes = run_matrix(selected, root, args.workers, lambda s: print(s, flush=True),
                          runner=args.runner)
    table = Table(list(outcomes.values()), time.monotonic() - started)
    print(table.text())
    print(cost(list(outcomes.values()), args.runner, children))
    for outcome in outcomes.values():
        for problem in judge(outcome):
            print(f"{outcome.case.label}: {problem}")
    if not args.keep and all(not judge(o) for o in outcomes.values()):
        shutil.rmtree(root, ignore_errors=True)
    if args.markdown:
        table.write_markdown(args.markdown)
        print(f"fault matrix: table written to {args.markdown}")
    good = all(not judge(o) for o in outcomes.values())
    return 0 if good and not clauses_without_fault() else 1


if __name__ == "__main__":
    sys.exit(main())
