"""Alerts reach the webhook once, never for runs that will be retried, and never with secrets."""

import logging

import dagster as dg
import pytest

from simbiosia_pipeline.automation.alerts import AlertChannels, AlertDeliveryError, scrub
from simbiosia_pipeline.automation.failure_alerts import (
    check_failure_alert_sensor,
    run_failure_alert_sensor,
)

FAKE_TOKEN = "tok_FAKE_5ecr3t_for_tests_only"
RUN_FAILURE_ALERTS = run_failure_alert_sensor()
CHECK_FAILURE_ALERTS = check_failure_alert_sensor()


def alert_resources() -> dict:
    """The ``alerts`` resource as the code location builds it from the environment."""
    return {"alerts": AlertChannels.from_env()}


def send_alert(title: str, details: str = "") -> dict:
    """What a sensor's ``alerts.send`` does: with the resource as Dagster hands it over (its
    ``EnvVar`` fields resolved)."""
    return AlertChannels.from_env().process_config_and_initialize().send(title, details)


@pytest.fixture(autouse=True)
def fake_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", FAKE_TOKEN)


@dg.op
def leaky_op():
    raise RuntimeError(f"upstream said: bad token {FAKE_TOKEN}")


@dg.job
def leaky_job():
    leaky_op()


def failed_run(instance, tags=None):
    result = leaky_job.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources=alert_resources(),
    ).for_run_failure()


def test_a_failed_run_alerts_once_without_the_secret(webhook):
    with dg.instance_for_test() as instance:
        RUN_FAILURE_ALERTS(failed_run(instance))
    assert len(webhook.texts) == 1
    assert "Run failed: leaky_job" in webhook.texts[0]
    assert FAKE_TOKEN not in webhook.texts[0]


def test_a_run_that_will_be_retried_does_not_alert(webhook):
    with dg.instance_for_test() as instance:
        RUN_FAILURE_ALERTS(failed_run(instance, tags={"dagster/will_retry": "true"}))
    assert webhook.texts == []


@dg.asset
def spend():
    return 1


@dg.asset_check(asset=spend)
def spend_is_reconciled():
    return dg.AssetCheckResult(passed=False, metadata={"difference": 0.01})


def test_a_failed_check_alerts_once(webhook, postgres_instance):
    resources = alert_resources()
    context = dg.build_sensor_context(instance=postgres_instance, resources=resources)
    CHECK_FAILURE_ALERTS(context)  # first tick: follow from now on
    dg.materialize([spend, spend_is_reconciled], instance=postgres_instance)
    context = dg.build_sensor_context(
        instance=postgres_instance, cursor=context.cursor, resources=resources
    )
    CHECK_FAILURE_ALERTS(context)
    CHECK_FAILURE_ALERTS(
        dg.build_sensor_context(
            instance=postgres_instance, cursor=context.cursor, resources=resources
        )
    )
    assert len(webhook.texts) == 1
    assert "spend · spend_is_reconciled" in webhook.texts[0]


def test_scrub_replaces_credential_values_with_their_names():
    assert scrub(f"Authorization failed for {FAKE_TOKEN}") == (
        "Authorization failed for <TWILIO_AUTH_TOKEN>"
    )


def test_alert_without_webhook_is_only_logged(monkeypatch, caplog):
    monkeypatch.delenv("SIMBIOSIA_ALERT_WEBHOOK_URL", raising=False)
    payload = send_alert("Budget crossed", "workspace 4")
    assert payload["text"].startswith(":rotating_light: *Budget crossed*")
    assert "Budget crossed" in caplog.text


def test_a_webhook_that_refuses_is_reported_without_its_url(webhook, caplog):
    caplog.set_level(logging.DEBUG)
    webhook.status = 500
    with pytest.raises(AlertDeliveryError) as failure:
        send_alert("Run failed", "details")
    assert str(failure.value) == ("the alert webhook (SIMBIOSIA_ALERT_WEBHOOK_URL) answered 500")
    assert failure.value.__cause__ is None and failure.value.__context__ is None
    assert "/hook" not in caplog.text  # httpx's request log is scrubbed too
    assert "<SIMBIOSIA_ALERT_WEBHOOK_URL>" in caplog.text


def test_an_unreachable_webhook_is_reported_without_its_url(monkeypatch):
    monkeypatch.setenv("SIMBIOSIA_ALERT_WEBHOOK_URL", "http://127.0.0.1:1/services/T0/SECRET")
    with pytest.raises(AlertDeliveryError) as failure:
        send_alert("Run failed")
    assert "could not be reached: ConnectError" in str(failure.value)
    assert "SECRET" not in str(failure.value)


def test_scrub_removes_database_passwords_in_any_address_form(monkeypatch):
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", "host=db user=app password='p@ss/w#rd' dbname=x")
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://d@db/dagster?password=dg-pw-1")
    text = scrub("auth failed for p@ss/w#rd, p%40ss%2Fw%23rd and dg-pw-1")
    assert "p@ss" not in text and "p%40ss" not in text and "dg-pw-1" not in text
