"""``python -m conformance.emulator``: run the emulator until interrupted."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import NoReturn

from conformance.emulator import DEFAULT_API_KEY, FAULTS, MUTANTS, VARIATIONS, create_app
from conformance.emulator.context import LATENCY_ENV
from conformance.emulator.owner import with_index_listing
from conformance.emulator.server import start_in_thread

KEYS_ENV = "CONFORMANCE_EMULATOR_API_KEYS"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="conformance emulator",
                description="Serve the reference emulator of the TwelveLabs v1.3 tasks API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                   help=f"an account's key (repeatable); else ${KEYS_ENV}, else the "
                        "documented development key")
    p.add_argument("--fault", action="append", dest="faults", default=[], metavar="NAME")
    p.add_argument("--variation", action="append", dest="variations", default=[],
                   metavar="NAME")
    p.add_argument("--mutant", metavar="NAME",
                   help="serve one generated mutant (see --list-mutants)")
    p.add_argument("--list-faults", action="store_true")
    p.add_argument("--list-variations", action="store_true")
    p.add_argument("--list-mutants", action="store_true")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                   help="multiply every lifecycle phase duration by F")
    p.add_argument("--data-dir", metavar="DIR", help="keep state in SQLite under DIR")
    p.add_argument("--latency", type=float, metavar="SECONDS",
                   help=f"delay every answer by SECONDS (like a remote API); else ${LATENCY_ENV}, "
                        "else none")
    p.add_argument("--list-indexes", action="store_true",
                   help="also answer GET /indexes (the account's indexes with their video "
                        "counts, as the vendor's API lists them; outside the suite's spec)")
    return p


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.list_faults:
            print(_table([("FAULT", "CLAUSES", "DESCRIPTION")] + [
                (f.name, ",".join(f.clauses), f.description) for f in FAULTS.values()]))
            return 0
        if args.list_variations:
            print(_table([("VARIATION", "CLAUSES", "DESCRIPTION")] + [
                (v.name, "-", v.description) for v in VARIATIONS.values()]))
            return 0
        if args.list_mutants:
            print(_table([("MUTANT", "CLAUSES", "DESCRIPTION")] + [
                (m.name, ",".join(m.clauses), m.description) for m in MUTANTS.values()]))
            return 0
        if not 0 <= args.port <= 65535:
            raise _UsageError(f"--port must be between 0 and 65535, got {args.port}")
        keys = args.api_keys or [k.strip() for k in os.environ.get(KEYS_ENV, "").split(",")
                                 if k.strip()] or [DEFAULT_API_KEY]
        app = create_app(api_keys=keys, faults=args.faults, variations=args.variations,
                         mutant=args.mutant, time_scale=args.time_scale,
                         data_dir=args.data_dir, latency=args.latency)
        if args.list_indexes:
            app = with_index_listing(app)
        server = start_in_thread(app, args.host, args.port)
    except _UsageError as error:
        print(f"conformance emulator: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as error:
        print(f"conformance emulator: error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"emulator ready at {server.base_url}", flush=True)
    while not stop.wait(0.5):
        if not server._thread.is_alive():
            print("conformance emulator: error: the server stopped", file=sys.stderr)
            return 3
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
