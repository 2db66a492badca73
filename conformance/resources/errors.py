"""The errors that mean "the suite could not bring the target into the state a test needs".

They are harness outcomes (exit 3), never clause failures; a test that raises one is
reported as an error with its message.
"""

from __future__ import annotations

__all__ = ["BudgetExceeded", "ProvisioningError", "SubjectDestroyed"]


class ProvisioningError(Exception):
    """The suite could not bring the target into the state a test needs: an error, exit 3."""


class BudgetExceeded(ProvisioningError):
    """Creating one more resource would exceed the run's task or upload budget."""


class SubjectDestroyed(ProvisioningError):
    """A test's subject is gone because an earlier answer broke ``clause_id``: nothing is left
    to judge here, and the message points at that clause."""

    def __init__(self, message: str, clause_id: str) -> None:
        super().__init__(message)
        self.clause_id = clause_id
