"""The pure pieces of the dbt assets: the environment of a dbt run, and the asset graph."""

from __future__ import annotations

import os
import stat
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.dbt.assets import cost_views, hourly_cost_models
from simbiosia_pipeline.dbt.environment import (
    dbt_build_args,
    dbt_environment,
    profile_environment,
    run_settings,
)
from simbiosia_pipeline.dbt.launcher import apply_invocation_environment, environment_file
from simbiosia_pipeline.dbt.project import dbt_executable
from simbiosia_pipeline.dbt.resources import dbt_invocation, dbt_resource
from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.resource import WarehouseResource


def run_time_settings(env: dict[str, str]) -> PipelineSettings:
    """What a run receives (the ``settings`` resource) for the variables ``env``."""
    return PipelineSettings.from_settings(Settings.from_env(env))


SETTINGS = run_time_settings({})
WINDOW = dg.TimeWindow(datetime(2025, 10, 26, 1, tzinfo=UTC), datetime(2025, 10, 26, 4, tzinfo=UTC))
URL = "postgresql+psycopg://ana:s3cr%40t@db.example:6543/costs"


# billing_reconciliation's defaults (README "Reconciliation with the providers' bills").
RECONCILE_DEFAULTS = {
    "SIMBIOSIA_DBT_RECONCILE_TOLERANCE_ABS": "0.01",
    "SIMBIOSIA_DBT_RECONCILE_TOLERANCE_REL": "0.001",
    "SIMBIOSIA_DBT_RECONCILE_FINAL_AFTER_HOURS": "96.0",
}


def test_a_window_becomes_the_utc_settings_of_one_build():
    assert dbt_build_args() == ["build"]
    assert run_settings(WINDOW, SETTINGS) == {
        "SIMBIOSIA_DBT_MIN_TS": "2025-10-26T01:00:00+00:00",
        "SIMBIOSIA_DBT_MAX_TS": "2025-10-26T04:00:00+00:00",
        "SIMBIOSIA_DBT_REPORTING_TZ": "Europe/Madrid",
        **RECONCILE_DEFAULTS,
    }


def test_a_window_in_another_zone_is_written_in_utc():
    madrid_summer = timezone(timedelta(hours=2))
    window = dg.TimeWindow(
        datetime(2025, 8, 1, 2, tzinfo=madrid_summer), datetime(2025, 8, 1, 3, tzinfo=madrid_summer)
    )
    assert run_settings(window, SETTINGS)["SIMBIOSIA_DBT_MIN_TS"] == "2025-08-01T00:00:00+00:00"


def test_without_a_window_the_models_span_all_history():
    assert run_settings(None, SETTINGS) == {
        "SIMBIOSIA_DBT_REPORTING_TZ": "Europe/Madrid",
        **RECONCILE_DEFAULTS,
    }


def test_the_reconciliation_tolerances_come_from_the_settings():
    settings = run_time_settings(
        {"SIMBIOSIA_RECONCILE_TOLERANCE": "0.5,0.02", "SIMBIOSIA_RECONCILE_FINAL_AFTER": "30h"}
    )
    assert {
        key: value
        for key, value in run_settings(None, settings).items()
        if key.startswith("SIMBIOSIA_DBT_RECONCILE_")
    } == {
        "SIMBIOSIA_DBT_RECONCILE_TOLERANCE_ABS": "0.5",
        "SIMBIOSIA_DBT_RECONCILE_TOLERANCE_REL": "0.02",
        "SIMBIOSIA_DBT_RECONCILE_FINAL_AFTER_HOURS": "30.0",
    }
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_RECONCILE_TOLERANCE"):
        Settings.from_env({"SIMBIOSIA_RECONCILE_TOLERANCE": "1%"})


def test_a_full_refresh_is_a_build_that_replaces_all_history():
    assert dbt_build_args(full_refresh=True) == ["build", "--full-refresh"]
    assert "--vars" not in dbt_build_args(full_refresh=True)


def test_the_reporting_time_zone_comes_from_the_settings():
    settings = run_time_settings({"SIMBIOSIA_REPORTING_TZ": "America/New_York"})
    assert run_settings(WINDOW, settings)["SIMBIOSIA_DBT_REPORTING_TZ"] == "America/New_York"
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_REPORTING_TZ"):
        run_settings(WINDOW, run_time_settings({"SIMBIOSIA_REPORTING_TZ": "Mars/Olympus"}))


def test_the_profile_environment_comes_from_the_warehouse_url():
    assert profile_environment(URL) == {
        "SIMBIOSIA_DBT_HOST": "db.example",
        "SIMBIOSIA_DBT_PORT": "6543",
        "SIMBIOSIA_DBT_USER": "ana",
        "SIMBIOSIA_DBT_PASSWORD": "s3cr@t",
        "SIMBIOSIA_DBT_DBNAME": "costs",
    }
    # the embedded server's URL: a Unix socket directory as host
    embedded = profile_environment("postgresql://postgres:@/simbiosia?host=/tmp/pgserver")
    assert embedded["SIMBIOSIA_DBT_HOST"] == "/tmp/pgserver"
    assert embedded["SIMBIOSIA_DBT_DBNAME"] == "simbiosia"


