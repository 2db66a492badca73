"""Settings precedence, validation and secrecy."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.settings import PROFILES, Secret, SettingsError, build_settings


def test_option_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "conformance.toml"
    config.write_text('[conformance]\nprofile = "quick"\nindex_id = "from-file"\nrate = 3\n')
    env = {"CONFORMANCE_PROFILE": "nightly", "CONFORMANCE_INDEX_ID": "from-env"}
    settings = build_settings({"index_id": "from-option"}, env, config)
    assert settings.index_id == "from-option"
    assert settings.profile is PROFILES["nightly"]
    assert settings.rate == 3.0


def test_a_base_url_without_a_key_is_a_usage_error() -> None:
    with pytest.raises(SettingsError, match="no API key"):
        build_settings({"base_url": "https://api.example.test/v1.3"}, {})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"profile": "weekly"}, "unknown profile"),
        ({"base_url": "ftp://example.test"}, "must start with http:// or https://"),
        ({"base_url": "api.twelvelabs.io/v1.3"},
         "did you mean https://api.twelvelabs.io/v1.3"),
        ({"base_url": "http://127.0.0.1:99999/v1.3"}, "port must be a number from 1 to 65535"),
        ({"base_url": "http://127.0.0.1:0/v1.3"}, "port must be a number from 1 to 65535"),
        ({"base_url": "https://api.twelvelabs.io"}, "has no version prefix: add it, e.g. "
         "https://api.twelvelabs.io/v1.3"),
        ({"base_url": "https://api.twelvelabs.io/v1.3?x=1"}, "must not carry a query"),
        ({"seed": "abc"}, "not a valid value"),
        ({"wait_timeout": "0"}, "must be a positive number of seconds"),
        ({"time_budget": "nan"}, "must be a positive number of seconds"),
        ({"rate": "-1"}, "rate must be a positive number of requests per second"),
        ({"rate": "inf"}, "rate must be a positive number of requests per second"),
        ({"colour": "blue"}, "unknown setting"),
    ],
)
def test_bad_values_are_refused_with_one_readable_message(options: dict, message: str) -> None:
    if "base_url" in options:
        options = {**options, "api_key": "k"}
    with pytest.raises(SettingsError) as refused:
        build_settings(options, {})
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_rate_of_zero_means_no_limit() -> None:
    settings = build_settings({"rate": "0", "base_url": "https://api.example.test/v1.3",
                               "api_key": "k"}, {})
    assert settings.effective_rate is None


def test_an_unreadable_config_file_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("profile = [unclosed")
    with pytest.raises(SettingsError, match="cannot be read"):
        build_settings({}, {}, broken)
    with pytest.raises(SettingsError, match="does not exist"):
        build_settings({}, {}, tmp_path / "missing.toml")


def test_keys_never_show_in_repr_or_redacted_view() -> None:
    key = "tlk-SECRET-1234567890"
    settings = build_settings(
        {"base_url": "https://api.example.test/v1.3"},
        {"TWELVELABS_API_KEY": key, "TWELVELABS_SECOND_API_KEY": key + "-b"},
    )
    assert settings.api_key == Secret(key)
    assert key not in repr(settings)
    assert key not in str(settings.redacted())
    assert settings.redacted()["api_key"] == "(set)"


def test_remote_targets_are_paced_and_budgeted_tightly() -> None:
    remote = build_settings({"base_url": "https://api.example.test/v1.3", "api_key": "k",
                             "profile": "nightly"}, {})
    local = build_settings({"base_url": "http://127.0.0.1:9/v1.3", "api_key": "k",
                            "profile": "nightly"}, {})
    assert remote.effective_rate is not None and local.effective_rate is None
    assert remote.task_budget == 8
    assert local.task_budget > remote.task_budget


def test_a_derandomized_profile_has_a_fixed_seed_and_a_given_seed_wins() -> None:
    assert build_settings({"profile": "ci"}, {}).effective_seed == 0
    assert build_settings({"profile": "nightly", "seed": "42"}, {}).effective_seed == 42
