"""The generated mutants: enough of them, each declaring clauses of the contract, each served
by name, and each changing what a client can see (the scripted walk of scenario.py differs
from the clean emulator's), so none is a mutant nobody could ever kill."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from scenario import transcript

from conformance.clauses import CLAUSES
from conformance.emulator import MUTANTS, create_app
from conformance.emulator.__main__ import main

ALL_ENV = "CONFORMANCE_ALL_MUTANTS"
SAMPLE = 24
"""Mutants walked in a normal test run (half a second each); $CONFORMANCE_ALL_MUTANTS=1 walks
every one (about three minutes)."""


def _walked() -> list[str]:
    if os.environ.get(ALL_ENV) == "1":
        return sorted(MUTANTS)
    return sorted(random.Random(len(MUTANTS)).sample(sorted(MUTANTS), SAMPLE))


def test_there_are_at_least_150_mutants_over_every_clause_but_rate_limit() -> None:
    assert len(MUTANTS) >= 150
    declared = Counter(c for m in MUTANTS.values() for c in m.clauses)
    assert set(declared) <= set(CLAUSES)
    assert set(CLAUSES) - set(declared) == {"RATE-LIMIT"}


def test_each_mutant_names_its_rule_kind_and_subject() -> None:
    for name, mutant in MUTANTS.items():
        assert name.startswith(f"{mutant.rule}.") and mutant.patches and mutant.description
        assert all(patch.rule in name or patch.rule for patch in mutant.patches)


def test_the_walk_sees_the_same_twice_on_the_clean_emulator() -> None:
    assert transcript() == transcript()


@pytest.fixture(scope="module")
def clean() -> list[str]:
    return transcript()


@pytest.mark.parametrize("name", _walked())
def test_each_mutant_changes_what_a_client_sees(clean: list[str], name: str) -> None:
    assert transcript(mutant=name) != clean


def test_a_mutant_is_served_by_name_and_an_unknown_one_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    create_app(mutant=next(iter(MUTANTS)))
    with pytest.raises(ValueError, match="unknown mutant"):
        create_app(mutant="no.such.mutant")
    assert main(["--mutant", "no.such.mutant"]) == 2
    assert main(["--list-mutants"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(MUTANTS) + 1 and listed[0].startswith("MUTANT")
