"""Every setting is checked when it is read: a bad one is one line naming the variable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from simbiosia_pipeline.settings import (
    ConfigurationError,
    Settings,
    SourceMode,
    check_credentials,
    record_sandbox_start,
)

CREDENTIALS = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token-for-tests",
    "ELEVENLABS_API_KEY": "sk_key_for_tests",
}


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as failure:
        Settings.from_env(env)
    message = str(failure.value)
    assert "\n" not in message
    return message


def test_defaults_need_no_variable(tmp_path):
    settings = Settings.from_env({"SIMBIOSIA_HOME": str(tmp_path)})
    assert settings.source is SourceMode.SANDBOX
    # the sandbox's history: the last days, so a fresh demo's partitions are all loaded
    assert settings.start_date == datetime.now(UTC).date() - timedelta(days=3)
    assert settings.settle_max_age == timedelta(hours=48)
    assert settings.elevenlabs_concurrency == 8
    assert settings.twilio_base_url is None and settings.alert_webhook_url is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SIMBIOSIA_SOURCE", "prod", "is not one of: sandbox, live"),
        ("SIMBIOSIA_START_DATE", "0001-01-01", "must be between 2008-01-01 and today"),
        ("SIMBIOSIA_START_DATE", "2999-01-01", "must be between 2008-01-01 and today"),
        ("SIMBIOSIA_START_DATE", "yesterday", "is not a date"),
        ("SIMBIOSIA_SETTLE_MAX_AGE", "5000000d", "must be between 1h and 3660d"),
        ("SIMBIOSIA_SETTLE_MAX_AGE", "1e400", "is not a duration"),
        ("SIMBIOSIA_SETTLE_MAX_AGE", "0", "must be between 1h and 3660d"),
        ("SIMBIOSIA_STEP_RETRY_DELAY", "2d", "must be between 0s and 1h"),
        ("SIMBIOSIA_ELEVENLABS_CONCURRENCY", "0", "must be between 1 and 64"),
        ("SIMBIOSIA_ELEVENLABS_CONCURRENCY", "100000", "must be between 1 and 64"),
        ("SIMBIOSIA_ELEVENLABS_RESERVED_CONCURRENCY", "65", "must be between 1 and 64"),
        ("SIMBIOSIA_STEP_RETRIES", "-1", "must be between 0 and 10"),
        ("SIMBIOSIA_STEP_RETRIES", "three", "is not an integer"),
        ("SIMBIOSIA_STORE_TRANSCRIPTS", "maybe", "is not a boolean"),
        ("SIMBIOSIA_REPORTING_TZ", "Mars/Olympus", "is not an IANA time zone"),
        ("TWILIO_API_BASE_URL", "ftp://api.twilio.com", "must be an http:// or https:// URL"),
        ("ELEVENLABS_API_BASE_URL", "api.elevenlabs.io", "must be an http:// or https:// URL"),
        ("ELEVENLABS_API_BASE_URL", "https://api.elevenlabs.io\n", "whitespace or a control"),
        ("TWILIO_API_BASE_URL", "https://api.twilio.com:99999", "is not a URL"),
        ("TWILIO_API_BASE_URL", "https://user:pw@api.twilio.com", "must not hold credentials"),
        ("SIMBIOSIA_DATABASE_URL", "mysql://x@y/z", "must be a PostgreSQL URL"),
        ("SIMBIOSIA_WORKSPACES_FILE", "work\x00spaces.yaml", "holds a control character"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(name, value, expected):
    message = refusal({name: value})
    assert message.startswith(name)
    assert expected in message


def test_durations_and_bounds_that_fit_are_taken():
    settings = Settings.from_env(
        {
            "SIMBIOSIA_SETTLE_MAX_AGE": "3660d",
            "SIMBIOSIA_STEP_RETRY_DELAY": "90s",
            "SIMBIOSIA_ELEVENLABS_CONCURRENCY": " 64 ",
            "SIMBIOSIA_START_DATE": "2008-01-01",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:8765",
        }
    )
    assert settings.settle_max_age == timedelta(days=3660)
    # The settlement sensor subtracts it from now: it must stay a datetime.
    assert datetime.now(UTC) - settings.settle_max_age > datetime(2000, 1, 1, tzinfo=UTC)
    assert settings.step_retry_delay_seconds == 90
    assert settings.elevenlabs_concurrency == 64
    assert settings.twilio_base_url == "http://127.0.0.1:8765"


def test_secret_values_are_refused_without_being_shown():
    hook = "https://hooks.example.com/services/T000/B000/SECRETpart"
    message = refusal({"SIMBIOSIA_ALERT_WEBHOOK_URL": hook.replace("https", "gopher")})
    assert message.startswith("SIMBIOSIA_ALERT_WEBHOOK_URL") and "SECRETpart" not in message
    message = refusal({"SIMBIOSIA_DATABASE_URL": "user=app password=SECRETpw dbname"})
    assert message.startswith("SIMBIOSIA_DATABASE_URL") and "SECRETpw" not in message
    message = refusal({"SIMBIOSIA_DATABASE_URL": "mysql://app:SECRETpw@db/wh"})
    assert "SECRETpw" not in message


def test_a_very_long_value_is_shown_cut_short():
    message = refusal({"SIMBIOSIA_SOURCE": "x" * 10_000})
    assert len(message) < 200


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:pw@db.internal:5432/warehouse",
        "postgresql+psycopg://app@db.internal/warehouse?password=pw&sslmode=require",
        "host=db.internal port=5432 user=app password=pw dbname=warehouse",
        "postgresql://app:p#w/?@x@db.internal/warehouse",
    ],
)
def test_every_warehouse_address_form_is_accepted(url):
    assert Settings.from_env({"SIMBIOSIA_DATABASE_URL": url}).database_url == url


def test_credentials_are_required_in_live_mode_only():
    check_credentials(SourceMode.SANDBOX, {})
    check_credentials(SourceMode.LIVE, CREDENTIALS)
    with pytest.raises(ConfigurationError) as failure:
        check_credentials(SourceMode.LIVE, {"TWILIO_AUTH_TOKEN": "t"})
    assert str(failure.value) == (
        "TWILIO_ACCOUNT_SID, ELEVENLABS_API_KEY must be set when SIMBIOSIA_SOURCE=live "
        "(the API credentials)"
    )


@pytest.mark.parametrize("spoiled", ["key\n", " key", "ke y", "key\r\nX-Injected: 1", "k\x00"])
def test_a_credential_with_whitespace_or_a_control_character_is_refused_unshown(spoiled):
    with pytest.raises(ConfigurationError) as failure:
        check_credentials(SourceMode.LIVE, {**CREDENTIALS, "ELEVENLABS_API_KEY": spoiled})
    message = str(failure.value)
    assert message.startswith("ELEVENLABS_API_KEY holds whitespace or a control character")
    assert spoiled.strip() not in message


def test_live_mode_starts_at_simbiosia_start_date_and_the_sandbox_where_its_first_run_did(
    tmp_path,
):
    live = {
        "SIMBIOSIA_SOURCE": "live",
        "SIMBIOSIA_HOME": str(tmp_path),
        "SIMBIOSIA_WORKSPACES_FILE": str(tmp_path / "workspaces.yaml"),
    }
    assert Settings.from_env(live).start_date == date(2025, 8, 1)
    assert Settings.from_env({**live, "SIMBIOSIA_START_DATE": "2026-01-02"}).start_date == date(
        2026, 1, 2
    )
    sandbox = {"SIMBIOSIA_HOME": str(tmp_path)}
    assert record_sandbox_start(tmp_path, date(2026, 3, 4)) == date(2026, 3, 4)
    assert record_sandbox_start(tmp_path, date(2026, 5, 6)) == date(2026, 3, 4)  # fixed once
    assert Settings.from_env(sandbox).start_date == date(2026, 3, 4)
    pinned = {**sandbox, "SIMBIOSIA_START_DATE": "2025-09-01"}
    assert Settings.from_env(pinned).start_date == date(2025, 9, 1)


def test_only_the_sandbox_without_a_start_date_starts_with_its_history(tmp_path):
    home = {"SIMBIOSIA_HOME": str(tmp_path)}
    assert Settings.from_env(home).starts_with_sandbox_history
    dated = Settings.from_env({**home, "SIMBIOSIA_START_DATE": "2025-09-01"})
    assert not dated.starts_with_sandbox_history and dated.start_date == date(2025, 9, 1)
