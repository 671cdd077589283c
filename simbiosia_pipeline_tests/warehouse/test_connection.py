"""Both warehouse paths — the embedded server and a PostgreSQL server — and URL handling."""

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.connection import (
    connect,
    connection_params,
    redact,
    resolve_database_url,
)
from simbiosia_pipeline.warehouse.embedded import stop_embedded
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema


def test_database_url_setting_wins(database_url):
    settings = Settings.from_env({"SIMBIOSIA_DATABASE_URL": database_url})
    assert resolve_database_url(settings) == database_url
    with connect(database_url) as conn:
        ensure_raw_schema(conn)
        ensure_raw_schema(conn)  # idempotent
        assert conn.execute("SELECT count(*) FROM raw.twilio_calls").fetchone() == (0,)


def test_embedded_server_starts_once_and_is_shared_between_processes(tmp_path: Path):
    home = tmp_path / "home"
    env = {"SIMBIOSIA_HOME": str(home), "PATH": str(Path(sys.executable).parent)}
    try:
        url = resolve_database_url(Settings.from_env(env))
        assert "host=" in url and str(home) in url
        with connect(url) as conn:
            ensure_raw_schema(conn)
        # Another process (as a Dagster run worker would be) gets the same server and data.
        printed = subprocess.run(
            [str(Path(sys.executable).parent / "simbiosia"), "db", "url"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert printed.stdout.strip() == url
        assert "embedded PostgreSQL" in printed.stderr
        with psycopg.connect(printed.stdout.strip()) as other:
            assert other.execute("SELECT to_regclass('raw.twilio_calls')").fetchone()[0]
    finally:
        assert stop_embedded(home)


def test_unreachable_database_fails_with_a_clear_redacted_message():
    url = "postgresql://someone:s3cr3t-pass@127.0.0.1:1/nowhere"
    with pytest.raises(ConfigurationError) as failure, connect(url):
        pass
    assert "cannot connect to the warehouse" in str(failure.value)
    assert "s3cr3t-pass" not in str(failure.value)


def test_non_postgres_url_is_rejected_naming_the_variable():
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_DATABASE_URL"):
        resolve_database_url(Settings.from_env({"SIMBIOSIA_DATABASE_URL": "mysql://x@y/z"}))


def test_connection_params_for_tcp_and_unix_socket_urls():
    assert connection_params("postgresql+psycopg://u:p%40ss@db.example:6543/wh") == {
        "host": "db.example",
        "port": "6543",
        "user": "u",
        "password": "p@ss",
        "dbname": "wh",
    }
    socket = connection_params("postgresql://postgres:@/simbiosia?host=/tmp/home/pgdata")
    assert socket["host"] == "/tmp/home/pgdata"
    assert socket["dbname"] == "simbiosia"


def test_redact_hides_only_the_password():
    assert redact("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert redact("postgresql://u@h/d") == "postgresql://u@h/d"


ADDRESS_FORMS = {
    "userinfo": "postgresql://app:{pw}@db.internal:6543/wh",
    "query": "postgresql://app@db.internal:6543/wh?password={pw}",
    "driver suffix": "postgresql+psycopg2://app:{pw}@db.internal:6543/wh",
    "key=value": "host=db.internal port=6543 user=app password={pw} dbname=wh",
}
PASSWORDS = ["plain-SECRET-1", "ha#sh-SECRET", "sla/sh-SECRET", "quest?ion-SECRET", "a@t-SECRET"]


@pytest.mark.parametrize("form", ADDRESS_FORMS)
@pytest.mark.parametrize("password", PASSWORDS)
def test_every_address_form_is_parsed_and_redacted(form, password):
    if form == "key=value" and any(c in password for c in "#/?@"):
        password_text = f"'{password}'"  # libpq quotes a value with special characters
    else:
        password_text = password
    url = ADDRESS_FORMS[form].format(pw=password_text)
    assert connection_params(url) == {
        "host": "db.internal",
        "port": "6543",
        "user": "app",
        "password": password,
        "dbname": "wh",
    }
    shown = redact(url)
    assert "SECRET" not in shown
    assert "db.internal" in shown and "***" in shown


def test_redact_text_hides_passwords_quoted_in_a_message():
    from simbiosia_pipeline.warehouse.address import redact_text

    message = 'missing "=" after "postgresql+psycopg://u:pw-SECRET@h/d" in connection info'
    assert "SECRET" not in redact_text(message, [])
    assert "SECRET" not in redact_text("host=h password='sp ace SECRET' x=1", [])
    assert redact_text("password=SECRET&sslmode=require", []) == "password=***&sslmode=require"


@pytest.mark.parametrize("form", ADDRESS_FORMS)
def test_a_refused_connection_names_the_address_without_its_password(form):
    url = ADDRESS_FORMS[form].format(pw="a@t/sla?sh#-SECRET").replace("db.internal", "127.0.0.1")
    url = url.replace("6543", "1")
    if form == "key=value":
        url = url.replace("password=a@t/sla?sh#-SECRET", "password='a@t/sla?sh#-SECRET'")
    with pytest.raises(ConfigurationError) as failure, connect(url):
        pass
    assert "cannot connect to the warehouse" in str(failure.value)
    assert "SECRET" not in str(failure.value)
