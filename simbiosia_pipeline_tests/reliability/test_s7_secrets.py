"""Scenario 7: secrets stay in.

The pipeline runs in ``live`` mode with recognisable fake credentials (a Twilio account SID and
token, an ElevenLabs key, passwords in both database URLs), pointed at a sandbox that accepts
exactly those, with a PostgreSQL-backed Dagster instance and an alert webhook, as in
production. A backfill fails (the APIs answer 503 until the retries run out) — through
``simbiosia backfill``; then one succeeds — through ``dagster asset materialize``, whose steps
run in processes of their own with captured compute logs. The alert sensors then see the
failed run and the check evaluations.

Searched for every secret (and for the HTTP Basic header made of the Twilio pair): the output
of both commands, every file under ``DAGSTER_HOME`` (compute logs included), every row of every
table of Dagster's storage (runs, tags, event logs with their metadata and error texts, ...),
and the alert payloads. None holds one.

Also: the webserver that ``make ui`` starts (``simbiosia ui``) listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import psutil
import psycopg
import pytest
from dagster._utils.error import serializable_error_info_from_exc_info

from simbiosia_pipeline.automation.alerts import AlertChannels, AlertDeliveryError
from simbiosia_pipeline.automation.failure_alerts import (
    check_failure_alert_sensor,
    run_failure_alert_sensor,
)
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.settings import PROJECT_DIR, SANDBOX_WORKSPACES_FILE
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.processes import start_backfill, wait_until
from simbiosia_pipeline_tests.reliability.truth import (
    build_snapshots,
    materialize_window,
    verify_against_truth,
)
from simbiosia_pipeline_tests.webhook import WebhookReceiver
from simbiosia_testing.local_servers import create_database, drop_database, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BIN = Path(sys.executable).parent
NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 6, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
CREDENTIALS = {
    "TWILIO_ACCOUNT_SID": "AC" + "5ec12e75" * 4,
    "TWILIO_AUTH_TOKEN": "twilio-token-SECRET-4f1d9a",
    "ELEVENLABS_API_KEY": "sk_SECRET_eleven_7c2e51",
}
WAREHOUSE_PASSWORD = "warehouse-pw-SECRET-93e1"
DAGSTER_PASSWORD = "dagster-pw-SECRET-2b7d"


def secrets() -> dict[str, str]:
    basic = f"{CREDENTIALS['TWILIO_ACCOUNT_SID']}:{CREDENTIALS['TWILIO_AUTH_TOKEN']}"
    return {
        **CREDENTIALS,
        "warehouse password": WAREHOUSE_PASSWORD,
        "dagster storage password": DAGSTER_PASSWORD,
        "Twilio Basic header": base64.b64encode(basic.encode()).decode(),
    }


def with_password(url: str, password: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)


def leaks(where: str, text: str) -> list[str]:
    return [f"{name} in {where}" for name, value in secrets().items() if value in text]


@pytest.fixture
def dagster_storage():
    url = create_database("simbiosia_dagster")
    yield url
    drop_database(url)


def storage_rows(database_url: str) -> str:
    """Every row of every table of Dagster's storage, as text."""
    with psycopg.connect(database_url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
        return "\n".join(
            conn.execute(
                f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {table} t"
            ).fetchone()[0]
            for table in tables
        )


def files_under(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(errors="replace")
        for path in directory.rglob("*")
        if path.is_file()
    }


def test_secrets_appear_in_no_log_metadata_event_or_alert(
    warehouse_env, dagster_storage, tmp_path, monkeypatch, instance, webhook
):
    sandbox = Sandbox(
        SandboxConfig(
            seed=97,
            scale=0.4,
            now=NOW,
            twilio_account_sid=CREDENTIALS["TWILIO_ACCOUNT_SID"],
            twilio_auth_token=CREDENTIALS["TWILIO_AUTH_TOKEN"],
            elevenlabs_api_key=CREDENTIALS["ELEVENLABS_API_KEY"],
        )
    )
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(PROJECT_DIR / "dagster.yaml", dagster_home / "dagster.yaml")
    dagster_pg_url = with_password(dagster_storage, DAGSTER_PASSWORD).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )
    env = {
        **CREDENTIALS,
        "SIMBIOSIA_SOURCE": "live",
        "SIMBIOSIA_WORKSPACES_FILE": str(SANDBOX_WORKSPACES_FILE),
        "SIMBIOSIA_DATABASE_URL": with_password(warehouse_env, WAREHOUSE_PASSWORD),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_URL": dagster_pg_url,
        "SIMBIOSIA_ALERT_WEBHOOK_URL": webhook.url,
        "SIMBIOSIA_STEP_RETRIES": "0",
    }
    with start_sandbox_server(sandbox) as server:
        env |= {"TWILIO_API_BASE_URL": server.url, "ELEVENLABS_API_BASE_URL": server.url}
        control = SandboxControl(server.url)
        control.set_faults(error_rate=1.0, retry_after=False)
        failing = start_backfill(env, START, END, tmp_path / "failing.log")
        assert failing.wait(timeout=300) == 1
        control.set_faults()
        succeeding = subprocess.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "simbiosia_pipeline.definitions",
             "--select", "raw/twilio_calls,raw/elevenlabs_conversations",
             "--partition-range", "2025-10-08-06:00...2025-10-08-11:00"],
            env={**os.environ, **env}, cwd=PROJECT_DIR, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
    assert succeeding.returncode == 0, succeeding.stderr[-4000:]

    # The alert sensors, as the daemon runs them (with the secrets in its environment).
    for name, value in {**env, "SIMBIOSIA_ALERT_WEBHOOK_URL": webhook.url}.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(dagster_home)) as production_instance:
        (failed_run,) = production_instance.get_runs(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE])
        )
        failure = production_instance.all_logs(
            failed_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        )[0]
        alerts = {"alerts": AlertChannels.from_env()}
        run_failure_alert_sensor()(
            dg.build_run_status_sensor_context(
                sensor_name="run_failure_alert_sensor",
                dagster_event=failure.dagster_event,
                dagster_instance=production_instance,
                dagster_run=failed_run,
                resources=alerts,
            ).for_run_failure()
        )
        check_failure_alert_sensor()(
            dg.build_sensor_context(instance=production_instance, cursor="0", resources=alerts)
        )
        step_errors = "\n".join(
            record.dagster_event.step_failure_data.error.to_string()
            for run in production_instance.get_runs()
            for record in production_instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
            )
        )

    outputs = {
        "simbiosia backfill output": (tmp_path / "failing.log").read_text(errors="replace"),
        "dagster asset materialize output": succeeding.stdout + succeeding.stderr,
        "exception texts": step_errors,
        "Dagster storage": storage_rows(dagster_storage),
        "alert payloads": "\n".join(webhook.texts),
        **{f"DAGSTER_HOME/{name}": text for name, text in files_under(dagster_home).items()},
    }
    # Not vacuous: the failure was recorded and alerted, the steps wrote compute logs.
    assert "still failing after" in step_errors
    assert any("Run failed" in text for text in webhook.texts)
    assert any(name.endswith((".err", ".out")) for name in outputs if "DAGSTER_HOME" in name)
    found = [leak for where, text in outputs.items() for leak in leaks(where, text)]
    assert found == []

    build_snapshots(START, END, instance=instance)
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S7 secrets stay in",
        faults=f"{len(secrets())} secrets sought in {len(outputs)} places (logs, storage, "
        "alerts, errors): 0 found",
        retries="a backfill failed on 503s, then one succeeded",
    )


