"""tasks-conformance: the contract-test suite for the TwelveLabs v1.3 tasks endpoints."""

from conformance.clauses import CLAUSES, Clause, ContractViolation
from conformance.settings import Secret, Settings, SettingsError, build_settings

__version__ = "0.1.0"

__all__ = [
    "CLAUSES",
    "Clause",
    "ContractViolation",
    "Secret",
    "Settings",
    "SettingsError",
    "__version__",
    "build_settings",
]
