"""The conformance document: the clause catalogue, and which suite tests enforce each clause.

The tests are found by collecting the real suite with pytest and reading each test's
``@pytest.mark.clause`` markers, so the document cannot drift from the suite. Collection needs
no target, key or emulator: the conformance plugin (which would resolve and preflight one) is
kept out, and no test runs.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import pytest

import conformance
from conformance.clauses import CLAUSES, Clause
from conformance.subjects import SUBJECTS, Subject

__all__ = ["ClauseDocError", "catalogue_table", "enforcing_tests", "traceability_markdown"]

SUITE = "conformance.suite"
REGENERATE = "conformance clauses --markdown --output docs/clauses.md"
"""The command that rewrites the committed document (named in it and by the staleness test)."""


class ClauseDocError(Exception):
    """The suite could not be collected, or names a clause the catalogue lacks (one line)."""


class _Collector:
    """A pytest plugin that keeps the collected items and the collection errors."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            # The last line of pytest's report names the cause ("E   ModuleNotFoundError: ...").
            lines = [line for line in report.longreprtext.splitlines() if line.strip()]
            cause = re.sub(r"^E\s+", "", lines[-1].strip()) if lines else "collection failed"
            self.errors.append(f"{report.nodeid or 'the suite'}: {cause}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = list(session.items)


def enforcing_tests(suite: str = SUITE) -> dict[str, dict[str, int]]:
    """Clause ID -> the suite's tests carrying it (``file::function``, in collection order)
    -> their number of cases (parametrizations); every catalogued clause is a key."""
    collector = _Collector()
    path = Path(suite)
    if path.exists():
        target, rootdir = [str(path)], (path if path.is_dir() else path.parent)
    else:
        target, rootdir = ["--pyargs", suite], Path(conformance.__file__).resolve().parent.parent
    ini = resources.files("conformance").joinpath("data/conformance-run.ini")
    args = [*target, "--collect-only", "-q", "-p", "no:cacheprovider",
            # Only the plugin resolves a target (embedded emulator, preflight): kept out.
            "-p", "no:conformance.run.plugin",
            # The working directory's pytest configuration is not the suite's (as in `run`).
            "-c", str(ini), "--rootdir", str(rootdir), "--assert=plain",
            # Without the plugin its markers are unregistered; that is all these warn about.
            "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[collector])
    if collector.errors:
        raise ClauseDocError(f"cannot collect {suite}: {collector.errors[0]}")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        last = [line for line in output.getvalue().splitlines() if line.strip()]
        raise ClauseDocError(f"cannot collect {suite}: "
                             f"{last[-1].strip() if last else f'pytest exit code {int(code)}'}")
    return _by_clause(collector.items, suite)


def _by_clause(items: Sequence[pytest.Item], suite: str) -> dict[str, dict[str, int]]:
    cases: dict[str, dict[str, int]] = {cid: {} for cid in CLAUSES}
    for item in items:
        ids = dict.fromkeys(str(cid) for mark in item.iter_markers("clause") for cid in mark.args)
        name = _test_name(item.nodeid)
        for cid in ids:
            if cid not in CLAUSES:
                raise ClauseDocError(f"{item.nodeid}: unknown clause ID {cid!r} in "
                                     f"@pytest.mark.clause ({suite})")
            cases[cid][name] = cases[cid].get(name, 0) + 1
    return cases


def _test_name(nodeid: str) -> str:
    """``conformance/suite/test_04_gone.py::test_x[a]`` -> ``test_04_gone.py::test_x``."""
    file, _, rest = re.sub(r"\[.*\]$", "", nodeid).partition("::")
    return f"{file.rsplit('/', 1)[-1]}::{rest}"


def catalogue_table(clauses: Mapping[str, Clause] = CLAUSES, width: int = 100) -> str:
    """The catalogue as a plain-text table: ID, strictness, source, sentence (wrapped)."""
    rows = [("ID", "STRICTNESS", "SOURCE", "SENTENCE")]
    rows += [(c.id, str(c.strictness), c.source, c.sentence) for c in clauses.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    indent = sum(widths) + 2 * 3
    sentence_width = max(30, width - indent)
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
        wrapped = textwrap.wrap(row[3], sentence_width) or [""]
        lines.append(f"{head}  {wrapped[0]}".rstrip())
        lines += [" " * indent + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


def traceability_markdown(enforcing: Mapping[str, Mapping[str, int]],
                          clauses: Mapping[str, Clause] = CLAUSES,
                          subjects: Mapping[str, Sequence[Subject]] = SUBJECTS) -> str:
    """The committed ``docs/clauses.md``: per clause its sentence, source, strictness and the
    suite tests that enforce it, then the subjects each clause is judged on."""
    lines = [
        "# Conformance clauses",
        "",
        "Every clause of the contract (`contract.md`; catalogue: `conformance/clauses.py`) and",
        "the tests of the suite (`conformance/suite`) that enforce it, read from their",
        "`@pytest.mark.clause` markers. Generated: do not edit by hand; regenerate with",
        "",
        f"    {REGENERATE}",
        "",
        "Strictness: *strict* allows one answer; *lenient* accepts every answer the contract",
        "allows; *advisory* is never a failure by itself.",
        "",
        "| clause | sentence | source | strictness | enforced by |",
        "|---|---|---|---|---|",
    ]
    for clause in clauses.values():
        tests = enforcing.get(clause.id, {})
        cell = "<br>".join(f"`{test}`" + (f" ({n} cases)" if n > 1 else "")
                           for test, n in tests.items()) or "**no test**"
        lines.append(f"| `{clause.id}` | {_cell(clause.sentence)} | {_cell(clause.source)} | "
                     f"{clause.strictness} | {cell} |")
    unenforced = [cid for cid in clauses if not enforcing.get(cid)]
    if unenforced:
        lines += ["", f"Not enforced by any test: {', '.join(unenforced)}."]
    lines += _subject_lines(clauses, subjects)
    return "\n".join(lines) + "\n"


def _subject_lines(clauses: Mapping[str, Clause],
                   subjects: Mapping[str, Sequence[Subject]]) -> list[str]:
    lines = [
        "",
        "## Subjects",
        "",
        "Each clause holds for every subject it names, not for one example; the run reports",
        "per clause the subjects it judged, and those it could not (`conformance/subjects.py`).",
        "",
    ]
    for cid in clauses:
        lines.append(f"- `{cid}`")
        for entry in subjects.get(cid, ()):
            items = "; ".join(entry.items) if entry.items else entry.each
            when = f" (only {entry.when})" if entry.when else ""
            lines.append(f"  - {entry.head}: {items}{when}")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
