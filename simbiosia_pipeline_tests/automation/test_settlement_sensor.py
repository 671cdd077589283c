"""Settlement end to end: ingest while costs are pending, let time pass, the sensor heals it."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from simbiosia_pipeline.automation.sensors import settlement_sensor
from simbiosia_pipeline.definitions import HOURLY_JOB
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    materialize_pipeline,
)

T = datetime(2025, 10, 8, 12, 5, tzinfo=UTC)
START, END = T.replace(minute=0) - timedelta(hours=6), T.replace(minute=0)


def unsettled(conn) -> int:
    # Pending: a null price that may still land — not an unanswered call's, which stays null.
    calls = conn.execute(
        "SELECT count(*) FROM raw.twilio_calls WHERE price IS NULL"
        " AND status NOT IN ('busy', 'no-answer', 'failed', 'canceled')"
    ).fetchone()
    conversations = conn.execute(
        "SELECT count(*) FROM raw.elevenlabs_conversations WHERE status NOT IN ('done', 'failed')"
    ).fetchone()
    return calls[0] + conversations[0]


def requested_window(request) -> tuple[datetime, datetime]:
    start, end = (
        datetime.strptime(request.tags[f"dagster/asset_partition_range_{side}"], "%Y-%m-%d-%H:%M")
        for side in ("start", "end")
    )
    return start.replace(tzinfo=UTC), end.replace(tzinfo=UTC) + timedelta(hours=1)


def truth_unsettled(sandbox) -> int:
    calls = sum(
        call["price"] is None and call["status"] not in ("busy", "no-answer", "failed", "canceled")
        for call in sandbox.twilio_calls(START, END)
    )
    conversations = sum(
        detail["status"] not in ("done", "failed") for detail in sandbox.conversations(START, END)
    )
    return calls + conversations


@pytest.fixture
def sandbox():
    return Sandbox(SandboxConfig(seed=3, scale=1.0, now=T))


def test_sensor_requests_unsettled_hours_until_the_tables_equal_the_truth(sandbox, warehouse_env):
    sensor = settlement_sensor(HOURLY_JOB, clock=sandbox.now)
    with start_sandbox_server(sandbox) as server, dg.instance_for_test() as instance:
        materialize_pipeline(server.url, START, END)
        with connect(warehouse_env) as conn:
            pending_before = unsettled(conn)
        assert pending_before == truth_unsettled(sandbox) > 0

        sandbox.set_now(T + timedelta(hours=8))  # prices get rated, conversations finish
        context = dg.build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource()}
        )
        result = sensor.evaluate_tick(context)
        assert result.run_requests, result.skip_message
        for request in result.run_requests:  # what the hourly job does for each request
            materialize_pipeline(server.url, *requested_window(request), steps=("hours",))
        with connect(warehouse_env) as conn:
            assert_raw_equals_truth(conn, sandbox, START, END)
            assert_snapshots_equal_truth(conn, sandbox, START, END)
            still_pending = unsettled(conn)

        # The same hours are not asked for again within the minimum interval.
        again = sensor.evaluate_tick(
            dg.build_sensor_context(
                instance=instance,
                cursor=result.cursor,
                resources={"warehouse": WarehouseResource()},
            )
        )
        assert not again.run_requests
    # What is still pending is exactly what the source itself has not settled yet.
    assert still_pending == truth_unsettled(sandbox) < pending_before
