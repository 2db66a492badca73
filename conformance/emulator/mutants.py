"""Mutants generated from the named decisions (rules.py): rule x subject x kind of mutation.

Each mutant patches one decision for one subject, the way a hand-written fault does, and
declares the clauses of contract.md it breaks: only behaviour a clause states (a filter no
clause names, such as ``duration``, is no mutation point). ``MUTANTS`` is the catalogue,
``conformance emulator --list-mutants`` prints it and ``--mutant NAME`` serves one.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.emulator import mutant_acts, mutant_reads
from conformance.emulator.mutant_acts import Mutant

FAMILIES = (mutant_acts.callers, mutant_acts.reaches, mutant_acts.deletions,
            mutant_acts.effects, mutant_acts.missing_ids, mutant_acts.malformed_ids,
            mutant_acts.videos, mutant_acts.creates, mutant_reads.views_after_delete,
            mutant_reads.delete_answers, mutant_reads.fields, mutant_reads.lifecycles,
            mutant_reads.filters, mutant_reads.pages, mutant_reads.envelopes)


def catalogue(families: Iterable = FAMILIES) -> dict[str, Mutant]:
    """Every generated mutant by name (``rule.kind.subject``); names are unique."""
    found: dict[str, Mutant] = {}
    for family in families:
        for mutant in family():
            if mutant.name in found:
                raise ValueError(f"two mutants named {mutant.name}")
            found[mutant.name] = mutant
    return found


MUTANTS: dict[str, Mutant] = catalogue()
