"""Mutants generated from the named decisions: rule x subject x kind of mutation."""

from __future__ import annotations

from typing import NamedTuple

from conformance.emulator.rules import Patch


class Mutant(NamedTuple):
    name: str
    clauses: tuple[str, ...]
    description: str
    patches: tuple[Patch, ...]


MUTANTS: dict[str, Mutant] = {}
