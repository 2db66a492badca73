"""AUTH-REQUIRED: without a key, or with an invalid one, every operation answers 401 and
changes nothing.

Invalid keys include keys that merely resemble the valid one (with a suffix, without its last
character, in another case); a key padded with spaces is the same key (surrounding whitespace
is not part of a header value), so it is not tried. The trials are run once per key kind
(``conformance.resources.auth``); each test judges one operation's answer and what it changed.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.properties.strategies import IMPOSSIBLE_PREFIX
from conformance.resources.auth import KEY_KINDS, AuthTrials, KeyTrial
from conformance.resources.ledger import Ledger
from conformance.resources.pages import Listing
from conformance.resources.pool import Pool
from conformance.resources.provisioning import Provisioner
from conformance.resources.survey import Survey
from conformance.run.state import Subjects
from conformance.settings import Settings
from conformance.subjects import AUTH_OPERATIONS, subject
from conformance.wire.client import ApiClient

pytestmark = [pytest.mark.auth, pytest.mark.clause("AUTH-REQUIRED")]

# IDs no account can hold, for operations whose accidental success would destroy data the
# suite did not create (an index given with --index-id) or make stray resources.
NEVER_ISSUED = IMPOSSIBLE_PREFIX + "0c0ffee0c0ffee00"


@pytest.fixture(scope="module")
def trials(api: ApiClient, settings: Settings, pool: Pool, survey: Survey,
           provisioner: Provisioner, ledger: Ledger, listing: Listing,
           stranger: ApiClient | None) -> AuthTrials:
    assert settings.api_key is not None, "the plugin resolves the key before tests run"
    return AuthTrials(api, settings.api_key, pool, survey, provisioner, ledger, listing,
                      stranger, NEVER_ISSUED)


def _trial(trials: AuthTrials, key: str, judged: Subjects, operation: str) -> KeyTrial:
    trial = trials.trial(key)
    if trial.skipped is not None:
        judged.not_judged("AUTH-REQUIRED", subject("AUTH-REQUIRED", KEY_KINDS[key], operation),
                          trial.skipped)
        pytest.skip(f"not judged: {trial.skipped}")
    return trial


@pytest.mark.parametrize("operation", AUTH_OPERATIONS)
@pytest.mark.parametrize("key", list(KEY_KINDS))
def test_every_operation_without_a_valid_key_answers_401_and_changes_nothing(
        key: str, operation: str, trials: AuthTrials, judged: Subjects) -> None:
    trial = _trial(trials, key, judged, operation)
    response = trial.answers[operation]
    checks.answer_is_not_a_server_error(response)
    checks.answer_is_unauthorized(response)
    change = trial.changed.get(operation)
    if change is not None:
        raise ContractViolation(
            "AUTH-REQUIRED", f"{operation} with {KEY_KINDS[key]} answered "
            f"{response.status_code} but changed the account: {change}",
            reproduce=checks.reproduce_line(response))
    if operation in trial.unlooked:
        judged.partly("AUTH-REQUIRED", f"{KEY_KINDS[key]}: {operation} was judged by its "
                      f"answer only: {trial.unlooked[operation]}")
    judged.add("AUTH-REQUIRED", subject("AUTH-REQUIRED", KEY_KINDS[key], operation))


@pytest.mark.parametrize("key", list(KEY_KINDS))
def test_nothing_of_the_account_changed_after_the_requests_with_a_key_that_is_not_valid(
        key: str, trials: AuthTrials, judged: Subjects) -> None:
    trial = _trial(trials, key, judged, "create task")
    if trial.unexplained:
        sent = ", ".join(f"{op} ({r.status_code})" for op, r in trial.answers.items())
        raise ContractViolation(
            "AUTH-REQUIRED", f"after the requests with {KEY_KINDS[key]} ({sent}), the account "
            f"changed: {'; '.join(trial.unexplained)}",
            reproduce=checks.reproduce_line(next(iter(trial.answers.values()))))
