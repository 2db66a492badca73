"""The pool provisions subjects that can tell a right answer from a wrong one, and the probe
keeps the contract's race rule; against the real emulator on a loopback port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.emulator import create_app
from conformance.emulator.server import RunningServer, start_in_thread
from conformance.resources import media
from conformance.resources.errors import SubjectDestroyed
from conformance.resources.isolation import ForeignTries, foreign_tries
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.probe import UNFINISHED, probe_unfinished
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import sort_cannot_tell, take_survey
from conformance.resources.watch import Watch
from conformance.settings import Secret, Settings
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript

KEY, SECOND = "tlk_pool_subjects_key_7f3a", "tlk_pool_subjects_other_9c1e"


class Target:
    """An emulator with some faults, a client of each account, and the run's pieces."""

    def __init__(self, tmp_path: Path, faults: tuple[str, ...] = (),
                 mutant: str | None = None) -> None:
        # Half the emulator's pace: a task stays unfinished long enough to be caught even on
        # a loaded machine.
        self.server: RunningServer = start_in_thread(create_app(
            api_keys=(KEY, SECOND), faults=faults, mutant=mutant, time_scale=0.5))
        self.settings = Settings(base_url=self.server.base_url, api_key=Secret(KEY),
                                 second_api_key=Secret(SECOND), report_dir=tmp_path,
                                 wait_timeout=15.0)
        self.api = ApiClient(self.server.base_url, Secret(KEY), transcript=Transcript())
        self.stranger = self.api.with_key(Secret(SECOND), label="second").unchecked()
        self.watch = Watch(self.api.unchecked().retrieve_task)
        self.api.observe(self.watch.observe)
        self.provisioner = Provisioner(self.api, self.settings,
                                       Ledger.for_settings(self.settings), watch=self.watch)

    def pool(self) -> Pool:
        return Pool(self.api, self.provisioner, self.watch, self.settings,
                    stranger=self.stranger)

    def index(self) -> str:
        return str(self.api.create_index("conformance-pool-test").json()["_id"])

    def task(self, index: str, kind: str) -> str:
        video = media.sample_video() if kind == "ready" else media.undecodable_bytes()
        return str(self.api.create_task(index, video_file=("t.mp4", video)).json()["_id"])

    def close(self) -> None:
        self.api.close()
        self.server.stop()


@pytest.fixture
def target(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Target]:
    made = Target(tmp_path, tuple(getattr(request, "param", ())))
    yield made
    made.close()


def _probe(target: Target, kind: str, **options: Any) -> Any:
    task_id = target.task(target.index(), kind)
    return probe_unfinished(target.api.unchecked(), task_id, bound=kind, interval=0.02,
                            deadline=time.monotonic() + 10, **options)


def test_a_task_bound_for_failed_is_judged_at_its_unfinished_status_and_refused(
        target: Target) -> None:
    found = _probe(target, "failed")
    assert found.statuses_judged == ["validating"]
    assert all(a.response.status_code == 400 for a in found.judged)
    assert found.refused and not found.removed


@pytest.mark.parametrize("target", [("delete-pending-accepted",)], indirect=True)
def test_an_accepted_delete_of_a_task_bound_for_failed_is_a_race_not_a_verdict(
        target: Target) -> None:
    # It may have failed between the reads, and a failed task is rightly deleted.
    found = _probe(target, "failed")
    assert not found.judged and found.raced == ["validating"]
    assert "a race" in found.stopped


@pytest.mark.parametrize("target", [("delete-pending-accepted",)], indirect=True)
def test_an_accepted_delete_of_a_task_bound_for_ready_is_judged(target: Target) -> None:
    found = _probe(target, "ready")
    assert found.removed and found.judged[-1].response.status_code == 204


@pytest.mark.parametrize("target", [("refused-delete-removes-failing-task",)], indirect=True)
def test_a_refusal_that_removed_the_task_is_judged_whatever_it_was_bound_for(
        target: Target) -> None:
    found = _probe(target, "failed")
    assert found.removed and found.judged[-1].response.status_code == 400


