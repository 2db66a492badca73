"""The deviations file: loading, validation, matching by target and expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conformance.run.deviations import DeviationsError, load_deviations
from conformance.settings import SettingsError

TODAY = dt.date(2026, 6, 1)


def _toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "deviations.toml"
    path.write_text(body)
    return path


def test_a_toml_entry_excuses_its_clause_on_a_matching_target(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[deviation]]\nclause = "DEL-204"\ntarget = "https://*.example.test/*"\n'
                           'reason = "answers 200 since the spec drift"\nexpires = 2026-12-31\n')
    deviations = load_deviations(path)
    entry = deviations.match("DEL-204", "https://api.example.test/v1.3", TODAY)
    assert entry is not None
    assert entry.reason == "answers 200 since the spec drift"
    assert entry.expires == dt.date(2026, 12, 31)
    assert deviations.match("DEL-EMPTY", "https://api.example.test/v1.3", TODAY) is None
    assert deviations.match("DEL-204", "http://127.0.0.1:8000/v1.3", TODAY) is None


def test_a_yaml_entry_with_a_regex_target_matches_by_search(tmp_path: Path) -> None:
    path = tmp_path / "deviations.yaml"
    path.write_text("deviation:\n  - clause: LIST-PAGING\n    target: '^http://127\\.0\\.0\\.1:'\n"
                    "    reason: pages overlap\n    expires: '2026-07-01'\n")
    deviations = load_deviations(path)
    assert deviations.match("LIST-PAGING", "http://127.0.0.1:9999/v1.3", TODAY) is not None
    assert deviations.match("LIST-PAGING", "http://localhost:9999/v1.3", TODAY) is None


def test_an_expired_entry_stops_hiding_the_failure(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[deviation]]\nclause = "DEL-204"\ntarget = "*"\nreason = "r"\n'
                           'expires = 2026-05-31\n')
    deviations = load_deviations(path)
    assert deviations.match("DEL-204", "http://x.test/v1.3", TODAY) is None
    assert deviations.match("DEL-204", "http://x.test/v1.3", dt.date(2026, 5, 31)) is not None
    assert [e.clause for e in deviations.for_target("http://x.test/v1.3")] == ["DEL-204"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[deviation]]\nclause = "DEL-999"\ntarget = "*"\nreason = "r"\n', "unknown clause ID"),
        ('[[deviation]]\nclause = "DEL-204"\ntarget = "*"\n', "'reason' must be"),
        ('[[deviation]]\nclause = "DEL-204"\ntarget = "^("\nreason = "r"\n', "not a valid regex"),
        ('[[deviation]]\nclause = "DEL-204"\ntarget = "*"\nreason = "r"\nexpires = "soon"\n',
         "is not a date"),
        ('[[deviation]]\nclause = "DEL-204"\ntarget = "*"\nreason = "r"\nowner = "me"\n',
         "unknown field"),
        ("[[deviation]\n", "is not valid"),
    ],
)
def test_a_bad_deviations_file_is_one_configuration_error(
        tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(DeviationsError, match=message) as caught:
        load_deviations(_toml(tmp_path, body))
    assert isinstance(caught.value, SettingsError)
    assert "\n" not in str(caught.value)


def test_a_missing_deviations_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(DeviationsError, match="cannot be read"):
        load_deviations(tmp_path / "absent.toml")
