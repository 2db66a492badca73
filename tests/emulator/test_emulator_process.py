"""The emulator as a running thing: persistence, control plane, loopback, process, official SDK."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import MODELS, SAMPLE, Api, InProcess

from conformance.emulator import DEFAULT_API_KEY, create_app
from conformance.emulator.lifecycle import Clock
from conformance.emulator.server import RunningServer, start_in_thread

KEY = {"x-api-key": DEFAULT_API_KEY}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = start_in_thread(create_app())
    yield running
    running.stop()


def test_state_and_schedules_survive_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    clock = Clock.manual(start=1_800_000_000.0)
    first = InProcess(create_app(data_dir=tmp_path, clock=clock))
    api = Api(first, clock)
    index = api.create_index()
    ready, failed = api.task(index), api.task(index, "failed")
    clock.advance(0.5)
    before = api.retrieve(ready["_id"]).json()
    first.close()

    later = Clock.manual(start=1_800_000_000.5)
    second = InProcess(create_app(data_dir=tmp_path, clock=later))
    again = Api(second, later)
    assert again.retrieve(ready["_id"]).json() == before
    later.advance(2)
    assert again.status(ready["_id"]) == "ready" and again.status(failed["_id"]) == "failed"
    assert again.delete(failed["_id"]).status_code == 204
    assert again.delete_video(index, ready["video_id"]).status_code == 204
    second.close()

    third = InProcess(create_app(data_dir=tmp_path, clock=later))
    final = Api(third, later)
    assert final.retrieve(failed["_id"]).status_code == 404
    assert final.delete(ready["_id"]).status_code == 204  # the video deletion was kept
    assert final.list().json()["page_info"]["total_results"] == 0
    third.close()


def test_the_control_plane_reports_health_moves_the_clock_and_resets(api: Api,
                                                                     index: str) -> None:
    task = api.task(index)
    health = api.http.request("GET", "/_emulator/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    moved = api.http.request("POST", "/_emulator/clock", json={"advance": 10})
    assert moved.status_code == 200 and api.status(task["_id"]) == "ready"
    assert api.http.request("POST", "/_emulator/clock", json={"scale": 2}).json()["scale"] == 2
    bad: object
    for bad in ({"advance": -1}, {"advance": "x"}, {"speed": 1}, []):
        assert api.http.request("POST", "/_emulator/clock", json=bad).status_code == 400
    assert api.http.request("POST", "/_emulator/reset").status_code == 200
    assert api.retrieve(task["_id"]).status_code == 404


def test_a_loopback_server_serves_the_sample_to_ready(server: RunningServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1.3"
    with httpx.Client(base_url=server.base_url + "/", headers=KEY, timeout=10) as client:
        index = client.post("indexes", json={"index_name": "loop", "models": MODELS}).json()
        created = client.post("tasks", data={"index_id": index["_id"]},
                              files={"video_file": ("sample.mp4", SAMPLE, "video/mp4")}).json()
        deadline = time.monotonic() + 10
        while (body := client.get(f"tasks/{created['_id']}").json())["status"] != "ready":
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        assert body["system_metadata"] == {"filename": "sample.mp4", "duration": 5.0,
                                           "width": 480, "height": 360}
        assert client.delete(f"tasks/{created['_id']}").status_code == 400


def test_the_module_runs_prints_its_url_and_stops_cleanly_on_sigint() -> None:
    started = time.monotonic()
    with subprocess.Popen(
            [sys.executable, "-m", "conformance.emulator", "--port", "0", "--api-key", "k-one"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline().strip()
            assert time.monotonic() - started < 2.5
            assert line.startswith("emulator ready at http://127.0.0.1:")
            assert line.endswith("/v1.3")
            answer = httpx.get(line.split()[-1] + "/tasks", headers={"x-api-key": "k-one"})
            assert answer.status_code == 200
            process.send_signal(signal.SIGINT)
            assert process.wait(10) == 0
            assert "k-one" not in process.stdout.read() + process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()


@pytest.mark.parametrize("argv", [["--fault", "nope"], ["--port", "x"], ["--time-scale", "0"],
                                  ["--port", "70000"], ["--bogus"], ["--latency", "-1"],
                                  ["--latency", "soon"], ["--latency", "nan"]])
def test_bad_flags_give_one_line_and_exit_2(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.emulator.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("conformance emulator: error:")


def test_a_bad_rate_limit_period_gives_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.emulator.__main__ import main
    from conformance.emulator.variations import RATE_LIMIT_ENV

    monkeypatch.setenv(RATE_LIMIT_ENV, "often")
    assert main(["--variation", "rate-limit", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and RATE_LIMIT_ENV in err


def test_a_bad_latency_in_the_environment_gives_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.emulator.__main__ import main
    from conformance.emulator.context import LATENCY_ENV

    monkeypatch.setenv(LATENCY_ENV, "a while")
    assert main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and LATENCY_ENV in err


def test_the_catalogues_are_listed_as_tables(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.emulator.__main__ import main

    assert main(["--list-faults"]) == 0
    out = capsys.readouterr().out
    assert "delete-pending-accepted" in out and "DEL-TERMINAL-ONLY" in out
    assert main(["--list-variations"]) == 0
    out = capsys.readouterr().out
    assert "rate-limit-bodiless" in out and "tasks-gone-410" in out


def test_the_official_sdk_drives_the_emulator_end_to_end(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    from twelvelabs import TwelveLabs
    from twelvelabs.core.api_error import ApiError
    from twelvelabs.errors import BadRequestError

    monkeypatch.delenv("TWELVELABS_BASE_URL", raising=False)
    transport = httpx.Client(timeout=10)
    request.addfinalizer(transport.close)
    client = TwelveLabs(api_key=DEFAULT_API_KEY, base_url=server.base_url, httpx_client=transport)
    index = client.indexes.create(index_name="sdk", models=MODELS)  # type: ignore[arg-type]
    assert index.id is not None
    tasks: Any = client.tasks  # the wrapper's wait_for_done and None-returning deletes
    ready = client.tasks.create(index_id=index.id, video_file=("sample.mp4", SAMPLE))
    failed = client.tasks.create(index_id=index.id, video_file=("broken.mp4", b"\x00" * 64))
    assert ready.id and failed.id and ready.video_id
    done = tasks.wait_for_done(ready.id, sleep_interval=0.1)
    assert done.status == "ready" and tasks.wait_for_done(
        failed.id, sleep_interval=0.1).status == "failed"
    listed = [task.id for task in client.tasks.list(page_limit=1)]
    assert listed == [failed.id, ready.id]
    with pytest.raises(BadRequestError) as refused:
        tasks.delete(ready.id)
    assert refused.value.body["code"] == "task_cannot_be_deleted"
    videos: Any = client.indexes.videos
    assert videos.delete(index.id, ready.video_id) is None
    assert tasks.delete(ready.id) is None
    assert tasks.delete(failed.id) is None
    with pytest.raises(ApiError) as gone:
        client.tasks.retrieve(ready.id)
    assert gone.value.status_code == 404
    assert "TWELVELABS_BASE_URL" not in os.environ
