"""Settlement end to end: ingest while costs are pending, let time pass, the sensor heals it."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from simbiosia_pipeline.assets.raw_checks import SETTLED_IN_TIME
from simbiosia_pipeline.automation.settlement import settlement_sensor
from simbiosia_pipeline.definitions import HOURLY_JOB, twilio_calls
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.report import print_report
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.expected import hour_of
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    materialize_pipeline,
    materialize_raw,
)

pytestmark = pytest.mark.slow  # six hours at scale 1 built, then settled, in three tests

T = datetime(2025, 10, 8, 12, 5, tzinfo=UTC)
START, END = T.replace(minute=0) - timedelta(hours=6), T.replace(minute=0)
SETTLING = SandboxConfig(seed=3, scale=1.0, now=T)  # a day whose last hours are still settling


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


def test_sensor_requests_unsettled_hours_until_the_tables_equal_the_truth(warehouse_env):
    sandbox = Sandbox(SETTLING)  # its own: the test moves the clock
    sensor = settlement_sensor(HOURLY_JOB, clock=sandbox.now)
    with start_sandbox_server(sandbox) as server, dg.instance_for_test() as instance:
        materialize_pipeline(server.url, START, END)
        with connect(warehouse_env) as conn:
            pending_before = unsettled(conn)
        assert pending_before == truth_unsettled(sandbox) > 0

        sandbox.set_now(T + timedelta(hours=8))  # prices get rated, conversations finish
        context = dg.build_sensor_context(
            instance=instance,
            resources={"warehouse": WarehouseResource(), "settings": PipelineSettings.from_env()},
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
                resources={
                    "warehouse": WarehouseResource(),
                    "settings": PipelineSettings.from_env(),
                },
            )
        )
        assert not again.run_requests
    # What is still pending is exactly what the source itself has not settled yet.
    assert still_pending == truth_unsettled(sandbox) < pending_before


UNANSWERED = ("busy", "no-answer", "failed", "canceled")


def truth_pending_hours(sandbox) -> set[datetime]:
    """Hours holding a completed call without a price or a conversation not final, right now."""
    calls = {
        hour_of(expected.call_time(call))
        for call in sandbox.twilio_calls(START, END)
        if call["price"] is None and call["status"] not in UNANSWERED
    }
    conversations = {
        hour_of(expected.conversation_time(detail))
        for detail in sandbox.conversations(START, END)
        if detail["status"] not in ("done", "failed")
    }
    return calls | conversations


def requested_hours(result) -> set[datetime]:
    hours = set()
    for request in result.run_requests:
        start, end = requested_window(request)
        while start < end:
            hours.add(start)
            start += timedelta(hours=1)
    return hours


def reported_pending(capsys) -> int:
    print_report(Window(START, END))
    total_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "all workspaces" in total_line
    return int(total_line.split()[-1])


def test_unanswered_calls_never_hold_settlement_back(warehouse_env, capsys):
    """Unanswered calls keep `price: null` for good, as on real accounts: they are settled at 0,
    so no hour is re-requested for them, the settlement-age check passes once everything else
    has settled, and the report's pending column counts only what may still change."""
    sandbox = Sandbox(SETTLING)  # its own: the test moves the clock
    sensor = settlement_sensor(HOURLY_JOB, clock=sandbox.now)
    with start_sandbox_server(sandbox) as server, dg.instance_for_test() as instance:

        def tick(cursor=None):
            return sensor.evaluate_tick(
                dg.build_sensor_context(
                    instance=instance,
                    cursor=cursor,
                    resources={
                        "warehouse": WarehouseResource(),
                        "settings": PipelineSettings.from_env(),
                    },
                )
            )

        materialize_pipeline(server.url, START, END)
        truth = sandbox.twilio_calls(START, END)
        unanswered_unpriced = [c for c in truth if c["status"] in UNANSWERED]
        assert unanswered_unpriced
        assert all(call["price"] is None for call in unanswered_unpriced)
        every_hour = {START + timedelta(hours=h) for h in range(6)}
        assert {hour_of(expected.call_time(c)) for c in unanswered_unpriced} == every_hour

        # Eight hours on, the sensor heals what was pending at ingestion...
        sandbox.set_now(T + timedelta(hours=8))
        first = tick()
        for request in first.run_requests:
            materialize_pipeline(server.url, *requested_window(request), steps=("hours",))
        # ...and, past its minimum interval, asks again only for hours that are truly pending:
        # not one for a call that was never answered, though every hour holds some.
        sandbox.set_now(T + timedelta(hours=8, minutes=20))
        second = tick(first.cursor)
        assert requested_hours(second) == truth_pending_hours(sandbox) != every_hour

        # The report's pending column: completed calls waiting for a price, and conversations.
        pending = sum(
            call["price"] is None and call["status"] not in UNANSWERED
            for call in sandbox.twilio_calls(START, END)
        ) + sum(d["status"] not in ("done", "failed") for d in sandbox.conversations(START, END))
        assert reported_pending(capsys) == pending < pending + len(unanswered_unpriced)

        # Days later everything is final: nothing is requested, the settlement-age check passes,
        # and the unanswered calls are still stored with their null price.
        sandbox.set_now(T + timedelta(days=4))
        materialize_pipeline(server.url, START, END, steps=("hours",))
        run = materialize_raw(server.url, START, END, assets=(twilio_calls,))
        (age_check,) = [
            e for e in run.get_asset_check_evaluations() if e.check_name == SETTLED_IN_TIME
        ]
        assert age_check.passed, age_check.metadata
        assert not tick().run_requests
        assert reported_pending(capsys) == 0
        with connect(warehouse_env) as conn:
            nulls = conn.execute(
                "SELECT count(*) FROM raw.twilio_calls WHERE price IS NULL"
                " AND event_time >= %s AND event_time < %s",
                (START, END),
            ).fetchone()[0]
            assert nulls == len(unanswered_unpriced)
            assert_snapshots_equal_truth(conn, sandbox, START, END)


def test_unanswered_calls_priced_zero_settle_the_same(warehouse_env, capsys):
    """The sandbox's old behaviour ("0.00000" on unanswered calls, after a delay) gives the same
    snapshots and the same pending count: the pipeline handles both."""
    later = T + timedelta(days=4)
    sandbox = Sandbox(SandboxConfig(seed=3, scale=1.0, now=later, zero_price_unanswered=True))
    with start_sandbox_server(sandbox) as server:
        materialize_pipeline(server.url, START, END)
    truth = sandbox.twilio_calls(START, END)
    assert {c["price"] for c in truth if c["status"] in UNANSWERED} == {"0.00000"}
    with connect(warehouse_env) as conn:
        assert_snapshots_equal_truth(conn, sandbox, START, END)
        assert unsettled(conn) == 0
    assert reported_pending(capsys) == 0
