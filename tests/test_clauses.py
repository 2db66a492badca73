"""The clause catalogue agrees with the contract, and the package's public surface stays small."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conformance
from conformance.clauses import CLAUSES, ContractViolation

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract.md"


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared contract is not beside this checkout")
def test_the_catalogue_holds_exactly_the_contracts_clause_ids() -> None:
    table = CONTRACT.read_text(encoding="utf-8").split("## Clauses", 1)[1]
    ids = set(re.findall(r"^\| ([A-Z0-9]+(?:-[A-Z0-9]+)+) \|", table, flags=re.MULTILINE))
    assert ids == set(CLAUSES)


def test_a_violation_names_its_clause_and_refuses_unknown_ids() -> None:
    violation = ContractViolation("DEL-204", "expected 204, got 200", reproduce="curl ...")
    assert violation.clause_id == "DEL-204"
    assert str(violation).startswith("[DEL-204] expected 204")
    assert "reproduce: curl" in str(violation)
    with pytest.raises(KeyError, match="unknown clause"):
        ContractViolation("DEL-999", "nothing")


def test_the_public_surface_is_small_and_sorted() -> None:
    assert conformance.__all__ == sorted(conformance.__all__)
    assert len(conformance.__all__) <= 15
    for name in conformance.__all__:
        assert hasattr(conformance, name)
