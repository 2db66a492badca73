"""The subject matrix (conformance/subjects.py): every clause has subjects, the suite records
only subjects the matrix names, and a clean run judges every one of them; the list checks that
judge the new subjects pass a right answer and fail a wrong one."""

from __future__ import annotations

from typing import Any

import pytest
from clean_run import CleanRun

from conformance import checks
from conformance.clauses import CLAUSES, ContractViolation
from conformance.resources.survey import Known, sort_cannot_tell
from conformance.subjects import SUBJECTS, subject, subjects


def test_every_clause_of_the_catalogue_has_subjects_and_none_is_unknown() -> None:
    assert list(SUBJECTS) == list(CLAUSES)
    for clause_id in CLAUSES:
        assert subjects(clause_id), clause_id
        for entry in subjects(clause_id):
            assert entry.items is None or entry.items, entry
            assert entry.items is not None or entry.each, f"{clause_id}: say what is judged"
            for item in entry.items or ():
                assert subject(clause_id, entry.head, item) == f"{entry.head}: {item}"


def test_a_subject_the_matrix_does_not_name_is_refused() -> None:
    with pytest.raises(KeyError, match="AUTH-REQUIRED has no subject"):
        subject("AUTH-REQUIRED", "a padded key", "create task")
    with pytest.raises(KeyError):
        subject("TENANT-ISOLATION", "retrieve", "deleted")
    # Open-ended subjects take what the target shows.
    assert subject("DEL-TERMINAL-ONLY", "bound for ready", "queued") == "bound for ready: queued"


def _judged(lines: list[str]) -> dict[str, set[str]]:
    """The report's "head: item, item" lines back into heads and items."""
    found: dict[str, set[str]] = {}
    for line in lines:
        head, _, items = line.partition(": ")
        found.setdefault(head, set()).update(items.split(", ") if items else [])
    return found


@pytest.mark.slow
def test_a_clean_run_against_the_embedded_emulator_judges_every_subject_of_the_matrix(
        clean_run: CleanRun) -> None:
    assert clean_run.code == 0, clean_run.output
    summary = clean_run.summary()
    missing = []
    for clause_id, entries in SUBJECTS.items():
        judged = _judged(summary["clauses"][clause_id]["subjects_judged"])
        for entry in entries:
            if entry.when:
                continue  # only a target that offers the precondition can show it
            items = judged.get(entry.head, set())
            wanted = set(entry.items) if entry.items is not None else set()
            if (entry.items is None and not items) or wanted - items:
                missing.append(f"{clause_id}: {entry.head}: {sorted(wanted - items) or '...'}")
    assert not missing, "subjects of the matrix no test of a clean run judged:\n" + \
        "\n".join(missing)


# --- the checks of the new subjects ---------------------------------------------------------

def _page(ids: list[str], page: int = 1, **items: Any) -> dict[str, Any]:
    return {"data": [{"_id": i, **items} for i in ids],
            "page_info": {"page": page, "limit_per_page": 2, "total_page": 1,
                          "total_results": len(ids)}}


def test_a_page_is_the_page_asked_for() -> None:
    checks.page_number_is_the_one_asked(_page(["a"], page=3), 3)
    with pytest.raises(ContractViolation) as caught:
        checks.page_number_is_the_one_asked(_page(["a"], page=1), 3)
    assert caught.value.clause_id == "LIST-PAGING"
    assert "expected page_info.page 3" in caught.value.message


def test_a_filtered_list_must_leave_out_the_run_s_tasks_that_do_not_match() -> None:
    checks.filtered_list_leaves_out([_page(["a", "b"])], {"c"}, "the list by status failed")
    with pytest.raises(ContractViolation) as caught:
        checks.filtered_list_leaves_out([_page(["a"]), _page(["c"], page=2)], {"c"},
                                        "the list by status failed")
    assert caught.value.clause_id == "LIST-FILTER-SORT"
    assert "page 2 shows ['c']" in caught.value.message


def test_a_filtered_list_must_show_every_task_of_the_run_that_matches() -> None:
    checks.filtered_list_shows_every_match({}, "the list by status failed")
    with pytest.raises(ContractViolation) as caught:
        checks.filtered_list_shows_every_match({"t1": "it still exists as failed"},
                                               "the list by status failed")
    assert caught.value.clause_id == "LIST-FILTER-SORT"
    assert "left out task t1 (it still exists as failed)" in caught.value.message


def _known(created: str, updated: str) -> Known:
    return Known("r", created + updated, "i", "ready", f"2026-01-01T00:00:0{created}Z",
                 f"2026-01-01T00:00:0{updated}Z", None)


def test_a_sort_is_judged_only_on_tasks_that_can_tell_it_from_a_wrong_one() -> None:
    # Made in order 1, 2, 3; the second finished first: updated_at order differs.
    telling = [_known("1", "5"), _known("2", "3"), _known("3", "6")]
    assert sort_cannot_tell(telling, "updated_at") is None
    assert sort_cannot_tell(telling, "created_at") is None
    # Finished in the order they were made: a created_at answer passes for updated_at.
    same = [_known("1", "4"), _known("2", "5")]
    assert "no task to tell them apart" in str(sort_cannot_tell(same, "updated_at"))
    assert "no two tasks" in str(sort_cannot_tell([_known("1", "4")], "created_at"))


def test_an_empty_filtered_set_may_count_no_page_or_one() -> None:
    empty = _page([])
    for total_page in (0, 1):
        empty["page_info"]["total_page"] = total_page
        assert checks.pages_partition_the_set([empty], 2, set()) == []
    empty["page_info"]["total_page"] = 2
    with pytest.raises(ContractViolation):
        checks.pages_partition_the_set([empty], 2, set())