def test_an_invocation_gets_its_environment_without_touching_ours(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMBIOSIA_DBT_HOST", "elsewhere")  # a stale value cannot win
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")  # as dagster-dbt sets it: kept
    before = dict(os.environ)
    with dbt_invocation(URL, WINDOW, SETTINGS, tmp_path) as target:
        assert dict(os.environ) == before
        path = environment_file(target)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the password
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        dbt_process_env = {**before, "DBT_TARGET_PATH": str(target)}
        apply_invocation_environment(dbt_process_env)
    assert dbt_process_env["SIMBIOSIA_DBT_HOST"] == "db.example"
    assert dbt_process_env["SIMBIOSIA_DBT_MIN_TS"] == "2025-10-26T01:00:00+00:00"
    assert dbt_process_env["DBT_INDIRECT_SELECTION"] == "empty"
    assert dbt_environment(URL, WINDOW, SETTINGS).items() <= dbt_process_env.items()
    # the directory, password and all, is gone once the invocation ends
    assert not target.parent.exists()
    assert list((tmp_path / "runs").iterdir()) == []
    monkeypatch.delenv("DBT_INDIRECT_SELECTION")
    with dbt_invocation(URL, None, SETTINGS, tmp_path) as target:
        defaults_only = {"DBT_TARGET_PATH": str(target)}
        apply_invocation_environment(defaults_only)
    assert defaults_only["DBT_INDIRECT_SELECTION"] == "buildable"


def test_a_plain_dbt_command_is_left_as_it_is():
    environ = {"PATH": "/usr/bin"}
    apply_invocation_environment(environ)
    assert environ == {"PATH": "/usr/bin"}


def test_dbt_is_found_beside_the_interpreter_not_on_path():
    assert Path(dbt_executable()) == Path(sys.executable).parent / "simbiosia-dbt"
    assert Path(dbt_executable()).exists()


def test_one_lineage_graph_from_raw_to_snapshots():
    graph = dg.Definitions(
        assets=[workspace_directory, hourly_cost_models, cost_views],
        resources={
            "warehouse": WarehouseResource(),
            "settings": PipelineSettings.from_env(),
            "dbt": dbt_resource(),
        },
    ).resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {
            p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys
        }

    assert parents("staging/stg_twilio_calls") == {"raw/twilio_calls", "workspace_directory"}
    assert parents("staging/stg_elevenlabs_conversations") == {
        "raw/elevenlabs_conversations",
        "workspace_directory",
    }
    assert parents("public/twilio_snapshots") == {"staging/stg_twilio_calls"}
    assert parents("public/call_costs") == {
        "staging/stg_twilio_calls",
        "staging/stg_elevenlabs_conversations",
    }

    hourly = {key.to_user_string() for key in hourly_cost_models.keys}
    assert hourly == {
        "staging/stg_twilio_calls",
        "staging/stg_elevenlabs_conversations",
        "public/twilio_snapshots",
        "public/elevenlabs_snapshots",
        "public/call_costs",
        "public/unattributed_number_hours",
        "public/twilio_direction_hours",
        "public/elevenlabs_llm_usage_hours",
    }
    assert hourly_cost_models.partitions_def == HOURLY
    assert cost_views.partitions_def is None
    views = {key.to_user_string() for key in cost_views.keys}
    assert views == {
        "public/workspace_daily_costs",
        "public/unattributed_numbers",
        "staging/attribution_rule_counts",
        "public/billing_reconciliation",
        "public/daily_completeness",
    }
    # its hours come from what both raw assets record (raw.loaded_hours)
    assert parents("public/daily_completeness") == {
        "raw/twilio_calls",
        "raw/elevenlabs_conversations",
    }
    assert parents("public/billing_reconciliation") == {
        "staging/stg_twilio_calls",
        "staging/stg_elevenlabs_conversations",
        "raw/twilio_usage_records",
        "raw/elevenlabs_usage",
    }
    groups = {graph.get(key).group_name for key in hourly_cost_models.keys | cost_views.keys}
    assert groups == {"attribution", "costs"}
    checks = {check.name for check in (*hourly_cost_models.check_keys, *cost_views.check_keys)}
    assert {
        "twilio_snapshots_reconcile_with_raw",
        "elevenlabs_snapshots_reconcile_with_raw",
        "call_costs_cover_every_record",
    } <= checks


def test_every_dbt_asset_has_owners_and_every_check_says_what_it_guards():
    dbt_assets = (hourly_cost_models, cost_views)
    for assets_def in dbt_assets:
        for key in assets_def.keys:
            assert assets_def.specs_by_key[key].owners == ["team:data-engineering"], key
    specs = [spec for assets_def in dbt_assets for spec in assets_def.check_specs]
    assert len(specs) > 40
    for spec in specs:
        assert spec.description, spec.name
        # a name a person can read: no generated argument soup
        assert "__" not in spec.name and "_False_" not in spec.name, spec.name
        assert len(spec.name) <= 64, spec.name
    described = {spec.name: spec.description for spec in specs}
    assert described["twilio_snapshots_workspace_in_directory"] == (
        "Every `workspace_id` exists as `id` in `directory.workspaces`."
    )
    assert described["workspace_daily_costs_one_row_per_workspace_and_day"] == (
        "One row per (`workspace_id`, `day`)."
    )
    assert described["elevenlabs_snapshots_reconcile_with_raw"].startswith(
        "For the run's window, elevenlabs_snapshots adds up"
    )


def test_the_elevenlabs_raw_checks_speak_of_elevenlabs():
    from simbiosia_pipeline.assets.raw_checks import raw_check_specs
    from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS

    key = dg.AssetKey(["raw", "checked"])
    for spec in raw_check_specs(key, ELEVENLABS_CONVERSATIONS):
        assert "Twilio" not in (spec.description or ""), spec.name
    for spec in raw_check_specs(key, TWILIO_CALLS):
        assert "ElevenLabs" not in (spec.description or ""), spec.name
