"""Fixtures of the conformance suite: clients per key, the watch, the provisioner, the shared
pool and the delete scenario (their classes live in the package; tests take fixtures by name).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from conformance import checks
from conformance.clientlib import ClientAdapter, open_adapter
from conformance.clientlib.adapter import library_available
from conformance.clientlib.checks import Outcome, call, label
from conformance.resources.deletions import Deletions, delete_the_documented_way
from conformance.resources.ledger import Ledger
from conformance.resources.media import served_sample
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import Survey, take_survey
from conformance.resources.watch import Watch
from conformance.run.state import RunState, Subjects, run_state
from conformance.settings import Secret, Settings
from conformance.wire.client import ApiClient
from conformance.wire.transcript import Transcript


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
                       rate=settings.effective_rate,
                       answer_checks=(checks.answer_is_not_a_server_error,
                                      checks.error_answer_has_envelope))
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
def watch(api: ApiClient) -> Watch:
    """Every delete the run sends, whichever key, is logged; the run's tasks are read again
    after each successful one (DEL-ONLY-THAT)."""
    found = Watch(api.unchecked().retrieve_task)
    api.observe(found.observe)
    return found


@pytest.fixture(scope="session")
def provisioner(state: RunState, api: ApiClient, settings: Settings, ledger: Ledger,
                watch: Watch) -> Iterator[Provisioner]:
    """Creates through the public API only; everything it made is removed at session end
    (pytest tears session fixtures down after failures and Ctrl-C as well)."""
    made = Provisioner(api, settings, ledger, progress=state.progress, watch=watch)
    state.provisioner = made
    try:
        yield made
    finally:
        watch.close()  # cleanup's own deletes are no subject of DEL-ONLY-THAT
        state.notes.append(f"watch: {watch.summary()}")
        state.cleanup_problems.extend(made.cleanup())


@pytest.fixture(scope="session")
def stranger(api: ApiClient, settings: Settings) -> ApiClient | None:
    """The second account, unchecked (None without a second key): the tests judge its answers."""
    if settings.second_api_key is None:
        return None
    return api.with_key(settings.second_api_key, label="second").unchecked()


@pytest.fixture(scope="session")
def pool(api: ApiClient, provisioner: Provisioner, watch: Watch, settings: Settings,
         state: RunState, stranger: ApiClient | None, request: pytest.FixtureRequest) -> Pool:
    """The shared tasks. When client tests are selected, the client library gets its try at
    deleting the probe task while it is unfinished, in the same indexing time; another
    account, when one is configured, gets its tries at it too."""
    also = None
    if library_available(settings.client_adapter) and any(
            item.get_closest_marker("client") for item in request.session.items):
        adapter: ClientAdapter = request.getfixturevalue("client_adapter")
        transcript = state.transcript

        def also(task_id: str) -> Outcome:
            return call(adapter, transcript, adapter.delete_task, task_id)

    return Pool(api, provisioner, watch, settings, progress=state.progress, also=also,
                stranger=stranger)


@pytest.fixture(scope="session")
def client_adapter(api: ApiClient, settings: Settings, state: RunState,
                   pytestconfig: pytest.Config) -> Iterator[ClientAdapter]:
    """The client library under test (the official SDK unless an adapter is configured)."""
    assert settings.api_key is not None, "the plugin resolves the key before tests run"
    adapter = open_adapter(settings.client_adapter, api, settings.api_key)
    name = label(adapter)
    # The report names the client: console/HTML summary and summary.json notes, the HTML
    # environment table, and each client test's JUnit properties.
    state.notes.append(f"client under test: {name}")
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        pass
    else:
        metadata = pytestconfig.stash.get(metadata_key, None)
        if metadata is not None:
            metadata["Client under test"] = name
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture(scope="session")
def survey(api: ApiClient, pool: Pool, listing: Listing) -> Survey:
    """Every filter, sort and page walk of the list tests, read while all the pool's tasks
    exist: the tests that delete or might depend on it, so it comes first."""
    return take_survey(api, pool, listing)


@pytest.fixture(scope="session")
def deletions(api: ApiClient, pool: Pool, provisioner: Provisioner, stranger: ApiClient | None,
              listing: Listing, survey: Survey) -> Deletions:
    """Delete the failed task directly, and the ready one the documented way (refused while
    its video exists, video deleted, task deleted), with a second account's tries in between
    when one is configured, and every view of each deleted task read right after."""
    return delete_the_documented_way(api, pool, provisioner, stranger, listing)


@pytest.fixture(scope="session")
def run_index(pool: Pool) -> str:
    """The index this run's tasks live in; list checks stay inside it."""
    return pool.index_id


@pytest.fixture(scope="session")
def served_video_url(settings: Settings) -> Iterator[str | None]:
    """On a loopback target under relaxed rules, the sample served from this machine at a URL
    the target can fetch (up until the run ends: a target may fetch it later); None elsewhere
    (a remote target cannot reach it)."""
    if not settings.relaxed:
        yield None
        return
    with served_sample() as url:
        yield url


@pytest.fixture(scope="session")
def listing(settings: Settings) -> Listing:
    return Listing(settings.page_budget)


@pytest.fixture(scope="session")
def judged(state: RunState) -> Subjects:
    """Where tests say what they judged each clause on (the report's "subjects judged")."""
    return state.subjects
