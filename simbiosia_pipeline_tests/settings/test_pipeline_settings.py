"""The knobs runs and sensors read reach them as the ``settings`` resource, whose fields the UI
shows; ``settings.py`` has read and checked them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg

from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import Settings


def test_the_resource_carries_the_checked_values():
    settings = Settings.from_env(
        {
            "SIMBIOSIA_WORKSPACES_FILE": "/etc/simbiosia/workspaces.yaml",
            "SIMBIOSIA_REPORTING_TZ": "America/New_York",
            "SIMBIOSIA_SETTLE_MAX_AGE": "3d",
            "SIMBIOSIA_STORE_TRANSCRIPTS": "true",
            "SIMBIOSIA_RECONCILE_PENDING_MAX_AGE": "12h",
        }
    )
    resource = PipelineSettings.from_settings(settings)
    assert resource.workspaces_path == Path("/etc/simbiosia/workspaces.yaml")
    assert resource.reporting_tz == "America/New_York"
    assert resource.settle_max_age == timedelta(days=3)
    assert resource.store_transcripts is True
    assert resource.reconcile_pending_max_age == timedelta(hours=12)


def test_the_code_location_binds_it_for_every_run_and_sensor():
    from simbiosia_pipeline.definitions import SETTINGS, defs

    bound = defs.resources["settings"]
    assert bound == PipelineSettings.from_settings(SETTINGS)
    # Every asset and sensor that reads a knob asks for the resource, never the environment.
    graph = defs.resolve_asset_graph()
    readers = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if "settings" in graph.get(key).assets_def.required_resource_keys
    }
    assert readers >= {
        "raw/twilio_calls",
        "raw/elevenlabs_conversations",
        "workspace_directory",
        "reconciliation/billing_days",
    }
    sensors = {
        sensor.name
        for sensor in defs.sensors
        if "settings" in getattr(sensor, "required_resource_keys", set())
    }
    assert sensors == {"settlement_sensor", "budget_alert_sensor", "workspaces_file_sensor"}


def test_alert_secrets_reach_their_resource_as_environment_variables_only():
    """The webhook URL and the SMTP password are ``EnvVar`` fields: the UI's resource config
    shows the variables' names, never their values."""
    settings = Settings.from_env(
        {
            "SIMBIOSIA_ALERT_WEBHOOK_URL": "https://hooks.example/T0/SECRET-part",
            "SIMBIOSIA_ALERT_EMAIL_TO": "finance@example.com",
            "SIMBIOSIA_SMTP_USER": "alerts",
            "SIMBIOSIA_SMTP_PASSWORD": "smtp-SECRET",
        }
    )
    alerts = AlertChannels.from_settings(settings)
    assert isinstance(alerts.webhook_url, dg.EnvVar)
    assert alerts.webhook_url.env_var_name == "SIMBIOSIA_ALERT_WEBHOOK_URL"
    assert isinstance(alerts.smtp_password, dg.EnvVar)
    assert alerts.smtp_password.env_var_name == "SIMBIOSIA_SMTP_PASSWORD"
    assert (alerts.email_to, alerts.smtp_user) == (["finance@example.com"], "alerts")
    quiet = AlertChannels.from_settings(Settings.from_env({}))
    assert (quiet.webhook_url, quiet.email_to, quiet.smtp_password) == (None, [], None)


def test_schedules_and_sensors_start_as_the_one_settings_read_says():
    from simbiosia_pipeline.definitions import SETTINGS, defs

    running = SETTINGS.automation_enabled
    assert {s.default_status.value for s in defs.sensors} == {"RUNNING" if running else "STOPPED"}
    assert {s.default_status.value for s in defs.schedules} == {"RUNNING" if running else "STOPPED"}
