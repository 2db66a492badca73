"""Emulator benchmark: retrieve throughput, list latency at 100,000 tasks, peak memory.

Prints each figure with its target and the ratio figure/target (above 1 is better for
throughput, below 1 is better for latency and memory), and a verdict that counts every row it
printed against its target. Run: .venv/bin/python benchmarks/emulator.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from conformance.emulator import DEFAULT_API_KEY, create_app
from conformance.emulator.media import probe_upload
from conformance.emulator.server import start_in_thread
from conformance.emulator.store import account_id

SAMPLE = (Path(__file__).parents[1] / "conformance" / "data" / "sample.mp4").read_bytes()
HEADERS = {"x-api-key": DEFAULT_API_KEY}
TARGET_RPS, TARGET_P50_MS, TARGET_MB = 1000.0, 20.0, 500.0


def _connection(base_url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    return http.client.HTTPConnection(host, parts.port, timeout=30), parts.path


def _call(conn: http.client.HTTPConnection, method: str, path: str,
          body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={**HEADERS, **(headers or {})})
    answer = conn.getresponse()
    return answer.status, answer.read()


def retrieve_throughput(clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s of GET /tasks/{id} against a separate emulator process, and its peak RSS."""
    process = subprocess.Popen([sys.executable, "-m", "conformance.emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        conn, prefix = _connection(base_url)
        _, body = _call(conn, "POST", f"{prefix}/indexes", json.dumps(
            {"index_name": "bench", "models": [{"model_name": "marengo3.0",
                                                "model_options": ["visual"]}]}).encode(),
            {"content-type": "application/json"})
        index_id = json.loads(body)["_id"]
        boundary = "benchboundary"
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"index_id\"\r\n\r\n"
                f"{index_id}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                "name=\"video_file\"; filename=\"sample.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
                ).encode() + SAMPLE + f"\r\n--{boundary}--\r\n".encode()
        _, body = _call(conn, "POST", f"{prefix}/tasks", form,
                        {"content-type": f"multipart/form-data; boundary={boundary}"})
        path = f"{prefix}/tasks/{json.loads(body)['_id']}"
        counts = [0] * clients
        stop = threading.Event()

        def worker(i: int) -> None:
            own, _ = _connection(base_url)
            while not stop.is_set():
                status, _ = _call(own, "GET", path)
                assert status == 200, status
                counts[i] += 1
            own.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        peak_kb = _peak_kb(process.pid)
        return sum(counts) / elapsed, peak_kb
    finally:
        process.terminate()
        process.wait(10)


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def list_latency(tasks: int, samples: int) -> dict[str, tuple[float, float]]:
    """p50/p95 (ms) of list queries over loopback with ``tasks`` tasks in one account."""
    app = create_app()
    store = app.state.emulator.store
    account = account_id(DEFAULT_API_KEY)
    indexes = [store.create_index(account, f"bench-{i}", []).id for i in range(4)]
    good, bad = probe_upload(SAMPLE), probe_upload(b"broken")
    for i in range(tasks):
        store.add_task(account, indexes[i % 4], filename=f"clip-{i}.mp4",
                       probe=good if i % 3 else bad)
    server = start_in_thread(app)
    conn, prefix = _connection(server.base_url)
    time.sleep(2.0)  # past every schedule: the first list catches up on every transition
    started = time.perf_counter()
    _call(conn, "GET", f"{prefix}/tasks?status=ready")
    catch_up = (time.perf_counter() - started) * 1000
    queries = {
        "first page (default)": "",
        "page 1000 of 50": "?page=1000&page_limit=50",
        "last page asc": f"?page={tasks // 50}&page_limit=50&sort_option=asc",
        "index filter": f"?index_id={indexes[1]}&page=20",
        "status filter": "?status=failed&page_limit=50",
        "sort by updated_at": "?sort_by=updated_at&page_limit=50",
        "two statuses p100": "?status=ready&status=failed&page=100&page_limit=50",
        "updated_at asc p500": "?sort_by=updated_at&sort_option=asc&page=500&page_limit=50",
        "status + index": f"?status=ready&index_id={indexes[1]}&page_limit=50",
        "updated_at + index": f"?sort_by=updated_at&index_id={indexes[1]}&page_limit=50",
        "width": "?width=480&page_limit=50",
        "height page 100": "?height=360&page=100&page_limit=50",
        "duration + updated_at": "?duration=5.0&sort_by=updated_at&page_limit=50",
        "filename (one task)": f"?filename=clip-{tasks // 2}.mp4",
        "status + index + updated_at": (f"?status=ready&index_id={indexes[2]}"
                                        "&sort_by=updated_at&page_limit=50"),
        "width + status (walks the smaller)": "?width=480&status=ready&page_limit=50",
    }
    results = {"first list after the burst (catch-up)": (catch_up, catch_up)}
    try:
        for name, query in queries.items():
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                status, _ = _call(conn, "GET", f"{prefix}/tasks{query}")
                times.append((time.perf_counter() - started) * 1000)
                assert status == 200, status
            times.sort()
            results[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    finally:
        conn.close()
        server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--list-only", action="store_true",
                        help="only the list latencies (no throughput process)")
    args = parser.parse_args(argv)

    verdicts: list[tuple[str, bool]] = []
    if not args.list_only:
        rps, server_kb = retrieve_throughput(args.clients, args.seconds)
        print(f"retrieve throughput, {args.clients} clients, separate server process: "
              f"{rps:,.0f} req/s (target >= {TARGET_RPS:,.0f}; ratio {rps / TARGET_RPS:.2f})")
        verdicts.append(("retrieve throughput", rps >= TARGET_RPS))
        print(f"  server peak RSS under that load: {server_kb / 1024:.0f} MB")
    started = time.perf_counter()
    latency = list_latency(args.tasks, args.samples)
    print(f"list latency with {args.tasks:,} tasks in one account "
          f"(set up in {time.perf_counter() - started:.1f} s):")
    for name, (p50, p95) in latency.items():
        print(f"  {name:<38} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  "
              f"(target p50 < {TARGET_P50_MS:g} ms; ratio {p50 / TARGET_P50_MS:.2f})")
        verdicts.append((name, p50 < TARGET_P50_MS))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of the process holding {args.tasks:,} tasks: {peak_mb:.0f} MB "
          f"(target < {TARGET_MB:g} MB; ratio {peak_mb / TARGET_MB:.2f})")
    verdicts.append(("peak memory", peak_mb < TARGET_MB))
    missed = [name for name, ok in verdicts if not ok]
    met = len(verdicts) - len(missed)
    print(f"{met}/{len(verdicts)} rows meet their targets"
          + (f"; missed: {', '.join(missed)}" if missed else ": all targets met"))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