def test_another_account_tries_the_unfinished_task_once_and_its_owner_reads_it_after(
        target: Target) -> None:
    index = target.index()
    task_id = target.task(index, "ready")
    calls: list[ForeignTries] = []

    def stranger(before: dict[str, Any]) -> ForeignTries:
        tries = foreign_tries(target.stranger, lambda: target.api.retrieve_task(task_id),
                              "unfinished", before, index_id=index, video_id=None)
        calls.append(tries)
        return tries

    found = probe_unfinished(target.api.unchecked(), task_id, interval=0.02,
                             deadline=time.monotonic() + 10, stranger=stranger)
    assert len(calls) == 1 and found.stranger is calls[0]
    assert {r.status_code for r in calls[0].answers.values()} <= {200, 404}
    assert calls[0].after is not None and calls[0].after.status_code == 200


def test_the_pool_holds_tasks_every_filter_and_sort_can_be_judged_on(target: Target) -> None:
    pool = target.pool()
    survey = take_survey(target.api, pool, Listing(100))
    assert pool.second_index is not None and not pool.missing
    assert {k.status for k in survey.known} == {"ready", "failed"}
    for query in survey.queries:
        assert query.left_out, f"{query.name}: nothing of the run to leave out"
        assert not query.missed, query.missed
    assert [q.key for q in survey.queries if not q.shown] == ["second-ready"]
    for sort_by in ("created_at", "updated_at"):
        assert sort_cannot_tell(survey.known_in(pool.index_id), sort_by) is None
    assert survey.filename.works, survey.filename.why
    assert pool.unfinished is not None and pool.unfinished.stranger is not None


@pytest.mark.parametrize("target", [("list-status-filter-drops-failed",)], indirect=True)
def test_a_filter_that_drops_matching_tasks_is_caught_by_recall(target: Target) -> None:
    survey = take_survey(target.api, target.pool(), Listing(100))
    missed = {q.key for q in survey.queries if q.missed}
    assert missed == {"status-failed", "run-failed", "run-both", "run-failed-queued",
                      "second-failed"}


@pytest.mark.parametrize("target", [("refused-delete-fails-task",)], indirect=True)
def test_a_refused_delete_that_made_the_task_fail_is_a_finding_not_a_provisioning_error(
        target: Target) -> None:
    pool = target.pool()
    assert pool.damaged == ["probe"]
    with pytest.raises(SubjectDestroyed) as raised:
        pool["probe"]
    assert raised.value.clause_id == "DEL-TERMINAL-ONLY"


def test_the_probe_lists_by_each_unfinished_status_it_reads_and_by_the_ones_beside_it(
        target: Target) -> None:
    found = _probe(target, "ready")
    assert found.by_status and {look.status for look in found.by_status} <= \
        set(found.statuses_judged)
    for look in found.by_status:
        place = UNFINISHED.index(look.status)
        beside = [s for s in UNFINISHED[max(place - 1, 0):place + 2] if s != look.status]
        asked = [params for params, _ in look.lists]
        assert asked[:2] == [{"status": look.status},
                             {"status": look.status, "index_id": look.index_id}]
        assert [p["status"] for p in asked[2:]] == beside
        for params, answer in look.lists:
            # It shows under its own status, and under no other.
            assert look.shows(answer) is (params["status"] == look.status), params
        assert look.again is None


def test_a_status_filter_that_leaves_out_the_task_at_that_status_is_read_again(
        tmp_path: Path) -> None:
    broken = Target(tmp_path, mutant="matches.drops-all.status=pending")
    try:
        found = _probe(broken, "ready")
    finally:
        broken.close()
    look = next(look for look in found.by_status if look.status == "pending")
    own = [answer for params, answer in look.lists if params["status"] == "pending"]
    assert [look.shows(answer) for answer in own] == [False, False]
    assert look.still  # it read pending after the lists too: the miss counts
