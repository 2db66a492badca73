"""Live-shaped run: the nightly profile under live rules at the live pace, figures for the note.

The emulator looks like the live API (80 ms round trips, a 429 with Retry-After on every
50th request, indexing stretched to about 20 s); the suite runs `--profile nightly
--live-rules` at the default 2 requests/s. Prints requests sent, 429s, tasks, wall time,
and each against its target (requests at most 750, the live-safety test's budget: six and a
quarter minutes at 2 requests/s; wall under 15 minutes).
Run: .venv/bin/python benchmarks/live_shaped.py [--rate R] [--time-scale F]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from target import run_suite

MAX_REQUESTS, MAX_WALL_S = 750, 15 * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", help="requests per second (default: the live default, 2)")
    parser.add_argument("--time-scale", default="13", help="lifecycle stretch (13: ~20 s)")
    args = parser.parse_args()
    emulator_args = ["--latency", "0.08", "--time-scale", args.time_scale,
                     "--variation", "rate-limit"]
    suite_args = ["--profile", "nightly", "--live-rules",
                  *(["--rate", args.rate] if args.rate else [])]
    with tempfile.TemporaryDirectory(prefix="live-shaped-") as scratch:
        run = run_suite(Path(scratch), emulator_args, suite_args)
    summary = run.summary
    print(f"live-shaped nightly run (--live-rules, rate {args.rate or 'default 2'} req/s, "
          f"indexing x{args.time_scale}): exit {run.code}, verdict {summary.get('verdict')}")
    print(f"  requests {run.requests} (target at most {MAX_REQUESTS}, ratio "
          f"{run.requests / MAX_REQUESTS:.2f}); 429s waited out {summary.get('rate_limited')}")
    print(f"  tasks created {summary.get('tasks_created')} (budget "
          f"{summary.get('budget', {}).get('tasks')})")
    print(f"  wall {run.wall:.0f} s (target under {MAX_WALL_S} s, ratio "
          f"{run.wall / MAX_WALL_S:.2f})")
    good = run.code == 0 and run.requests <= MAX_REQUESTS and run.wall < MAX_WALL_S
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