def test_a_twilio_request_that_fails_for_good_does_not_name_the_account():
    """The error text lands in Dagster's event log; the request path holds the account SID."""
    from simbiosia_pipeline.sources.http import BackoffPolicy, RequestFailedError
    from simbiosia_pipeline.sources.twilio import TwilioCallsClient
    from simbiosia_pipeline.sources.windows import Window

    sandbox = Sandbox(SandboxConfig(now=NOW, twilio_account_sid=CREDENTIALS["TWILIO_ACCOUNT_SID"]))
    with start_sandbox_server(sandbox) as server:
        SandboxControl(server.url).set_faults(error_rate=1.0, retry_after=False)
        client = TwilioCallsClient(
            account_sid=CREDENTIALS["TWILIO_ACCOUNT_SID"],
            auth_token=sandbox.config.twilio_auth_token,
            base_url=server.url,
            policy=BackoffPolicy(max_attempts=2, base_delay=0.01),
        )
        with pytest.raises(RequestFailedError) as failure:
            client.calls_started_in(Window(START, END), lambda calls: None)
    assert "/Accounts/{AccountSid}/Calls.json" in str(failure.value)
    assert leaks("the error", str(failure.value)) == []


def listening_addresses(pid: int) -> set[str]:
    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    addresses = set()
    for process in family:
        try:
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    addresses.add(f"{connection.laddr.ip}:{connection.laddr.port}")
        except psutil.NoSuchProcess:
            continue
    return addresses


