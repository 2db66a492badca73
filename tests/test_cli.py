"""The `conformance` command as a user runs it: a process, its output, its exit code."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import head_start
import pytest
from clean_run import CleanRun

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.run.cli import main

RECOGNISABLE_KEY = "tlk_SECRET_must_never_show_0123456789abcdef"

THROWAWAY_SUITE = '''
import pytest
from conformance.clauses import ContractViolation
from conformance.wire.client import ApiClient
from conformance.run.state import run_state


@pytest.mark.clause("LIST-SHAPE")
@pytest.mark.list
def test_list_answers_200(request):
    state = run_state(request.config)
    client = ApiClient(state.settings.base_url, state.settings.api_key,
                       transcript=state.transcript)
    try:
        assert client.list_tasks(page_limit=1).status_code == 200
    finally:
        client.close()


@pytest.mark.clause("DEL-EMPTY")
def test_violation():
    raise ContractViolation("DEL-EMPTY", "the 204 carried a body")
'''


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _conformance(cwd: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd,
                          env=env or _clean_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "throwaway"
    path.mkdir()
    (path / "test_throwaway.py").write_text(THROWAWAY_SUITE)
    return path


@pytest.fixture
def emulator() -> Iterator[RunningServer]:
    server = start_in_thread(create_app(api_keys=[RECOGNISABLE_KEY]))
    yield server
    server.stop()


def test_an_unknown_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _conformance(tmp_path, "run", "--colour", "blue")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "conformance: unrecognized arguments: --colour blue"]
    assert result.stdout == ""


def test_a_missing_command_and_a_bad_profile_are_usage_errors(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["run", "--profile", "weekly"]) == 2
    assert main(["run", "--clause", "DEL-999", "--base-url", "http://127.0.0.1:9/v1.3",
                 "--api-key", "k"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("conformance") for line in lines)
    assert "unknown clause ID(s) DEL-999" in lines[2]


def test_an_unreadable_deviations_file_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "dev.toml").write_text(
        '[[deviation]]\nclause = "NOPE"\ntarget = "*"\nreason = "r"\n')
    result = _conformance(tmp_path, "run", "--deviations", "dev.toml")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "conformance: deviations file dev.toml, entry 1: unknown clause ID 'NOPE'"]


def test_a_client_adapter_that_cannot_be_imported_is_exit_2_before_any_test(
        tmp_path: Path) -> None:
    result = _conformance(tmp_path, "run", "--client-adapter", "no_such_team_client:factory")
    assert result.returncode == 2
    assert result.stdout == ""  # refused before the embedded emulator started
    assert result.stderr.strip().splitlines() == [
        "conformance: client adapter no_such_team_client:factory: cannot import "
        "no_such_team_client (No module named 'no_such_team_client')"]


def test_an_unreachable_target_exits_3_within_15_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _conformance(tmp_path, "run", "--base-url", "http://127.0.0.1:9/v1.3",
                          "--api-key", "tlk_x", timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "conformance: target unreachable: http://127.0.0.1:9/v1.3: [Errno 111] Connection refused"]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_refused_key_exits_2_with_one_line(tmp_path: Path, emulator: RunningServer) -> None:
    result = _conformance(tmp_path, "run", "--base-url", emulator.base_url,
                          "--api-key", "tlk_wrong_key")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"conformance: the API key (TWELVELABS_API_KEY / --api-key) was refused by "
        f"{emulator.base_url} (401)"]


def test_a_run_with_a_violation_exits_1_and_never_shows_the_key(
        tmp_path: Path, suite: Path, emulator: RunningServer) -> None:
    env = {**_clean_env(), "TWELVELABS_API_KEY": RECOGNISABLE_KEY,
           "TWELVELABS_BASE_URL": emulator.base_url}
    result = _conformance(tmp_path, "run", "--suite", str(suite), "--report-dir", "out",
                          env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed clauses: DEL-EMPTY" in result.stdout
    produced = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert {"junit.xml", "report.html", "summary.json"} <= set(produced)
    for text in [result.stdout, result.stderr,
                 *((tmp_path / "out" / name).read_text() for name in produced)]:
        assert RECOGNISABLE_KEY not in text
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["clauses"]["LIST-SHAPE"]["outcome"] == "passed"
    assert summary["exit_code"] == 1


def test_a_run_with_no_arguments_starts_the_embedded_emulator(
        tmp_path: Path, suite: Path) -> None:
    result = _conformance(tmp_path, "run", "--suite", str(suite), "-k", "list")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("target: embedded emulator at http://127.0.0.1:")
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["target"].startswith("embedded emulator at ")
    assert summary["settings"]["second_api_key"] == "(set)"


@head_start.for_fixture("auth_run")
def _auth_run(root: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    yield _conformance(root, "run", "-k", "test_01_auth")


@pytest.fixture(scope="module")
def auth_run() -> Iterator[subprocess.CompletedProcess[str]]:
    yield from head_start.take(_auth_run)


def test_a_run_names_the_suite_files_from_the_suite_root_not_the_working_directory(
        auth_run: subprocess.CompletedProcess[str]) -> None:
    result = auth_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configfile: conformance/data/conformance-run.ini" in result.stdout
    assert "\nconformance/suite/test_01_auth.py ." in result.stdout
    assert "../" not in result.stdout.split("short test summary")[0]


SLOW_SUITE = '''
import pathlib
import time

import pytest


@pytest.fixture(scope="session")
def resource():
    yield
    pathlib.Path("cleaned").write_text("yes")


@pytest.mark.clause("LIST-SHAPE")
def test_waits(resource):
    pathlib.Path("started").write_text("yes")
    time.sleep(60)
'''


def test_ctrl_c_still_runs_cleanup_and_exits_130(tmp_path: Path) -> None:
    suite = tmp_path / "slow"
    suite.mkdir()
    (suite / "test_slow.py").write_text(SLOW_SUITE)
    process = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--suite", str(suite)],
                               cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, out
    assert (tmp_path / "cleaned").read_text() == "yes"
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["verdict"] == "interrupted"
    assert summary["interrupted"]["signal"] == "SIGINT"
    assert {p.name for p in (tmp_path / "reports").iterdir()} >= {"report.html", "junit.xml"}


@pytest.mark.slow
def test_the_built_in_suite_passes_against_the_embedded_emulator(clean_run: CleanRun) -> None:
    assert clean_run.code == 0, clean_run.output
    summary = clean_run.summary()
    assert summary["verdict"] == "conformant"
    assert summary["counts"]["failed"] == summary["counts"]["error"] == 0
    assert (clean_run.reports / "report.html").is_file()


def test_compare_exits_1_on_a_regression(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps({"clauses": {"DEL-204": {"outcome": "passed"}}}))
    new.write_text(json.dumps({"clauses": {"DEL-204": {"outcome": "failed"}}}))
    assert main(["compare", str(old), str(new)]) == 1
    assert "newly failing" in capsys.readouterr().out
    assert main(["compare", str(new), str(old)]) == 0
    assert main(["compare", str(old), str(tmp_path / "absent.json")]) == 2


STALE = {"summary.json": '{"verdict": "conformant", "exit_code": 0, "clauses": {}}',
         "junit.xml": "<testsuites stale='yes'/>", "report.html": "<p>stale</p>",
         "properties-requests.jsonl": "{}\n", "exchanges.har": "{}", "findings.json": "{}"}


def _plant_stale_reports(where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    for name, text in STALE.items():
        (where / name).write_text(text)


def _reports_say(where: Path, code: int, verdict: str) -> dict[str, Any]:
    """The three reports exist, are this run's, and agree on what happened."""
    for name in ("exchanges.har", "findings.json", "properties-requests.jsonl"):
        assert not (where / name).exists() or (where / name).read_text() != STALE[name], name
    summary = json.loads((where / "summary.json").read_text())
    assert (summary["exit_code"], summary["verdict"]) == (code, verdict), summary["headline"]
    junit = ET.parse(where / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert (props["verdict"], props["exit_code"]) == (verdict, str(code))
    assert props["headline"] == summary["headline"]
    page = (where / "report.html").read_text()
    assert "stale" not in page and f"exit code {code}" in page
    # pytest-html's page (rendered from the summary: no session ran), led by the verdict
    assert 'data-jsonblob="' in page and f'<title id="head-title">{verdict}: ' in page
    assert page.index('id="cf-banner"') < page.index('id="clause-matrix"') < \
        page.index('id="results-table"')
    assert html.escape(summary["headline"].partition(": ")[2]) in page
    return dict(summary)


@pytest.fixture
def gone_emulator() -> Iterator[RunningServer]:
    server = start_in_thread(create_app(api_keys=[RECOGNISABLE_KEY],
                                        variations=["tasks-gone-404"]))
    yield server
    server.stop()


def test_every_early_exit_replaces_the_reports_and_says_what_happened(
        tmp_path: Path, emulator: RunningServer, gone_emulator: RunningServer) -> None:
    """Unreachable target, refused first or second key, endpoints gone, a bad setting and a
    bad option: each exit code, its verdict, and no earlier report left."""
    key = {"TWELVELABS_API_KEY": RECOGNISABLE_KEY}
    cases = [
        ("unreachable", ["--base-url", "http://127.0.0.1:9/v1.3"], key, 3, "could not run",
         "target unreachable: http://127.0.0.1:9/v1.3"),
        ("refused key", ["--base-url", emulator.base_url], {"TWELVELABS_API_KEY": "tlk_no"}, 2,
         "usage or configuration error", "the API key (TWELVELABS_API_KEY / --api-key) was "
         "refused"),
        ("refused second key", ["--base-url", emulator.base_url],
         {**key, "TWELVELABS_SECOND_API_KEY": "tlk_not_an_account"}, 2,
         "usage or configuration error", "the second API key (TWELVELABS_SECOND_API_KEY / "
         "--second-api-key) was refused"),
        ("endpoints gone", ["--base-url", gone_emulator.base_url], key, 4, "endpoints gone",
         "the tasks endpoints are gone"),
        ("bad rate", ["--rate", "-1"], {}, 2, "usage or configuration error",
         "rate must be a positive number"),
        ("bad option", ["--colour", "blue"], {}, 2, "usage or configuration error",
         "unrecognized arguments: --colour blue"),
    ]
    for name, args, env, code, verdict, says in cases:
        where = tmp_path / name.replace(" ", "-")
        _plant_stale_reports(where / "reports")
        result = _conformance(where, "run", *args, env={**_clean_env(), **env})
        assert result.returncode == code, (name, result.stdout + result.stderr)
        assert says in result.stderr, (name, result.stderr)
        summary = _reports_say(where / "reports", code, verdict)
        assert says in summary["headline"], (name, summary["headline"])
        assert summary["clauses_judged"] == 0
        for text in (result.stdout, result.stderr,
                     *(p.read_text() for p in (where / "reports").iterdir())):
            assert RECOGNISABLE_KEY not in text


def test_a_run_that_judges_nothing_is_not_conformant_and_exits_5(
        tmp_path: Path, suite: Path) -> None:
    for name, extra in (("collect-only", ["--", "--collect-only", "-q"]),
                        ("no match", ["-k", "nomatch"])):
        where = tmp_path / name.replace(" ", "-")
        _plant_stale_reports(where / "reports")
        result = _conformance(where, "run", "--suite", str(suite), *extra)
        assert result.returncode == 5, (name, result.stdout + result.stderr)
        summary = _reports_say(where / "reports", 5, "nothing judged")
        assert summary["clauses_judged"] == 0
        assert "verdict: nothing judged" in result.stdout


def test_a_partial_selection_says_how_many_clauses_it_judged(
        tmp_path: Path, suite: Path) -> None:
    result = _conformance(tmp_path, "run", "--suite", str(suite), "-k", "list")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _reports_say(tmp_path / "reports", 0, "conformant")
    assert summary["clauses_judged"] == 1 and summary["clauses_total"] == 22
    assert summary["headline"] == "conformant: 1 of 22 clauses judged"
