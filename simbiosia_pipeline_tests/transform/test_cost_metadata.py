"""The cost assets' metadata in the Dagster UI: each hour its own numbers, equal to the warehouse.

One ranged run over four hours (the last one without records) through Dagster; the
materialization of each hour of the snapshot assets must carry that hour's sums, and the daily
cost view the latest day's totals per workspace.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta

import dagster as dg
import pytest
import yaml

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.dbt.assets import cost_views, hourly_cost_models
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT, partition_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.transform.conftest import DBT
from simbiosia_pipeline_tests.transform.test_restatement import (
    H9,
    H12,
    STEADY_CALLS,
    STEADY_CONVERSATIONS,
    directory,
)

HOURS = [H9 + n * timedelta(hours=1) for n in range(4)]
KEYS = [hour.strftime(PARTITION_KEY_FORMAT) for hour in HOURS]
TWILIO = dg.AssetKey(["public", "twilio_snapshots"])
ELEVENLABS = dg.AssetKey(["public", "elevenlabs_snapshots"])
DAILY = dg.AssetKey(["public", "workspace_daily_costs"])


@pytest.fixture(scope="module")
def run(warehouse, tmp_path_factory) -> dg.ExecuteInProcessResult:
    workspaces_file = tmp_path_factory.mktemp("directory") / "workspaces.yaml"
    workspaces_file.write_text(yaml.safe_dump(directory(5).model_dump(mode="json")))
    warehouse.store(STEADY_CALLS, STEADY_CONVERSATIONS)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SIMBIOSIA_DATABASE_URL", warehouse.url)
        env.setenv("SIMBIOSIA_WORKSPACES_FILE", str(workspaces_file))
        return dg.materialize(
            [workspace_directory, hourly_cost_models, cost_views],
            resources={
                "warehouse": WarehouseResource(),
                "dbt": DBT,
                "settings": PipelineSettings.from_env(),
            },
            tags=partition_range_tags(KEYS[0], KEYS[-1]),
        )


def metadata_by_hour(run, key: dg.AssetKey) -> dict[str, dict]:
    return {
        event.partition: {name: value.value for name, value in event.metadata.items()}
        for event in run.asset_materializations_for_node("hourly_cost_models")
        if event.asset_key == key
    }


def sums_by_hour(warehouse, query: str) -> dict[str, dict]:
    sums: dict[str, dict] = {key: defaultdict(int) for key in KEYS}
    for row in warehouse.rows(query):
        hour = row.pop("hour").astimezone(UTC).strftime(PARTITION_KEY_FORMAT)
        for name, value in row.items():
            sums[hour][name] += value
    return sums


def test_each_hour_of_twilio_snapshots_reports_its_own_calls_minutes_and_cost(run, warehouse):
    reported = metadata_by_hour(run, TWILIO)
    assert set(reported) == set(KEYS)  # one materialization per hour, the empty one included
    expected = sums_by_hour(
        warehouse,
        "select snapshot_date as hour, total_calls as calls, real_minutes as minutes,"
        " total_cost as cost_usd, unpriced_calls from twilio_snapshots",
    )
    for key in KEYS:
        assert {name: reported[key][name] for name in expected[key]} == {
            name: float(value) if name == "cost_usd" else value
            for name, value in expected[key].items()
        }
    assert [reported[key]["calls"] for key in KEYS] == [1, 3, 1, 0]  # not the window's total
    assert reported[H12.strftime(PARTITION_KEY_FORMAT)]["cost_usd"] == 0.0
    # dbt's duration of the ranged build is the window's: one JSON entry, no number per hour
    for key in KEYS:
        assert "Execution Duration" not in reported[key]
        assert reported[key]["window_figures"]["Execution Duration"] > 0


def test_each_hour_of_elevenlabs_snapshots_reports_conversations_minutes_credits_and_usd(
    run, warehouse
):
    reported = metadata_by_hour(run, ELEVENLABS)
    assert set(reported) == set(KEYS)
    snapshots = sums_by_hour(
        warehouse,
        "select snapshot_date as hour, total_conversations as conversations,"
        " total_duration as seconds, total_cost as cost_credits from elevenlabs_snapshots",
    )
    usd = sums_by_hour(
        warehouse,
        "select date_trunc('hour', start_time, 'UTC') as hour, cost_usd"
        " from staging.stg_elevenlabs_conversations",
    )
    for key in KEYS:
        assert reported[key]["conversations"] == snapshots[key]["conversations"]
        assert reported[key]["minutes"] == float(snapshots[key]["seconds"] / 60)
        assert reported[key]["cost_credits"] == float(snapshots[key]["cost_credits"])
        assert reported[key]["cost_usd"] == float(usd[key]["cost_usd"])
    assert [reported[key]["conversations"] for key in KEYS] == [1, 1, 1, 0]
    assert reported[KEYS[0]]["cost_usd"] > 0


def test_the_daily_cost_view_reports_the_latest_days_costs_per_workspace(run, warehouse):
    (event,) = [
        event
        for event in run.asset_materializations_for_node("cost_views")
        if event.asset_key == DAILY
    ]
    rows = warehouse.rows(
        "select costs.*, workspaces.name from workspace_daily_costs as costs"
        " join workspaces on workspaces.id = costs.workspace_id"
        " where day = (select max(day) from workspace_daily_costs)"
    )
    assert event.metadata["day"].value == rows[0]["day"].isoformat()
    assert event.metadata["workspaces"].value == len(rows)
    assert event.metadata["total_usd"].value == float(sum(row["total_usd"] for row in rows))
    table = event.metadata["costs"].value
    for row in rows:
        assert f"| {row['workspace_id']} {row['name']} | {row['calls']} |" in table
        assert f"| {row['total_usd']:.2f} |" in table
