"""Scenario 5: prices and conversation costs that arrive after the first ingestion restate
exactly the hours they belong to.

Fourteen hours are ingested and their snapshots built at 12:05, when Twilio has not rated the last
calls and the last conversations are still running or processing. The sandbox clock then moves
eight hours on: the prices land, the conversations finish. The settlement sensor (the production
one, on the sandbox's clock) asks for the hours that held pending costs; each request runs the
raw assets and the hourly models over its range. Then:

* the window equals the ground truth at the new time (raw and snapshots);
* every snapshot row whose values changed belongs to a restated hour, and every hour that was
  not restated is untouched — not even ``created_at`` moved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from simbiosia_pipeline.automation.settlement import settlement_sensor
from simbiosia_pipeline.definitions import HOURLY_JOB
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.reliability.truth import (
    load_directory_asset,
    materialize_window,
    retries_seen,
    run_ids,
    verify_against_truth,
)

pytestmark = pytest.mark.slow  # ingestion and dbt builds before and after the late costs

T = datetime(2025, 10, 8, 12, 5, tzinfo=UTC)
LATER = T + timedelta(hours=8)
START, END = datetime(2025, 10, 7, 22, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
SNAPSHOT_TABLES = ("twilio_snapshots", "elevenlabs_snapshots")


def snapshot_rows(database_url: str) -> dict[tuple, tuple]:
    """(table, workspace, hour) → the whole row as stored, created_at included."""
    rows = {}
    with connect(database_url) as conn:
        for table in SNAPSHOT_TABLES:
            for row in conn.execute(f"SELECT * FROM public.{table} ORDER BY id"):
                _id, workspace_id, hour, *values = row
                rows[(table, workspace_id, hour)] = tuple(values)
    return rows


def pending_hours(database_url: str) -> set[datetime]:
    """Hours holding a record whose cost is not final."""
    with connect(database_url) as conn:
        return {
            row[0]
            for row in conn.execute(
                # unanswered calls keep a null price for good: settled at 0, not pending
                "SELECT date_trunc('hour', event_time) FROM raw.twilio_calls WHERE price IS NULL"
                " AND status NOT IN ('busy', 'no-answer', 'failed', 'canceled')"
                " UNION SELECT date_trunc('hour', start_time) FROM raw.elevenlabs_conversations"
                " WHERE status NOT IN ('done', 'failed')"
            )
        }


def requested_ranges(result) -> list[tuple[datetime, datetime]]:
    def hour(tag: str) -> datetime:
        return datetime.strptime(tag, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)

    return [
        (
            hour(request.tags["dagster/asset_partition_range_start"]),
            hour(request.tags["dagster/asset_partition_range_end"]) + HOUR,
        )
        for request in result.run_requests
    ]


def hours_of(ranges: list[tuple[datetime, datetime]]) -> set[datetime]:
    hours = set()
    for start, end in ranges:
        while start < end:
            hours.add(start)
            start += HOUR
    return hours


def test_late_costs_restate_exactly_their_hours(warehouse_env, instance):
    sandbox = Sandbox(SandboxConfig(seed=3, scale=0.8, now=T))
    sensor = settlement_sensor(HOURLY_JOB, clock=sandbox.now)
    with start_sandbox_server(sandbox) as server:
        load_directory_asset(instance)
        runs = [materialize_window(server.url, START, END, instance=instance)]
        before = snapshot_rows(warehouse_env)
        pending = pending_hours(warehouse_env)
        assert pending, "nothing was pending at T: the scenario proves nothing"

        sandbox.set_now(LATER)
        tick = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance,
                resources={
                    "warehouse": WarehouseResource(),
                    "settings": PipelineSettings.from_env(),
                },
            )
        )
        ranges = requested_ranges(tick)
        assert hours_of(ranges) == pending, "the sensor must ask for every pending hour"
        for start, end in ranges:
            runs.append(materialize_window(server.url, start, end, instance=instance))

    after = snapshot_rows(warehouse_env)
    restated = hours_of(ranges)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    values_changed = {
        key
        for key in changed
        if (before.get(key) or (None,))[:-1] != (after.get(key) or (None,))[:-1]
    }
    assert values_changed, "no cost arrived late: the scenario proves nothing"
    assert {hour for _table, _ws, hour in changed} <= restated
    untouched = {key for key in before if key[2] not in restated}
    assert untouched and all(after[key] == before[key] for key in untouched)

    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S5 late prices and costs restate their hours",
        faults=f"costs landing after ingestion: {len(values_changed)} snapshot rows changed, "
        f"{len(restated)} hours restated, {len(untouched)} rows of other hours untouched",
        retries=retries_seen(instance, run_ids(runs)),
    )
