"""The knobs runs and sensors read reach them as the ``settings`` resource, whose fields the UI
shows; ``settings.py`` has read and checked them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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
