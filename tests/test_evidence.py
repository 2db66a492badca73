"""Evidence on every failure, the run's HAR file, reproductions that work when pasted, and
``conformance replay``, shown on runs against the emulator with faults (real servers on
loopback ports, the suite as a user starts it)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import head_start
import pytest
from har_schema import har_problems

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread

pytestmark = pytest.mark.slow

KEY = "tlk_evidence_primary_key_7c41d2e9a0"
SECOND = "tlk_evidence_second_key_39b8f1c2d4"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _environment() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items()
            if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTEST_"))}
    return {**kept, "TWELVELABS_API_KEY": KEY, "TWELVELABS_SECOND_API_KEY": SECOND}


def conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], env=_environment(),
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def _serve(*faults: str, variations: tuple[str, ...] = ()) -> RunningServer:
    return start_in_thread(create_app(api_keys=[KEY, SECOND], faults=list(faults),
                                      variations=list(variations)))


@pytest.fixture(scope="module")
def clean() -> Iterator[RunningServer]:
    server = _serve()
    yield server
    server.stop()


@head_start.for_fixture("faulty_run")
def _faulty_run(root: Path) -> Iterator[tuple[RunningServer, Path]]:
    """The whole suite (property tests too) against a target whose deletes answer 204 with
    Content-Length: 2, and whose every error echoes the key it got."""
    server = _serve("delete-204-with-body", variations=("echo-key-in-errors",))
    try:
        done = conformance("run", "--base-url", server.base_url, "--profile", "quick",
                           "--report-dir", str(root / "reports"), cwd=root)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        (root / "console.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
        yield server, root / "reports"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def faulty_run() -> Iterator[tuple[RunningServer, Path]]:
    yield from head_start.take(_faulty_run)


@pytest.fixture(scope="module")
def faulty(faulty_run: tuple[RunningServer, Path]) -> RunningServer:
    return faulty_run[0]


@pytest.fixture(scope="module")
def reports(faulty_run: tuple[RunningServer, Path]) -> Path:
    return faulty_run[1]


def _findings(reports: Path) -> list[dict[str, Any]]:
    return list(json.loads((reports / "findings.json").read_text())["findings"])


def _del_empty(reports: Path, test_part: str) -> dict[str, Any]:
    return next(f for f in _findings(reports)
                if f["clause"] == "DEL-EMPTY" and test_part in f["test"])


def _rows(page: str) -> dict[str, list[dict[str, Any]]]:
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    return dict(json.loads(html.unescape(blob.group(1)))["tests"])


def test_a_failing_del_empty_finding_opens_its_report_with_the_204s_headers(
        reports: Path) -> None:
    rows = _rows((reports / "report.html").read_text(encoding="utf-8"))
    failed = next(r for name, runs in rows.items() for r in runs
                  if "failed_task_deletes" in name and r["result"] == "Failed")
    first = html.unescape(failed["extras"][0]["content"])
    # The delete happened in shared set-up, before the test's own recording window.
    assert 'class="cf-evidence"' in first and "DEL-EMPTY" in first
    answer = first[first.index('class="cf-answer"'):]
    assert re.search(r"HTTP 204\ndate: [^\n]+\nserver: uvicorn\ncontent-length: 2\n", answer)
    request = first[first.index('class="cf-exchange"'):first.index('class="cf-answer"')]
    assert "DELETE http://127.0.0.1:" in request and "x-api-key: $TWELVELABS_API_KEY" in request
    assert "wait_for" in first and "base64 -d" in first  # the reproduction, set-up included
    later = " ".join(html.unescape(e["content"]) for e in failed["extras"][1:])
    # the test's own block follows (what it violated, its transcript), then the failure text
    assert 'class="conformance-extra"' in later and "Violated:</b> DEL-EMPTY" in later
    assert html.unescape(failed["log"]).startswith("[DEL-EMPTY]")


def test_junit_and_the_console_carry_the_short_evidence(reports: Path) -> None:
    junit = ET.parse(reports / "junit.xml")
    texts = [f.text or "" for f in junit.iter("failure")]
    empty = [t for t in texts if t.startswith("[DEL-EMPTY]")]
    assert empty and all("-> 204 |" in t and "content-length: 2" in t for t in empty), texts
    assert all("conformance replay F" in t and "reproduce/F" in t for t in empty)
    console = (reports.parent / "console.txt").read_text(encoding="utf-8")
    assert "evidence F1 [DEL-EMPTY]" in console


def test_the_har_file_is_har_1_2_with_every_exchange_property_tests_included(
        reports: Path) -> None:
    document = json.loads((reports / "exchanges.har").read_text(encoding="utf-8"))
    assert har_problems(document) == []
    entries = document["log"]["entries"]
    summary = json.loads((reports / "summary.json").read_text(encoding="utf-8"))
    assert len(entries) >= summary["requests"] > 100
    generated = [e for e in entries if "test_20_properties" in e.get("pageref", "")]
    assert generated, "the property tests' requests are in the HAR"
    assert all(e["request"]["headers"] and e["response"]["headers"] for e in generated)
    deletes = [e for e in entries if e["request"]["method"] == "DELETE"
               and e["response"]["status"] == 204]
    assert any({"name": "content-length", "value": "2"} in e["response"]["headers"]
               for e in deletes)
    keyed = [h["value"] for e in entries for h in e["request"]["headers"]
             if h["name"].lower() == "x-api-key"]
    assert set(keyed) <= {"$TWELVELABS_API_KEY", "$TWELVELABS_SECOND_API_KEY",
                          "not-a-valid-key"}, set(keyed)


def test_no_file_of_the_run_holds_a_key_though_the_target_echoes_it(reports: Path) -> None:
    har = (reports / "exchanges.har").read_text(encoding="utf-8")
    assert "(x-api-key: $TWELVELABS_API_KEY)" in har  # the target did echo it
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert {"exchanges.har", "findings.json", "F1.sh"} <= {p.name for p in written}
    for path in [*written, reports.parent / "console.txt"]:
        data = path.read_bytes()
        assert KEY.encode() not in data and SECOND.encode() not in data, path


def test_a_pasted_reproduction_shows_the_finding_again(reports: Path) -> None:
    finding = _del_empty(reports, "failed_task_deletes")
    script = finding["script"]
    assert KEY not in script and "$TWELVELABS_API_KEY" in script
    env = {**_environment(), "PYTHON": sys.executable}
    env.pop("TWELVELABS_BASE_URL", None)
    assert shutil.which("curl") is not None
    done = subprocess.run(["bash", "-s"], input=script, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    answer = done.stdout.lower()
    assert "http/1.1 204" in answer and "content-length: 2" in answer, done.stdout
    # The set-up ran: the index, the upload (captured IDs), the wait until failed.
    assert re.search(r"1\. POST \$\{BASE\}/indexes -> 201", done.stderr), done.stderr
    assert "is failed" in done.stderr and "stays" not in done.stderr


def _replay(reports: Path, finding: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return conformance("replay", finding, "--findings", str(reports / "findings.json"),
                       *extra, cwd=reports.parent)


def test_replay_stands_against_the_faulty_target_and_is_gone_against_the_clean_one(
        reports: Path, clean: RunningServer) -> None:
    finding = _del_empty(reports, "failed_task_deletes")
    stands = _replay(reports, finding["id"])
    assert stands.returncode == 1, stands.stdout + stands.stderr
    assert f"{finding['id']} [DEL-EMPTY] stands" in stands.stdout
    gone = _replay(reports, finding["id"], "--base-url", clean.base_url)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert f"{finding['id']} [DEL-EMPTY] gone" in gone.stdout
    assert not (reports / "replay-ledger.json").exists()  # what it made, it deleted
    for done in (stands, gone):
        assert KEY not in done.stdout + done.stderr


def test_replay_names_what_it_needs_and_what_it_cannot_find(reports: Path) -> None:
    unknown = _replay(reports, "F999")
    assert unknown.returncode == 2 and "has no finding F999" in unknown.stdout


@head_start.for_fixture("deletes")
def _deletes(where: Path) -> Iterator[Path]:
    """Task deletes answer 200 {} (DEL-204: the ready task's, once its video is gone) and a
    failed task's delete is refused (DEL-FAILED, judged by the test itself)."""
    server = _serve("delete-200-empty-object", "delete-failed-refused")
    try:
        done = conformance("run", "--base-url", server.base_url, "--profile", "quick", "-m",
                           "deletes", "--report-dir", str(where / "reports"), cwd=where)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        yield where / "reports"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def deletes() -> Iterator[Path]:
    yield from head_start.take(_deletes)


def test_replay_of_a_ready_task_deleted_after_its_video_stands_and_then_is_gone(
        deletes: Path, clean: RunningServer) -> None:
    finding = next(f for f in _findings(deletes)
                   if f["clause"] == "DEL-204" and "video_is_deleted" in f["test"])
    steps = finding["steps"]
    kinds = [(s["kind"], s.get("method"), s.get("status")) for s in steps]
    assert ("wait", None, "ready") in kinds
    video = next(n for n, s in enumerate(steps) if "/videos/" in s.get("url", ""))
    assert steps[video]["url"] == "${BASE}/indexes/${INDEX_1}/videos/${VIDEO_1}"
    assert steps[-1]["role"] == "evidence" and steps[-1]["url"] == "${BASE}/tasks/${TASK_1}"
    stands = _replay(deletes, finding["id"])
    assert stands.returncode == 1 and "stands" in stands.stdout, stands.stdout
    gone = _replay(deletes, finding["id"], "--base-url", clean.base_url)
    assert gone.returncode == 0 and "gone" in gone.stdout, gone.stdout


def test_a_finding_the_test_judged_itself_stands_while_its_answer_is_the_runs(
        deletes: Path, clean: RunningServer) -> None:
    finding = next(f for f in _findings(deletes) if f["clause"] == "DEL-FAILED")
    assert finding["check"]["name"] is None and ("wait", "failed") in [
        (s["kind"], s.get("status")) for s in finding["steps"]]
    stands = _replay(deletes, finding["id"])
    assert stands.returncode == 1, stands.stdout
    assert "answer is the run's again (400 task_cannot_be_deleted)" in stands.stdout
    # The faulty target refuses the failed task's delete, but cleanup removes the replay's
    # index first and the task goes with it: nothing is left, so no ledger stays behind.
    assert not sorted(deletes.glob("replay-ledger*.json")), stands.stdout
    assert "left behind" not in stands.stdout
    gone = _replay(deletes, finding["id"], "--base-url", clean.base_url)
    assert gone.returncode == 0 and "(400 task_cannot_be_deleted then, 204 now)" in gone.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_a_browser_shows_the_evidence_wrapped_within_the_page(reports: Path) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        from report_screenshot import wide_blocks
    finally:
        sys.path.remove(str(SCRIPTS))
    assert wide_blocks(reports / "report.html") == []
