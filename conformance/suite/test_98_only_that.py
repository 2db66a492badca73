"""DEL-ONLY-THAT: a delete changes only what it names.

The run's watch (``conformance.resources.watch``) logged every delete the run sent and read the
scenarios' tasks again after each successful one, comparing every documented field. Here, at
the end, every task of the run still expected to exist is read once more, looked for in its
index's list (which must show what retrieve shows, and still show a task it showed before a
delete), and the videos of its ready tasks are deleted: each must still be there to delete.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.resources.changes import Finding, video_delete_misreads
from conformance.resources.cleanup import is_gone
from conformance.resources.pages import Listing
from conformance.resources.provisioning import Provisioner
from conformance.resources.watch import Watch
from conformance.run.state import Subjects
from conformance.subjects import subject
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.deletes, pytest.mark.clause("DEL-ONLY-THAT")]


def _fail_on(findings: list[Finding]) -> None:
    if findings:
        shown = " | ".join(f.sentence() for f in findings[:4])
        more = f" | and {len(findings) - 4} more" if len(findings) > 4 else ""
        raise ContractViolation(
            "DEL-ONLY-THAT", f"{len(findings)} task(s) of the run changed without the run "
            f"deleting them: {shown}{more}", reproduce=findings[0].reproduce)


def test_no_task_of_the_run_vanishes_or_changes_unless_a_delete_named_it(
        watch: Watch, api: ApiClient, listing: Listing, judged: Subjects) -> None:
    watch.check(everything=True)
    live = [t for t in watch.live() if t.seen_alive]
    for index_id in dict.fromkeys(t.index_id for t in live if t.index_id):
        walk = listing.walk(api.unchecked(), index_id=index_id)
        if not walk.complete or len(walk.bodies()) < len(walk.responses) \
                or checks.unreadable_items(walk.bodies(), ("_id",)) is not None:
            judged.partly("DEL-ONLY-THAT", f"index {index_id}'s list was not read whole "
                          f"({walk.extent()}): presence judged by retrieve only")
            continue
        items = {str(item.get("_id")): (item, page)
                 for page, body in zip(walk.responses, walk.bodies(), strict=False)
                 for item in body["data"]}
        for task in live:
            if task.index_id != index_id or watch.expected_gone(task.task_id):
                continue
            if task.task_id in items:
                watch.listed(task.task_id, *items[task.task_id])
            elif watch.missing_from_list(task.task_id, walk.responses[0]) is None \
                    and task.listed_after is None:
                # Never shown by that view: the filter's recall (LIST-FILTER-SORT's), no loss.
                judged.partly("DEL-ONLY-THAT", f"task {task.task_id}: its index's list never "
                              "showed it, so its absence there is not judged here")
    judged.add("DEL-ONLY-THAT", f"{watch.summary()}; every live task read again, its fields "
               "compared, and looked for in its index's list")
    judged.add("DEL-ONLY-THAT", subject("DEL-ONLY-THAT", "after every successful delete",
                                        "the run's other tasks read again"))
    judged.add("DEL-ONLY-THAT", subject("DEL-ONLY-THAT", "at the end of the run",
                                        "every live task read and listed"))
    _fail_on(watch.findings)


def test_every_video_the_run_did_not_delete_is_still_there_to_delete(
        watch: Watch, api: ApiClient, provisioner: Provisioner, judged: Subjects) -> None:
    raw = api.unchecked()
    before = len(watch.findings)
    # A target seen answering 404 to the delete of a video that was there cannot show with
    # the same answer that a video is gone: those probes are left unjudged.
    misread = video_delete_misreads(watch.deletes, {
        t.video_id: t.task_id for t in watch.live() if t.video_id and t.status == "ready"})
    kept = [t for t in watch.live() if t.status == "ready" and t.video_id
            and t.index_id and not watch.video_deleted(t.video_id)]
    unjudged = []
    for task in kept:
        assert task.video_id is not None and task.index_id is not None
        response = raw.delete_video(task.index_id, task.video_id)
        if response.is_success:
            provisioner.note_deleted("video", task.video_id)
        elif is_gone(response) and misread is not None:
            unjudged.append(task.video_id)
        elif is_gone(response):
            watch.video_vanished(task.task_id, response)
    text = subject("DEL-ONLY-THAT", "at the end of the run", "every video the run did not delete")
    if unjudged:
        why = f"the delete of video(s) {', '.join(unjudged)} answered 404, but {misread}"
        if len(unjudged) == len(kept):
            judged.not_judged("DEL-ONLY-THAT", text, why)
            pytest.skip(f"not judged: {why}")
        judged.partly("DEL-ONLY-THAT", why)
    judged.add("DEL-ONLY-THAT", f"videos of {len(kept)} ready task(s) still there at the end")
    judged.add("DEL-ONLY-THAT", text)
    _fail_on(watch.findings[before:])
