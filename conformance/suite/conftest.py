"""Fixtures of the conformance suite: clients per key, the provisioner, and the shared pool.

The pool creates the tasks most tests need once, all at the same time, and waits for them
together, so a target that takes minutes to index costs one indexing time per run.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.client import ApiClient, Transcript
from conformance.plugin import RunState, run_state
from conformance.provisioning import Ledger, Provisioner, ProvisioningError
from conformance.settings import Secret, Settings

# role -> the final status its task is made for; the doomed ones are deleted by the suite.
POOL_ROLES = {"shared_ready": "ready", "doomed_ready": "ready", "doomed_failed": "failed"}


@pytest.fixture(scope="session")
def state(pytestconfig: pytest.Config) -> RunState:
    return run_state(pytestconfig)


@pytest.fixture(scope="session")
def settings(state: RunState) -> Settings:
    return state.settings


@pytest.fixture(scope="session")
def transcript(state: RunState) -> Transcript:
    transcript: Transcript = state.transcript
    return transcript


@pytest.fixture(scope="session")
def api(state: RunState, settings: Settings, transcript: Transcript) -> Iterator[ApiClient]:
    """The primary account, checked: NO-5XX and ERR-ENVELOPE hold on every answer."""
    assert settings.base_url is not None, "the plugin resolves the target before tests run"
    client = ApiClient(settings.base_url, settings.api_key, transcript=transcript,
                       rate=settings.effective_rate)
    state.clients.append(client)
    yield client
    client.close()


@pytest.fixture(scope="session")
def anonymous_api(api: ApiClient) -> ApiClient:
    return api.with_key(None)


@pytest.fixture(scope="session")
def invalid_key_api(api: ApiClient) -> ApiClient:
    # A fresh random key cannot belong to any account.
    return api.with_key(Secret("conformance-invalid-" + secrets.token_hex(16)), label="invalid")


@pytest.fixture(scope="session")
def second_api(api: ApiClient, settings: Settings) -> ApiClient:
    if settings.second_api_key is None:
        pytest.skip("disabled: no second API key configured")
    return api.with_key(settings.second_api_key, label="second")


@pytest.fixture(scope="session")
def ledger(settings: Settings) -> Ledger:
    return Ledger.for_settings(settings)


@pytest.fixture(scope="session")
def provisioner(state: RunState, api: ApiClient, settings: Settings,
                ledger: Ledger) -> Iterator[Provisioner]:
    """Creates through the public API only; everything it made is removed at session end
    (pytest tears session fixtures down after failures and Ctrl-C as well)."""
    made = Provisioner(api, settings, ledger, progress=state.progress)
    state.provisioner = made
    try:
        yield made
    finally:
        state.cleanup_problems.extend(made.cleanup())


@dataclass
class PoolTask:
    role: str
    kind: str
    task_id: str
    video_id: str
    index_id: str
    create_answer: httpx.Response
    final: dict[str, Any]
    reads: list[str] = field(default_factory=list)
    """Statuses the tests read after provisioning, in order."""
    deleted: bool = False
    destroyed_by: str | None = None
    """The clause whose violation destroyed the task (None: the suite deleted it itself)."""


class Pool:
    """The run's shared tasks: ``shared_ready`` is read-only, the doomed ones get deleted."""

    def __init__(self, api: ApiClient, provisioner: Provisioner) -> None:
        self._api = api
        self._provisioner = provisioner
        self._lock = threading.Lock()
        # Sent one after another (cheap), then waited for together (the slow part).
        started = {role: provisioner.start_task(kind)  # type: ignore[arg-type]
                   for role, kind in POOL_ROLES.items()}
        finals = provisioner.wait_final(list(started.values()))
        self.tasks: dict[str, PoolTask] = {}
        for role, created in started.items():
            final = finals[created.task_id]
            # A create answer without video_id is judged by CREATE-OK; the task has one.
            video_id = created.video_id or final.get("video_id")
            if not isinstance(video_id, str):
                raise ProvisioningError(f"task {created.task_id} has no video_id, neither in "
                                        "its create answer nor in the task object")
            self.tasks[role] = PoolTask(role, POOL_ROLES[role], created.task_id, video_id,
                                        created.index_id, created.response, final)

    def __getitem__(self, role: str) -> PoolTask:
        task = self.tasks[role]
        if task.deleted:
            raise ProvisioningError(f"the pool's {role} task {self.gone_reason(role)}")
        return task

    def destroyed(self, role: str, clause_id: str) -> None:
        """An answer that broke ``clause_id`` destroyed this task: later tests that needed it
        report an error citing that clause, not a failure of their own."""
        with self._lock:
            task = self.tasks[role]
            task.deleted = True
            task.destroyed_by = task.destroyed_by or clause_id

    def gone_reason(self, role: str) -> str:
        """Why a deleted pool task is gone, as the end of a sentence about it."""
        clause_id = self.tasks[role].destroyed_by
        if clause_id is not None:
            return (f"was destroyed by an earlier answer that broke {clause_id}; nothing "
                    f"left to judge here (see {clause_id})")
        return "was already deleted by an earlier test; run the suite in its file order"

    @property
    def index_id(self) -> str:
        return self.tasks["shared_ready"].index_id

    def read(self, role: str, api: ApiClient | None = None) -> httpx.Response:
        """Retrieve a pool task and remember the status seen, for the lifecycle check."""
        task = self.tasks[role]
        response = (api or self._api).retrieve_task(task.task_id)
        body = _json(response)
        if response.status_code == 200 and isinstance(body, dict) and "status" in body:
            with self._lock:
                task.reads.append(str(body["status"]))
        return response

    def history(self, role: str) -> list[str]:
        """Every status seen of this task: provisioning's polls, then the tests' reads."""
        task = self.tasks[role]
        return [*self._provisioner.observed_statuses(task.task_id), *task.reads]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@pytest.fixture(scope="session")
