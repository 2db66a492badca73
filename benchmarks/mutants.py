"""Mutation score: the real suite against every generated mutant of the emulator.

Each mutant (conformance/emulator/mutants.py: a named decision patched for one subject, with
the clauses it breaks) gets a row of the fault matrix: `conformance run --profile quick`
against the emulator serving it (tests/rows.py: children of one warm process). A mutant is
killed when the run exits 1 and at least one clause it declares failed. Prints every row,
the survivors grouped by clause and by rule and subject, the mutants killed only through
clauses they do not declare (a blame question), the runs that ended exit 3, the time per
mutant, and as its last line:

    mutation score: KILLED/TOTAL killed with a declared clause, N ended exit 3

Run: .venv/bin/python benchmarks/mutants.py [--sample N] [--seed S] [--only NAME ...]
     [--workers W] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from conformance.emulator.mutants import MUTANTS  # noqa: E402
from tests import fault_matrix as fm  # noqa: E402
from tests import rows  # noqa: E402


def verdict(outcome: fm.Outcome) -> str:
    """killed, killed-undeclared (only clauses it does not declare failed), survived, exit-3,
    or broken (no summary: the run itself went wrong)."""
    if outcome.problem or outcome.summary is None:
        return "broken"
    if outcome.exit_code == 3:
        return "exit-3"
    failed = outcome.failed
    if outcome.exit_code == 1 and failed & outcome.case.expected:
        return "killed"
    if outcome.exit_code == 1 and failed:
        return "killed-undeclared"
    return "survived"


def report(outcomes: list[fm.Outcome], wall: float) -> list[str]:
    """The benchmark's text, its last line the score."""
    lines: list[str] = []
    by: dict[str, list[fm.Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by[verdict(outcome)].append(outcome)
    width = max((len(o.case.name) for o in outcomes), default=10)
    lines.append(f"{'mutant':<{width}}  verdict            exit  seconds  cpu    failed")
    for o in outcomes:
        cpu = rows.cpu_seconds(o.report_dir.parent)
        lines.append(f"{o.case.name:<{width}}  {verdict(o):<17}  {o.exit_code!s:<4}  "
                     f"{o.seconds:7.1f}  {'-' if cpu is None else f'{cpu:5.1f}'}  "
                     f"{', '.join(sorted(o.failed)) or '-'}")
    survivors = by["survived"] + by["killed-undeclared"]
    if survivors:
        lines.append("")
        lines.append("survivors by declared clause (rule: kind, subject):")
        grouped: dict[str, list[str]] = defaultdict(list)
        for o in survivors:
            m = MUTANTS[o.case.name]
            for clause in m.clauses:
                grouped[clause].append(f"{m.rule}: {m.kind}, {m.subject}")
        for clause in sorted(grouped):
            lines.append(f"  {clause} ({len(grouped[clause])})")
            lines.extend(f"    {entry}" for entry in sorted(grouped[clause]))
    if by["killed-undeclared"]:
        lines.append("")
        lines.append("killed only through clauses they do not declare (who should be blamed?):")
        for o in by["killed-undeclared"]:
            lines.append(f"  {o.case.name}: declares {', '.join(sorted(o.case.expected))}; "
                         f"failed {', '.join(sorted(o.failed))}")
    for kind in ("exit-3", "broken"):
        if by[kind]:
            lines.append("")
            lines.append(f"ended {kind}:")
            for o in by[kind]:
                why = o.problem or o.tail or ", ".join(o.tests_with("error"))[:300]
                lines.append(f"  {o.case.name}: {why} (reports: {o.report_dir})")
    seconds = [o.seconds for o in outcomes]
    cpus = [c for o in outcomes if (c := rows.cpu_seconds(o.report_dir.parent)) is not None]
    lines.append("")
    if seconds:
        lines.append(f"time per mutant: median {statistics.median(seconds):.1f} s wall"
                     + (f", {statistics.median(cpus):.1f} s CPU" if cpus else "")
                     + f"; {len(outcomes)} mutants in {wall:.0f} s wall")
    killed = len(by["killed"])
    lines.append(f"mutation score: {killed}/{len(outcomes)} killed with a declared clause, "
                 f"{len(by['exit-3'])} ended exit 3")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, metavar="N", help="a seeded sample of N mutants")
    parser.add_argument("--seed", type=int, default=fm.DEFAULT_SEED)
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME")
    parser.add_argument("--workers", type=int, default=fm.DEFAULT_WORKERS)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep every run's reports")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the verdicts")
    args = parser.parse_args(argv)
    cases = fm.mutant_cases()
    if args.only:
        unknown = set(args.only) - set(MUTANTS)
        if unknown:
            print(f"unknown mutant(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.name in args.only]
    if args.sample:
        cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
    root = args.keep or Path(tempfile.mkdtemp(prefix="mutants-"))
    started = time.monotonic()
    outcomes = fm.run_matrix(cases, root, args.workers, lambda s: print(s, flush=True))
    wall = time.monotonic() - started
    listed = [outcomes[c.label] for c in cases]
    print("\n".join(report(listed, wall)))
    if args.json:
        args.json.write_text(json.dumps({o.case.name: {
            "verdict": verdict(o), "exit": o.exit_code, "seconds": round(o.seconds, 1),
            "cpu": rows.cpu_seconds(o.report_dir.parent), "failed": sorted(o.failed),
            "declared": sorted(o.case.expected)} for o in listed}, indent=1))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
