"""`conformance clauses`: the catalogue as a table, and docs/clauses.md collected from the
suite's clause markers (committed, and kept current by the first test here)."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import head_start
import pytest

from conformance.clauses import CLAUSES
from conformance.run import cli
from conformance.run.clausedoc import (
    REGENERATE,
    ClauseDocError,
    catalogue_table,
    enforcing_tests,
    traceability_markdown,
)

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "docs" / "clauses.md"


@head_start.for_fixture("generated")
def _generated(root: Path) -> Iterator[subprocess.CompletedProcess[str]]:
    # A target nothing listens on, and no key: collecting the suite must not need either.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWELVELABS_", "CONFORMANCE_"))}
    env["TWELVELABS_BASE_URL"] = "http://127.0.0.1:9/v1.3"
    yield subprocess.run([sys.executable, "-m", "conformance", "clauses", "--markdown"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=120,
                         check=False)


@pytest.fixture(scope="module")
def generated() -> Iterator[subprocess.CompletedProcess[str]]:
    yield from head_start.take(_generated)


def test_the_committed_document_is_what_the_suite_says_now(
        generated: subprocess.CompletedProcess[str]) -> None:
    done = generated
    assert done.returncode == 0, done.stdout + done.stderr
    committed = COMMITTED.read_text(encoding="utf-8")
    if done.stdout != committed:
        diff = "".join(list(difflib.unified_diff(
            committed.splitlines(keepends=True), done.stdout.splitlines(keepends=True),
            "docs/clauses.md (committed)", "generated now", n=0))[:40])
        pytest.fail(f"docs/clauses.md is stale; regenerate it from the checkout with\n"
                    f"    {REGENERATE}\n{diff}", pytrace=False)


def test_every_catalogued_clause_has_a_row_and_the_suite_s_tests_are_named() -> None:
    rows = [line for line in COMMITTED.read_text().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(CLAUSES)
    delete_204 = next(row for row in rows if row.startswith("| `DEL-204` |"))
    assert "`test_03_delete_success.py::test_a_failed_task_deletes_with_204_and_no_body`" \
        in delete_204


THROWAWAY = '''
import pytest

pytestmark = pytest.mark.clause("DEL-GONE")


@pytest.mark.clause("DEL-204", "DEL-EMPTY")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_deletes(n):
    pass


@pytest.mark.clause("DEL-204")
def test_again():
    pass


def test_module_mark_only():
    pass
'''


def test_tests_are_gathered_per_clause_with_parametrizations_folded(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_throwaway_doc=THROWAWAY)
    found = enforcing_tests(str(pytester.path))
    assert set(found) == set(CLAUSES)
    assert found["DEL-204"] == {"test_throwaway_doc.py::test_deletes": 3,
                                "test_throwaway_doc.py::test_again": 1}
    assert found["DEL-EMPTY"] == {"test_throwaway_doc.py::test_deletes": 3}
    assert list(found["DEL-GONE"]) == ["test_throwaway_doc.py::test_deletes",
                                       "test_throwaway_doc.py::test_again",
                                       "test_throwaway_doc.py::test_module_mark_only"]
    assert found["AUTH-REQUIRED"] == {}


def test_an_unknown_clause_id_is_refused_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unknown_doc='''
import pytest

@pytest.mark.clause("DEL-NOPE")
def test_x():
    pass
''')
    with pytest.raises(ClauseDocError, match="unknown clause ID 'DEL-NOPE'") as raised:
        enforcing_tests(str(pytester.path))
    assert "\n" not in str(raised.value)


def test_a_suite_that_cannot_be_collected_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken_doc="import no_such_module_anywhere\n")
    expected = r"cannot collect .*: ModuleNotFoundError: .*no_such_module"
    with pytest.raises(ClauseDocError, match=expected) as raised:
        enforcing_tests(str(pytester.path))
    assert "\n" not in str(raised.value)


def test_the_markdown_names_tests_counts_cases_and_flags_clauses_without_tests() -> None:
    text = traceability_markdown({"DEL-204": {"test_a.py::test_x": 1, "test_b.py::test_y": 7}})
    row = next(line for line in text.splitlines() if line.startswith("| `DEL-204` |"))
    assert row == ("| `DEL-204` | A successful delete answers exactly 204 No Content. | "
                   "DELETE-PAGE | strict | `test_a.py::test_x`<br>`test_b.py::test_y` (7 cases) |")
    assert "| `DEL-EMPTY` |" in text and "**no test**" in text
    assert REGENERATE in text
    assert any(line.startswith("Not enforced by any test: DEL-EMPTY, ")
               for line in text.splitlines())


def test_the_catalogue_table_has_every_clause_and_fits_the_width() -> None:
    lines = catalogue_table().splitlines()
    assert lines[0].split() == ["ID", "STRICTNESS", "SOURCE", "SENTENCE"]
    starts = [line.split()[0] for line in lines[1:] if not line.startswith(" ")]
    assert starts == list(CLAUSES)
    assert max(len(line) for line in lines) <= 100
    assert "advisory" in next(line for line in lines if line.startswith("RATE-LIMIT "))


def test_the_command_prints_the_table_or_writes_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["clauses"]) == 0
    assert capsys.readouterr().out == catalogue_table()
    out = tmp_path / "table.txt"
    assert cli.main(["clauses", "--output", str(out)]) == 0
    assert out.read_text() == catalogue_table()
    assert cli.main(["clauses", "--output", str(tmp_path / "missing" / "x.md")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("conformance: cannot write ") and error.count("\n") == 1