def test_the_ui_listens_on_localhost_only(tmp_path):
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "SIMBIOSIA_HOME": str(home)}
    for name in ("DAGSTER_HOME", "DAGSTER_PG_URL", "SIMBIOSIA_DATABASE_URL"):
        env.pop(name, None)
    log = (tmp_path / "ui.log").open("wb")
    ui = subprocess.Popen(
        [str(BIN / "simbiosia"), "ui", "--port", str(port)],
        env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: serves(port), "the UI answers on 127.0.0.1", timeout=240)
        addresses = listening_addresses(ui.pid)
        assert f"127.0.0.1:{port}" in addresses
        assert all(a.startswith(("127.0.0.1:", "::1:")) for a in addresses), addresses
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
        log.close()
        subprocess.run(
            [str(BIN / "simbiosia"), "db", "stop"], env=env, capture_output=True, timeout=60
        )


def serves(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


# --- S7b: every form of warehouse address, and the webhook ------------------------------------

NOWHERE = "nowhere_s7b"  # no such database: the server answers and refuses, nothing is retried
USERINFO = "postgresql://postgres:{pw}@127.0.0.1:5432/{db}"
# form: (the address, with the password for {pw} and the database for {db}; the password)
ADDRESS_SECRETS = {
    "password holding #": (USERINFO, "pw#SECRET-hash-1a"),
    "password holding /": (USERINFO, "pw/SECRET-slash-2b"),
    "password holding ?": (USERINFO, "pw?SECRET-question-3c"),
    "password holding @": (USERINFO, "pw@SECRET-at-4d"),
    "?password=": ("postgresql+psycopg://postgres@127.0.0.1:5432/{db}?password={pw}",
                   "SECRET-query-5e"),
    "key=value": ("host=127.0.0.1 port=5432 user=postgres password='{pw}' dbname={db}",
                  "SECRET kv 6f"),
}  # fmt: skip
UNPARSEABLE = "user=postgres password='SECRET-unclosed-8h dbname=x"  # the quote never closes
WEBHOOK_SECRET = "T0SECRET/B0SECRET/hook-SECRET-7g"


@pytest.fixture
def refusing_webhook() -> Iterator[WebhookReceiver]:
    """A webhook that answers 500 to every alert (its URL is the secret: it authorises posts)."""
    with WebhookReceiver(path=f"/services/{WEBHOOK_SECRET}", status=500) as receiver:
        yield receiver


def address_leaks(where: str, text: str) -> list[str]:
    secrets_sought = {name: password for name, (_, password) in ADDRESS_SECRETS.items()}
    secrets_sought["webhook URL"] = WEBHOOK_SECRET
    secrets_sought["unparseable address's password"] = "SECRET-unclosed-8h"
    secrets_sought["dagster storage password"] = DAGSTER_PASSWORD
    return [f"{name} in {where}" for name, value in secrets_sought.items() if value in text]


def test_s7b_no_address_form_nor_the_webhook_leaks_from_failing_runs(
    warehouse_env, dagster_storage, tmp_path, monkeypatch, caplog, refusing_webhook
):
    caplog.set_level(logging.DEBUG)
    webhook = refusing_webhook
    sandbox = Sandbox(SandboxConfig(seed=97, scale=0.4, now=NOW))
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(PROJECT_DIR / "dagster.yaml", dagster_home / "dagster.yaml")
    dagster_pg_url = with_password(dagster_storage, DAGSTER_PASSWORD).replace(
        "postgresql://", "postgresql+psycopg2://", 1
    )
    for name, value in {"DAGSTER_HOME": str(dagster_home), "DAGSTER_PG_URL": dagster_pg_url,
                        "SIMBIOSIA_ALERT_WEBHOOK_URL": webhook.url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    outputs: dict[str, str] = {}
    failures = []
    with start_sandbox_server(sandbox) as server, dg.DagsterInstance.get() as production:
        for form, (address, password) in ADDRESS_SECRETS.items():
            monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", address.format(pw=password, db=NOWHERE))
            result = materialize_window(server.url, START, START + timedelta(hours=1),
                                        instance=production, snapshots=False,
                                        raise_on_error=False)  # fmt: skip
            assert not result.success
            failures.append(result)
            # The command line too: its output, and the run it records.
            cli = subprocess.run(
                [str(BIN / "simbiosia"), "backfill", "2025-10-08T06:00", "2025-10-08T07:00",
                 "--select", "group:raw"],
                env={**os.environ, "TWILIO_API_BASE_URL": server.url,
                     "ELEVENLABS_API_BASE_URL": server.url},
                cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert cli.returncode == 1, cli.stderr[-3000:]
            outputs[f"simbiosia backfill output ({form})"] = cli.stdout + cli.stderr
        # An address libpq cannot parse: refused at start, exit 2, without being repeated.
        monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", UNPARSEABLE)
        refused = subprocess.run([str(BIN / "simbiosia"), "backfill", "2025-10-08T06:00",
                                  "2025-10-08T07:00"], env=dict(os.environ),
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        outputs["simbiosia backfill output (unparseable address)"] = refused.stderr
        monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", warehouse_env)

        # The alert sensors, as the daemon runs them, with the webhook answering 500.
        failed_run = production.get_run_by_id(failures[0].run_id)
        failure = production.all_logs(failed_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        with pytest.raises(AlertDeliveryError) as delivery:
            run_failure_alert_sensor()(
                dg.build_run_status_sensor_context(
                    sensor_name="run_failure_alert_sensor",
                    dagster_event=failure[0].dagster_event,
                    dagster_instance=production,
                    dagster_run=failed_run,
                    resources={"alerts": AlertChannels.from_env()},
                ).for_run_failure()
            )
        tick_error = serializable_error_info_from_exc_info(
            (delivery.type, delivery.value, delivery.tb)
        ).to_string()  # what the daemon stores as the tick's error
        step_errors = "\n".join(
            record.dagster_event.step_failure_data.error.to_string()
            for run in production.get_runs()
            for record in production.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        )

    outputs |= {
        "exception texts": step_errors,
        "sensor tick error": tick_error,
        "Python logs": caplog.text,
        "Dagster storage": storage_rows(dagster_storage),
        **{f"DAGSTER_HOME/{name}": text for name, text in files_under(dagster_home).items()},
    }
    # Not vacuous: each form reached the warehouse and was refused by it, naming the address.
    assert step_errors.count(f'database "{NOWHERE}" does not exist') >= len(ADDRESS_SECRETS)
    assert step_errors.count("cannot connect to the warehouse at") >= len(ADDRESS_SECRETS)
    assert "answered 500" in tick_error and "SIMBIOSIA_ALERT_WEBHOOK_URL" in tick_error
    assert any(name.endswith((".err", ".out")) for name in outputs if "DAGSTER_HOME" in name)
    found = [leak for where, text in outputs.items() for leak in address_leaks(where, text)]
    assert found == []

    with start_sandbox_server(sandbox) as server, dg.instance_for_test() as instance:
        materialize_window(server.url, START, END, instance=instance, snapshots=False)
        build_snapshots(START, END, instance=instance)
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S7b every warehouse address form, and the webhook",
        faults=f"{len(ADDRESS_SECRETS)} address forms refused by the server (in-process and "
        f"CLI runs), an unparseable address, a webhook answering 500; "
        f"{len(ADDRESS_SECRETS) + 3} secrets sought in {len(outputs)} places: 0 found",
        retries="none (refusals are permanent)",
    )
