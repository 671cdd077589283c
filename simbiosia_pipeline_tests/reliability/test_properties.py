"""Properties: window arithmetic, and "any order of partition runs gives the same tables".

* ``chunks`` (how ``simbiosia backfill`` cuts a range into runs) and ``merge_hours`` (how the
  settlement sensor batches hours) tile exactly what they are given;
* writing a day's records window by window — windows of any size, in any order, overlapping,
  repeated — leaves the raw tables exactly as writing the whole day once does (hypothesis, with
  the sandbox's records and the ingestion's own row mapping, on PostgreSQL);
* end to end, through Dagster and dbt: overlapping ranges run out of order give raw tables
  and snapshots equal to the ground truth (scenario P1 of the table);
* transfer legs and lead callbacks read calls of earlier hours: when those land after the later
  hour was built, the lookback sensor rebuilds it, and it equals the hours built in order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simbiosia_pipeline.automation.settlement import merge_hours
from simbiosia_pipeline.commands import chunks
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sources.records import conversation_row, twilio_row
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
from simbiosia_pipeline.warehouse.writer import replace_window
from simbiosia_pipeline_tests.reliability import ledger
from simbiosia_pipeline_tests.reliability.truth import (
    load_directory_asset,
    materialize_window,
    retries_seen,
    run_ids,
    verify_against_truth,
)

DAY_START = datetime(2025, 10, 8, tzinfo=UTC)
NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
SANDBOX = Sandbox(SandboxConfig(seed=101, scale=0.3, now=NOW))
INGESTED_AT = datetime(2030, 1, 1, tzinfo=UTC)


# --- window arithmetic ------------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=24 * 365),
    st.integers(min_value=1, max_value=24 * 40),
    st.integers(min_value=1, max_value=24 * 7),
)
def test_backfill_chunks_tile_the_range(offset, length, chunk_hours):
    start = datetime(2025, 8, 1, tzinfo=UTC) + offset * HOUR
    window = Window(start, start + length * HOUR)
    pieces = chunks(window, chunk_hours)
    assert pieces[0].start == window.start and pieces[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    assert all(1 <= piece.hours <= chunk_hours for piece in pieces)
    assert all(piece.hours == chunk_hours for piece in pieces[:-1])


@given(st.sets(st.integers(min_value=0, max_value=200)), st.integers(min_value=1, max_value=30))
def test_settlement_batches_cover_each_hour_once(hour_numbers, max_hours):
    hours = sorted(DAY_START + n * HOUR for n in hour_numbers)
    ranges = merge_hours(hours, max_hours)
    covered = [r.start + n * HOUR for r in ranges for n in range(r.hours)]
    assert covered == hours  # every hour once, in order, nothing else
    assert all(1 <= r.hours <= max_hours for r in ranges)
    # ranges are as long as allowed: a range stops early only where the hours stop
    assert all(a.hours == max_hours or a.end != b.start for a, b in itertools.pairwise(ranges))


# --- raw windows in any order -----------------------------------------------------------------


def rows_of(window: Window) -> tuple[list[tuple], list[tuple]]:
    """What the raw assets write for ``window``: the ingestion's own rows of the truth."""
    served = SANDBOX.twilio_calls(window.start, window.end)
    calls = [twilio_row(call, INGESTED_AT) for call in served]
    conversations = [
        conversation_row(detail, INGESTED_AT, store_transcripts=False)
        for detail in SANDBOX.conversations(window.start, window.end)
    ]
    return calls, conversations


def write(conn, window: Window) -> None:
    calls, conversations = rows_of(window)
    replace_window(conn, TWILIO_CALLS, window.start, window.end, calls)
    replace_window(conn, ELEVENLABS_CONVERSATIONS, window.start, window.end, conversations)


def contents(conn) -> tuple[list, list]:
    return (
        conn.execute("SELECT * FROM raw.twilio_calls ORDER BY sid").fetchall(),
        conn.execute("SELECT * FROM raw.elevenlabs_conversations ORDER BY 1").fetchall(),
    )


@st.composite
def window_runs(draw) -> list[Window]:
    """Windows of whole hours of one day, in any order, overlapping and repeating, that
    together cover the day."""
    runs = draw(
        st.lists(
            st.tuples(st.integers(0, 23), st.integers(1, 12)).map(
                lambda t: Window(DAY_START + t[0] * HOUR, DAY_START + min(24, t[0] + t[1]) * HOUR)
            ),
            max_size=8,
        )
    )
    hourly = [Window(DAY_START + h * HOUR, DAY_START + (h + 1) * HOUR) for h in range(24)]
    return draw(st.permutations(runs + hourly))


@pytest.fixture(scope="module")
def raw_database():
    from simbiosia_testing.local_servers import create_database, drop_database

    url = create_database()
    with connect(url) as conn:
        ensure_raw_schema(conn)
        conn.commit()
        write(conn, Window(DAY_START, DAY_START + 24 * HOUR))
        whole_day = contents(conn)
    yield url, whole_day
    drop_database(url)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=window_runs())
def test_raw_windows_in_any_order_equal_the_whole_day_at_once(raw_database, runs):
    url, whole_day = raw_database
    with connect(url) as conn:
        conn.execute("TRUNCATE raw.twilio_calls, raw.elevenlabs_conversations")
        conn.commit()
        for window in runs:
            write(conn, window)
        assert contents(conn) == whole_day
    assert whole_day[0] and whole_day[1]


# --- end to end: overlapping ranges out of order, through Dagster and dbt ----------------------

