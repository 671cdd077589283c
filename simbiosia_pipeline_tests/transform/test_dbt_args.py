"""The pure pieces of the dbt assets: run arguments, profile environment, and the asset graph."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.assets.transform import (
    cost_views,
    dbt_build_args,
    dbt_environment,
    dbt_executable,
    dbt_profile_env,
    dbt_resource,
    hourly_cost_models,
)
from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.resource import WarehouseResource

SETTINGS = Settings.from_env({})
WINDOW = dg.TimeWindow(datetime(2025, 10, 26, 1, tzinfo=UTC), datetime(2025, 10, 26, 4, tzinfo=UTC))


# billing_reconciliation's defaults (README "Reconciliation with the providers' bills").
RECONCILE_DEFAULTS = {
    "reconcile_tolerance_abs": "0.01",
    "reconcile_tolerance_rel": "0.001",
    "reconcile_final_after_hours": "96.0",
}


def vars_of(args: list[str]) -> dict:
    return json.loads(args[args.index("--vars") + 1])


def test_a_window_becomes_the_utc_vars_of_one_build():
    args = dbt_build_args(WINDOW, SETTINGS)
    assert args[0] == "build"
    assert "--full-refresh" not in args
    assert vars_of(args) == {
        "min_ts": "2025-10-26T01:00:00+00:00",
        "max_ts": "2025-10-26T04:00:00+00:00",
        "reporting_tz": "Europe/Madrid",
        **RECONCILE_DEFAULTS,
    }


def test_a_window_in_another_zone_is_written_in_utc():
    madrid_summer = timezone(timedelta(hours=2))
    window = dg.TimeWindow(
        datetime(2025, 8, 1, 2, tzinfo=madrid_summer), datetime(2025, 8, 1, 3, tzinfo=madrid_summer)
    )
    assert vars_of(dbt_build_args(window, SETTINGS))["min_ts"] == "2025-08-01T00:00:00+00:00"


def test_without_a_window_the_models_span_all_history():
    assert vars_of(dbt_build_args(None, SETTINGS)) == {
        "reporting_tz": "Europe/Madrid",
        **RECONCILE_DEFAULTS,
    }


def test_the_reconciliation_tolerances_come_from_the_settings():
    settings = Settings.from_env(
        {"SIMBIOSIA_RECONCILE_TOLERANCE": "0.5,0.02", "SIMBIOSIA_RECONCILE_FINAL_AFTER": "30h"}
    )
    assert {
        key: value
        for key, value in vars_of(dbt_build_args(None, settings)).items()
        if key.startswith("reconcile_")
    } == {
        "reconcile_tolerance_abs": "0.5",
        "reconcile_tolerance_rel": "0.02",
        "reconcile_final_after_hours": "30.0",
    }
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_RECONCILE_TOLERANCE"):
        Settings.from_env({"SIMBIOSIA_RECONCILE_TOLERANCE": "1%"})


def test_a_full_refresh_rebuilds_all_history_whatever_the_window():
    args = dbt_build_args(WINDOW, SETTINGS, full_refresh=True)
    assert "--full-refresh" in args
    assert "min_ts" not in vars_of(args)


def test_the_reporting_time_zone_comes_from_the_settings():
    settings = Settings.from_env({"SIMBIOSIA_REPORTING_TZ": "America/New_York"})
    assert vars_of(dbt_build_args(WINDOW, settings))["reporting_tz"] == "America/New_York"
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_REPORTING_TZ"):
        dbt_build_args(WINDOW, Settings.from_env({"SIMBIOSIA_REPORTING_TZ": "Mars/Olympus"}))


def test_the_profile_environment_comes_from_the_warehouse_url():
    assert dbt_profile_env("postgresql+psycopg://ana:s3cr%40t@db.example:6543/costs") == {
        "SIMBIOSIA_DBT_HOST": "db.example",
        "SIMBIOSIA_DBT_PORT": "6543",
        "SIMBIOSIA_DBT_USER": "ana",
        "SIMBIOSIA_DBT_PASSWORD": "s3cr@t",
        "SIMBIOSIA_DBT_DBNAME": "costs",
    }
    # the embedded server's URL: a Unix socket directory as host
    embedded = dbt_profile_env("postgresql://postgres:@/simbiosia?host=/tmp/pgserver")
    assert embedded["SIMBIOSIA_DBT_HOST"] == "/tmp/pgserver"
    assert embedded["SIMBIOSIA_DBT_DBNAME"] == "simbiosia"


def test_the_dbt_environment_is_restored_afterwards(monkeypatch):
    monkeypatch.setenv("SIMBIOSIA_DBT_HOST", "before")
    monkeypatch.delenv("SIMBIOSIA_DBT_DBNAME", raising=False)
    with dbt_environment("postgresql://u@inside:5432/db"):
        assert os.environ["SIMBIOSIA_DBT_HOST"] == "inside"
        assert os.environ["DBT_INDIRECT_SELECTION"] == "buildable"
    assert os.environ["SIMBIOSIA_DBT_HOST"] == "before"
    assert "SIMBIOSIA_DBT_DBNAME" not in os.environ


def test_dbt_is_found_beside_the_interpreter_not_on_path():
    assert Path(dbt_executable()) == Path(sys.executable).parent / "dbt"


def test_one_lineage_graph_from_raw_to_snapshots():
    graph = dg.Definitions(
        assets=[workspace_directory, hourly_cost_models, cost_views],
        resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
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
    }
    assert hourly_cost_models.partitions_def == HOURLY
    assert cost_views.partitions_def is None
    views = {key.to_user_string() for key in cost_views.keys}
    assert views == {
        "public/workspace_daily_costs",
        "public/unattributed_numbers",
        "staging/attribution_rule_counts",
        "public/billing_reconciliation",
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
