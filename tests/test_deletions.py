"""The delete scenario's reads around its actions: a refusal that damaged its ready task is
DEL-VIDEO-FIRST's wherever it was sent, and a subject whose final status did not stay is no
subject (TASK-LIFECYCLE); against the real emulator on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.resources.changes import DeleteSent, video_delete_misreads
from conformance.resources.deletions import as_it_was, first_refusal
from conformance.resources.errors import SubjectDestroyed
from conformance.resources.ledger import Ledger
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import Watch
from conformance.settings import Secret, Settings
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY = "tlk_deletions_key_51d0"


class Run:
    def __init__(self, tmp_path: Path, mutant: str | None) -> None:
        self.server: RunningServer = start_in_thread(create_app(api_keys=(KEY,), mutant=mutant,
                                                                time_scale=0.5))
        settings = Settings(base_url=self.server.base_url, api_key=Secret(KEY),
                            report_dir=tmp_path, wait_timeout=15.0)
        self.api = ApiClient(self.server.base_url, Secret(KEY), transcript=Transcript())
        self.watch = Watch(self.api.unchecked().retrieve_task)
        self.api.observe(self.watch.observe)
        self.provisioner = Provisioner(self.api, settings, Ledger.for_settings(settings),
                                       watch=self.watch)
        self.pool = Pool(self.api, self.provisioner, self.watch, settings)

    def close(self) -> None:
        self.api.close()
        self.server.stop()


@pytest.fixture
def run(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Run]:
    made = Run(tmp_path, getattr(request, "param", None))
    yield made
    made.close()


@pytest.mark.parametrize("run", ["delete_effects.refused-but-video-deleted.ready-with-video"],
                         indirect=True)
def test_a_refusal_that_took_its_video_destroys_the_task_for_del_video_first(run: Run) -> None:
    raw = run.api.unchecked()
    refused, after, again = first_refusal(raw, run.pool, run.provisioner, "doomed_ready")
    assert refused.status_code == 400 and after.status_code == 200
    assert again is not None and again.status_code == 204  # the video went with the refusal
    with pytest.raises(SubjectDestroyed) as destroyed:
        run.pool["doomed_ready"]
    assert destroyed.value.clause_id == "DEL-VIDEO-FIRST"
    sent = len(run.api.transcript)
    assert first_refusal(raw, run.pool, run.provisioner, "doomed_ready") == (refused, after,
                                                                            again)
    assert len(run.api.transcript) == sent  # sent once, whoever asks again
    # Bracketed: the scenario's tasks were read right before and after it.
    assert [d.bracketed for d in run.watch.deletes[-2:]] == [True, True]


def test_a_subject_whose_final_status_did_not_stay_is_no_subject(run: Run) -> None:
    raw = run.api.unchecked()
    body = as_it_was(run.pool, "doomed_failed", raw)
    assert body["status"] == "failed"
    changed = httpx.Response(200, json={**body, "status": "ready"})
    with pytest.raises(SubjectDestroyed) as destroyed:
        as_it_was(run.pool, "doomed_failed", raw, changed)
    assert destroyed.value.clause_id == "TASK-LIFECYCLE"
    assert not run.pool.usable("doomed_failed")


def _sent(kind: str, target: str, status: int) -> DeleteSent:
    return DeleteSent(kind, target, status, f"DELETE {kind} {target} -> {status}")


def test_a_video_delete_s_404_right_after_its_ready_task_was_refused_misreads_videos() -> None:
    ready = {"v1": "t1", "v2": "t2"}
    refused, gone = _sent("task", "t1", 400), _sent("video", "v1", 404)
    assert video_delete_misreads([refused, _sent("task", "x", 401), gone], ready) is not None
    # Something in between could have removed the video: the 404 may be true.
    for between in (_sent("task", "t3", 204), _sent("task", "t2", 400),
                    _sent("video", "v1", 401)):
        assert video_delete_misreads([refused, between, gone], ready) is None
    assert video_delete_misreads([gone], ready) is None  # no refusal said it was there
    assert video_delete_misreads([refused, _sent("video", "v1", 204)], ready) is None
