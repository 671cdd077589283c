"""Raw ingestion end to end: sandbox over HTTP → Dagster assets → PostgreSQL, against the truth."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import httpx
import pytest

from simbiosia_pipeline.assets.raw import RECORDS_ADDED
from simbiosia_pipeline.assets.raw_checks import SETTLED_IN_TIME
from simbiosia_pipeline.definitions import elevenlabs_conversations
from simbiosia_pipeline.sandbox import SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    materialize_raw,
    sandbox_stats,
    stored_calls,
    stored_conversations,
)

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)  # a fixed clock: some records still unsettled
DAY = timedelta(days=1)
# Crosses two UTC midnights and ends in the hours whose costs are not final yet.
START, END = datetime(2025, 10, 6, 20, tzinfo=UTC), datetime(2025, 10, 9, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=11, scale=0.5, now=NOW)


def test_multi_day_range_equals_the_ground_truth(sandbox_server, sandbox, warehouse_env):
    materialize_raw(sandbox_server.url, START, END)
    with connect(warehouse_env) as conn:
        checked = assert_raw_equals_truth(conn, sandbox, START, END)
        unsettled = conn.execute(
            "SELECT count(*) FROM raw.twilio_calls WHERE price IS NULL AND status = 'completed'"
        )
        assert unsettled.fetchone()[0] > 0  # the window's end is not rated yet, as in life
    assert checked > 500


def test_records_unsettled_past_the_max_age_warn_without_blocking(
    sandbox_server, warehouse_env, monkeypatch
):
    # The sandbox's records are from 2025: against today's clock every unsettled one is overdue.
    run = materialize_raw(sandbox_server.url, START, END)
    with connect(warehouse_env) as conn:
        # pending: a null price on a call that was not left unanswered (those are settled at 0)
        unpriced_calls = conn.execute(
            "SELECT count(*) FROM raw.twilio_calls WHERE price IS NULL"
            " AND status NOT IN ('busy', 'no-answer', 'failed', 'canceled')"
        )
        unfinished = conn.execute(
            "SELECT count(*) FROM raw.elevenlabs_conversations"
            " WHERE status NOT IN ('done', 'failed')"
        )
        expected = {
            "raw/twilio_calls": unpriced_calls.fetchone()[0],
            "raw/elevenlabs_conversations": unfinished.fetchone()[0],
        }
    assert expected["raw/twilio_calls"] > 0  # the window's last hours are not rated yet
    verdicts = _settlement_verdicts(run)
    assert {key: v.metadata["overdue_records"].value for key, v in verdicts.items()} == expected
    assert {key: v.passed for key, v in verdicts.items()} == {
        key: overdue == 0 for key, overdue in expected.items()
    }
    assert {v.severity for v in verdicts.values()} == {dg.AssetCheckSeverity.WARN}

    # With a max age reaching back before the records, nothing is overdue.
    monkeypatch.setenv("SIMBIOSIA_SETTLE_MAX_AGE", "3650d")
    verdicts = _settlement_verdicts(materialize_raw(sandbox_server.url, START, END))
    assert all(v.passed and v.metadata["overdue_records"].value == 0 for v in verdicts.values())


def _settlement_verdicts(run) -> dict:
    return {
        e.asset_key.to_user_string(): e
        for e in run.get_asset_check_evaluations()
        if e.check_name == SETTLED_IN_TIME
    }


def test_one_hour_and_rerun_is_idempotent(sandbox_server, sandbox, warehouse_env):
    hour = datetime(2025, 10, 8, 10, tzinfo=UTC)
    first_run = materialize_raw(sandbox_server.url, hour, hour + timedelta(hours=1))
    with connect(warehouse_env) as conn:
        checked = assert_raw_equals_truth(conn, sandbox, hour, hour + timedelta(hours=1))
        first = _table_contents(conn)
    rerun = materialize_raw(sandbox_server.url, hour, hour + timedelta(hours=1))
    with connect(warehouse_env) as conn:
        assert _table_contents(conn) == first
        # Nothing outside the hour was written.
        assert stored_calls(conn, hour - DAY, hour) == {}
    # What the lookback sensor reads: the first write added every record, the rerun none.
    assert sum(_records_added(first_run).values()) == checked
    assert _records_added(rerun) == {"raw/twilio_calls": 0, "raw/elevenlabs_conversations": 0}


def test_ranged_run_equals_the_same_hours_run_one_by_one(sandbox_server, warehouse_env):
    start = datetime(2025, 10, 7, 22, tzinfo=UTC)
    end = start + timedelta(hours=4)
    for hour in range(4):
        at = start + timedelta(hours=hour)
        materialize_raw(sandbox_server.url, at, at + timedelta(hours=1))
    with connect(warehouse_env) as conn:
        one_by_one = _table_contents(conn)
    materialize_raw(sandbox_server.url, start, end)
    with connect(warehouse_env) as conn:
        assert _table_contents(conn) == one_by_one


def test_faults_do_not_change_the_result(sandbox, warehouse_env):
    faults = {
        "error_rate": 0.15,
        "truncate_rate": 0.1,
        "reset_rate": 0.05,
        "duplicate_rate": 0.5,
        "hang_rate": 0.08,
        "latency_ms": 3,
        "hang_seconds": 3,
        "elevenlabs_max_concurrency": 2,
        "retry_after": False,
    }
    start, end = datetime(2025, 10, 7, 9, tzinfo=UTC), datetime(2025, 10, 7, 13, tzinfo=UTC)
    with start_sandbox_server(sandbox) as server:
        httpx.put(f"{server.url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()
        # Small Twilio pages, so that pages (and duplicated records across them) are many.
        materialize_raw(server.url, start, end, request_timeout_seconds=1.0, twilio_page_size=50)
        stats = sandbox_stats(server.url)
    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, start, end)
    injected = {kind: count for kind, count in stats["faults"].items() if count}
    assert {"error", "truncate", "reset", "duplicate", "hang", "rate_limit"} <= injected.keys(), (
        injected
    )


def test_a_fault_that_never_clears_fails_the_run_and_changes_nothing(sandbox, warehouse_env):
    start, end = datetime(2025, 10, 8, 9, tzinfo=UTC), datetime(2025, 10, 8, 11, tzinfo=UTC)
    with start_sandbox_server(sandbox) as server:
        materialize_raw(server.url, start, end)
        with connect(warehouse_env) as conn:
            before = _table_contents(conn)
        httpx.put(f"{server.url}/_sandbox/faults", json={"error_rate": 1.0}, timeout=5)
        result = materialize_raw(
            server.url, start, end, raise_on_error=False, max_attempts=3, request_timeout_seconds=1
        )
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "still failing after 3 attempts" in str(failure.step_failure_data.error.message) + str(
        failure.step_failure_data.error.cause
    )
    with connect(warehouse_env) as conn:
        assert _table_contents(conn) == before


def test_concurrency_limit_is_respected_without_losing_records(sandbox, warehouse_env):
    start, end = datetime(2025, 10, 8, 8, tzinfo=UTC), datetime(2025, 10, 8, 14, tzinfo=UTC)
    with start_sandbox_server(sandbox) as server:
        httpx.put(
            f"{server.url}/_sandbox/faults",
            json={"elevenlabs_max_concurrency": 3, "latency_ms": 5, "retry_after": False},
            timeout=5,
        ).raise_for_status()
        materialize_raw(
            server.url, start, end, assets=[elevenlabs_conversations], elevenlabs_concurrency=8
        )
        stats = sandbox_stats(server.url)
    with connect(warehouse_env) as conn:
        stored = stored_conversations(conn, start, end)
    assert stored.keys() == {c["conversation_id"] for c in sandbox.conversations(start, end)}
    requests = stats["requests"]["elevenlabs"]
    throttled = stats["responses"]["elevenlabs"].get("429", 0)
    # The adaptive limiter settles under the limit: 429s stay a small share of the requests.
    assert throttled < 0.25 * requests


def _table_contents(conn) -> tuple:
    calls = conn.execute("SELECT sid, payload, price FROM raw.twilio_calls ORDER BY sid").fetchall()
    conversations = conn.execute(
        "SELECT conversation_id, payload, cost FROM raw.elevenlabs_conversations ORDER BY 1"
    ).fetchall()
    return calls, conversations


def _records_added(result) -> dict[str, int]:
    return {
        event.asset_key.to_user_string(): event.materialization.metadata[RECORDS_ADDED].value
        for event in result.get_asset_materialization_events()
    }


def test_each_hour_of_a_ranged_run_carries_its_own_figures(sandbox_server, sandbox, warehouse_env):
    """Not the window's: hour by hour, the metadata equals the sandbox's records of that hour,
    and the warehouse's; the hours are recorded as loaded, empty or not."""
    start = datetime(2025, 10, 8, 1, tzinfo=UTC)  # night hours: some with few records
    end = start + timedelta(hours=4)
    run = materialize_raw(sandbox_server.url, start, end)
    events = {
        (e.asset_key.to_user_string(), e.partition): e.materialization.metadata
        for e in run.get_asset_materialization_events()
    }
    assert len(events) == 8
    hour_counts = set()
    for n in range(4):
        hour = start + timedelta(hours=n)
        key = hour.strftime("%Y-%m-%d-%H:%M")
        calls = sandbox.twilio_calls(hour, hour + timedelta(hours=1))
        conversations = sandbox.conversations(hour, hour + timedelta(hours=1))
        twilio = events["raw/twilio_calls", key]
        assert twilio["dagster/row_count"].value == len(calls)
        usd = sum(
            (abs(Decimal(c["price"])) for c in calls if c["price"] and c["price_unit"] == "USD"),
            Decimal(0),
        )
        assert twilio["price_usd_total"].value == float(usd)
        assert twilio["price_totals_by_currency"].value.get("USD", "0") == str(usd) or usd == 0
        elevenlabs = events["raw/elevenlabs_conversations", key]
        assert elevenlabs["dagster/row_count"].value == len(conversations)
        credits = sum(
            (Decimal(str(d["metadata"]["cost"])) for d in conversations if d["metadata"]["cost"]),
            Decimal(0),
        )
        assert elevenlabs["credits_exact"].value == str(credits) or credits == 0
        assert elevenlabs["credits_total"].value == float(credits)
        hour_counts.add(len(calls))
        # The window's figures are not on the hours.
        assert "rows_replaced" not in twilio and "seconds_total" not in elevenlabs
        with connect(warehouse_env) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM raw.twilio_calls WHERE event_time >= %s AND event_time < %s",
                (hour, hour + timedelta(hours=1)),
            ).fetchone()[0]
        assert stored == len(calls)
    assert len(hour_counts) > 1  # hours differ: not one figure copied everywhere
    with connect(warehouse_env) as conn:
        loaded = conn.execute(
            "SELECT source_table, count(*) FROM raw.loaded_hours"
            " WHERE hour >= %s AND hour < %s GROUP BY 1 ORDER BY 1",
            (start, end),
        ).fetchall()
    assert loaded == [("raw.elevenlabs_conversations", 4), ("raw.twilio_calls", 4)]