# Later hours first, overlapping, one hour three times: as an operator's retries might go.
OUT_OF_ORDER = [(12, 20), (6, 14), (11, 12)]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_overlapping_ranges_out_of_order_equal_the_truth(warehouse_env, instance):
    start, end = DAY_START + 6 * HOUR, DAY_START + 20 * HOUR
    runs = []
    with start_sandbox_server(SANDBOX) as server:
        load_directory_asset(instance)
        for first, last in OUT_OF_ORDER:
            runs.append(
                materialize_window(
                    server.url, DAY_START + first * HOUR, DAY_START + last * HOUR, instance=instance
                )
            )
    verify_against_truth(
        warehouse_env,
        SANDBOX,
        start,
        end,
        scenario="P1 overlapping ranges run out of order",
        faults="3 ranged runs (raw + snapshots), later hours first, overlapping: hours 11-13 twice",
        retries=retries_seen(instance, run_ids(runs)),
    )


# --- attribution that looks back across hours ----------------------------------------------------

OWNED, LEAD, UNOWNED_SIP = "+34930340228", "+34600000777", "+34930345511"
H10, H11 = datetime(2025, 10, 8, 10, tzinfo=UTC), datetime(2025, 10, 8, 11, tzinfo=UTC)


@pytest.mark.slow
def test_hours_built_latest_first_are_restated_like_hours_built_in_order(warehouse_env, instance):
    """A transfer leg at 11:00:20 whose parent call started at 10:59, and a lead calling back an
    unowned SIP number at 11:30 after an owned number called it at 10:40: hour 11 belongs to
    the parent's and the lead's workspace whichever hour is ingested and built first — once the
    lookback sensor has rebuilt hour 11 after hour 10's calls landed."""
    import dagster as dg

    from simbiosia_pipeline.assets.raw import RECORDS_ADDED
    from simbiosia_pipeline.automation.lookback import TWILIO_CALLS, lookback_restatement_sensor
    from simbiosia_pipeline.dbt.assets import hourly_cost_models
    from simbiosia_pipeline.definitions import RESTATE_JOB
    from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
    from simbiosia_pipeline_tests.reliability.truth import (
        SANDBOX_DIRECTORY,
        pipeline_resources,
        snapshot_mismatches,
    )
    from simbiosia_pipeline_tests.transform.api_records import store_records, twilio_call

    parent = twilio_call("outbound-api", OWNED, "+34600000001", H10 + timedelta(minutes=59))
    hour_10 = [parent, twilio_call("outbound-api", OWNED, LEAD, H10 + timedelta(minutes=40))]
    hour_11 = [
        twilio_call("outbound-dial", OWNED, "+34600000002", H11 + timedelta(seconds=20),
                    parent=parent["sid"]),
        twilio_call("trunking-originating", LEAD, f"sip:{UNOWNED_SIP}@public-vip.ie1.twilio.com",
                    H11 + timedelta(minutes=30)),
    ]  # fmt: skip
    load_directory_asset(instance)

    def build(hour: datetime, **tags) -> None:
        dg.materialize(
            [hourly_cost_models],
            partition_key=None if tags else hour.strftime(PARTITION_KEY_FORMAT),
            tags=tags,
            resources=pipeline_resources(),
            instance=instance,
        )

    def ingested(hour: datetime, calls: list[dict], added: int | None = None) -> None:
        """The calls land, and their raw write is recorded as the raw asset records it."""
        with connect(warehouse_env) as conn:
            store_records(conn, calls)
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=TWILIO_CALLS,
                partition=hour.strftime(PARTITION_KEY_FORMAT),
                metadata={
                    "window_start": hour.isoformat(),
                    "window_end": (hour + HOUR).isoformat(),
                    RECORDS_ADDED: len(calls) if added is None else added,
                },
            )
        )

    lookback = lookback_restatement_sensor(RESTATE_JOB)

    cursor: list[str | None] = [None]

    def sensor_requests() -> list[dg.RunRequest]:
        tick = lookback.evaluate_tick(dg.build_sensor_context(instance, cursor=cursor[0]))
        cursor[0] = tick.cursor
        return tick.run_requests

    with connect(warehouse_env) as conn:
        ensure_raw_schema(conn)
    ingested(H11, hour_11)
    build(H11)  # a backfill of the later hours ran first...
    assert sensor_requests() == []  # nothing built after hour 11 yet
    ingested(H10, hour_10)
    build(H10)  # ...then one of the earlier hours
    [request] = sensor_requests()
    assert request.tags["dagster/asset_partition_range_start"] == "2025-10-08-11:00"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-10-08-11:00"
    build(H11, **request.tags)
    ingested(H10, hour_10, added=0)  # written again (settlement, a rerun): nothing new
    assert sensor_requests() == []
    with connect(warehouse_env) as conn:
        compared, problems = snapshot_mismatches(
            conn, hour_10 + hour_11, [], H10, H11 + HOUR, SANDBOX_DIRECTORY
        )
    result = ledger.ScenarioResult(
        name="P2 an hour built before the calls it looks back on",
        faults="hour 11 built before hour 10's calls landed (a transfer leg's parent, "
        "a lead's last call); the lookback sensor's restatement",
        retries="none",
        records_checked=len(hour_10) + len(hour_11) + compared,
        mismatches=len(problems),
        seconds=ledger.seconds_since_start(ledger.CURRENT.get("test")),
    )
    ledger.RESULTS.append(result)
    assert problems == []