def pool(api: ApiClient, provisioner: Provisioner) -> Pool:
    return Pool(api, provisioner)


@dataclass
class Deletions:
    """The suite's successful-delete scenario, run once and judged by several tests."""

    failed_task: PoolTask
    ready_task: PoolTask
    failed_delete: httpx.Response | None
    """None when the failed task was gone before its delete; ``failed_gone`` says why."""
    failed_gone: str | None
    ready_refused: httpx.Response
    ready_after_refusal: httpx.Response
    video_delete: httpx.Response
    ready_delete: httpx.Response
    deleted: dict[str, PoolTask]
    """The tasks whose delete answered 2xx: the subjects of the gone-for-good tests."""


@pytest.fixture(scope="session")
def deletions(api: ApiClient, pool: Pool, provisioner: Provisioner) -> Deletions:
    """Delete the failed task directly, and the ready one the documented way: refused while
    its video exists, then video deleted, then task deleted. Unchecked answers are judged by
    the tests (the checked client would stop the scenario at the first surprise)."""
    raw = api.unchecked()
    failed, ready = pool.tasks["doomed_failed"], pool["doomed_ready"]
    failed_delete, failed_gone = None, None
    if failed.deleted:
        failed_gone = pool.gone_reason("doomed_failed")
    elif (read := pool.read("doomed_failed", raw)).status_code == 200:
        failed_delete = raw.delete_task(failed.task_id)
    else:
        failed_gone = f"could not be read before its delete (answered {read.status_code})"
    pool.read("doomed_ready")
    refused = raw.delete_task(ready.task_id)
    after = pool.read("doomed_ready", raw)
    video = raw.delete_video(ready.index_id, ready.video_id)
    ready_delete = raw.delete_task(ready.task_id)
    deleted = {}
    if refused.is_success:
        pool.destroyed("doomed_ready", "DEL-VIDEO-FIRST")
    for task, response in ((failed, failed_delete), (ready, refused), (ready, ready_delete)):
        if response is not None and response.is_success:
            task.deleted = True
            deleted[task.role] = task
            provisioner.note_deleted("task", task.task_id)
    if video.status_code == 204:
        provisioner.note_deleted("video", ready.video_id)
    return Deletions(failed, ready, failed_delete, failed_gone, refused, after, video,
                     ready_delete, deleted)


@pytest.fixture(scope="session")
def run_index(pool: Pool) -> str:
    """The index this run's tasks live in; list checks stay inside it."""
    return pool.index_id


MAX_PAGES = 20
"""Pages walked at most per listing: a live account's list can be long (budget: issue 6)."""


def walk_pages(client: ApiClient, limit: int = 50, **params: Any) -> list[httpx.Response]:
    """Every page of a listing, in order, up to the first empty or unreadable page."""
    pages = []
    for number in range(1, MAX_PAGES + 1):
        response = client.list_tasks(page=number, page_limit=limit, **params)
        pages.append(response)
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("data"):
            break
        info = body.get("page_info") or {}
        if isinstance(info.get("total_page"), int) and number >= info["total_page"]:
            break
    return pages


def listed(client: ApiClient, **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, read leniently: for tests that use the list to see what
    exists (the list's own shape is judged by the list tests alone)."""
    bodies = []
    for response in walk_pages(client, **params):
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict) \
                or not isinstance(body.get("data"), list):
            raise ProvisioningError(f"could not read the task list: GET /tasks {params} "
                                    f"answered {response.status_code}")
        bodies.append({"data": [i for i in body["data"] if isinstance(i, dict)]})
    return bodies


def listed_ids(client: ApiClient, **params: Any) -> set[str]:
    return {str(i.get("_id")) for body in listed(client, **params) for i in body["data"]}


class Listing:
    """The list helpers, for tests (which do not import from conftest)."""

    pages = staticmethod(walk_pages)
    bodies = staticmethod(listed)
    ids = staticmethod(listed_ids)


@pytest.fixture(scope="session")
def listing() -> Listing:
    return Listing()
