"""Another account's tries at the owner's tasks (TENANT-ISOLATION), in each state the owner's
task goes through: unfinished (while the probe runs), ready with its video, ready without it,
failed. Each try is sent, then the owner reads the task again; the tests judge both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources.cleanup import FINAL, answer_json, is_gone
from conformance.wire.client import ApiClient

__all__ = ["OPERATIONS", "ForeignTries", "foreign_tries"]

OPERATIONS = ("retrieve", "list", "list by the owner's index_id", "delete video",
              "delete task")
"""In the order they are sent: reads first; the video before the task, so that a video
delete that wrongly worked still shows in the owner's refusal of the task's delete."""


@dataclass
class ForeignTries:
    """Another account's requests about one of the owner's tasks in one state, and the
    owner's reads around them."""

    state: str
    task_id: str
    before: dict[str, Any]
    """The task as its owner read it just before."""
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    after: httpx.Response | None = None
    """The owner's read after the tries (None: not read)."""
    unjudged: str | None = None
    """Why the state itself could not be judged (the task left it during the tries); the
    answers are judged all the same: a 4xx is due in every state."""
    video_check: httpx.Response | None = None
    """For a ready task whose video must have survived: the owner's delete of the task right
    after, which must still be refused (400) for the video's sake."""

    @property
    def removed(self) -> bool:
        return self.after is not None and is_gone(self.after)


def foreign_tries(outsider: ApiClient, owner_read: Callable[[], httpx.Response | None],
                  state: str,
                  before: dict[str, Any], *, index_id: str,
                  video_id: str | None) -> ForeignTries:
    """Send every operation of ``OPERATIONS`` with ``outsider`` (unchecked: the tests judge)
    about the task ``before`` shows, then read it as its owner."""
    task_id = str(before.get("_id"))
    found = ForeignTries(state, task_id, before)
    found.answers["retrieve"] = outsider.retrieve_task(task_id)
    # Newest first by default: a task the owner just made would lead the page.
    found.answers["list"] = outsider.list_tasks(page_limit=50)
    found.answers["list by the owner's index_id"] = outsider.list_tasks(index_id=index_id,
                                                                        page_limit=50)
    if video_id is not None:
        found.answers["delete video"] = outsider.delete_video(index_id, video_id)
    found.answers["delete task"] = outsider.delete_task(task_id)
    found.after = owner_read()
    if found.after is None:
        found.unjudged = "its owner could not read the task after the tries (see DEL-ONLY-THAT)"
    elif state == "unfinished":
        status = answer_json(found.after).get("status") if found.after.status_code == 200 \
            else None
        if status in FINAL:
            found.unjudged = f"the task became {status} during the tries"
    return found
