"""The cost tables for a window equal what the reference computes from the API records, exactly.

Six hours of records from 2025-10-25 21:00 UTC (transfers spill into a seventh) span the night
Madrid leaves summer time (02:00 local happens twice), a number changing hands at 00:00 UTC and a
new credit rate from the same instant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.transform.dataset import directory, generate

START = datetime(2025, 10, 25, 21, tzinfo=UTC)
END = START + timedelta(hours=7)
HANDOVER = RATE_CHANGE = datetime(2025, 10, 26, tzinfo=UTC)
DIRECTORY = directory(handover=HANDOVER, rate_change=RATE_CHANGE)
RECORDS = generate(START, hours=6, per_hour=30, seed=20251026)
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.load_directory(DIRECTORY)
    warehouse.store(RECORDS.calls, RECORDS.conversations)
    warehouse.build(START, END)  # its dbt tests (reconciliation included) must pass, too
    return warehouse


def by_bucket(rows: list[dict], fields) -> dict:
    return {
        (row["workspace_id"], row["snapshot_date"]): {f: row[f] for f in fields} for row in rows
    }


def test_twilio_snapshots_equal_the_reference(built):
    reference = expected.twilio_snapshots(RECORDS.calls, DIRECTORY)
    fields = list(asdict(next(iter(reference.values()))))
    stored = by_bucket(built.rows("SELECT * FROM twilio_snapshots"), fields)

    assert stored == {key: asdict(row) for key, row in reference.items()}
    assert sum(row["unpriced_calls"] for row in stored.values()) > 0
    assert sum(row["unconverted_calls"] for row in stored.values()) > 0  # the JPY calls
    assert {workspace for workspace, _ in stored} == {1, 4, 5}


def test_only_completed_calls_without_a_price_are_pending(built):
    """Unanswered calls with a null price are settled at 0; the rest of the null prices pend."""
    unanswered_unpriced = [
        call
        for call in RECORDS.calls
        if call["price"] is None and call["status"] in expected.UNANSWERED_STATUSES
    ]
    assert unanswered_unpriced
    sids = [call["sid"] for call in unanswered_unpriced]
    rows = built.rows(
        "SELECT cost_pending, cost_usd FROM staging.stg_twilio_calls WHERE sid = ANY(%s)", (sids,)
    )
    assert rows == [{"cost_pending": False, "cost_usd": Decimal(0)}] * len(sids)
    settled = built.rows(
        "SELECT count(*) AS n FROM call_costs WHERE twilio_call_sid = ANY(%s) AND conversation_id"
        " IS NULL AND is_settled AND twilio_usd = 0",
        (sids,),
    )
    assert settled == [{"n": len(sids)}]
    pending = built.rows("SELECT status FROM staging.stg_twilio_calls WHERE cost_pending")
    assert pending
    assert {row["status"] for row in pending} == {"completed"}


def test_prices_in_another_currency_are_converted_at_the_rate_of_the_call_start(built):
    calls = {call["sid"]: call for call in RECORDS.calls}
    rows = built.rows(
        "SELECT sid, price_unit, usd_per_price_unit, cost_usd, is_unconverted"
        " FROM staging.stg_twilio_calls WHERE price IS NOT NULL"
    )
    by_unit = defaultdict(list)
    for row in rows:
        call = calls[row["sid"]]
        by_unit[row["price_unit"]].append(expected.call_time(call) >= RATE_CHANGE)
        assert row["cost_usd"] == expected.twilio_usd(call, DIRECTORY), row
        assert row["is_unconverted"] == (row["price_unit"] == "JPY")
    assert set(by_unit) == {"USD", "EUR", "JPY"}
    assert set(by_unit["EUR"]) == {True, False}  # calls on both sides of the rate change


def test_elevenlabs_snapshots_equal_the_reference(built):
    reference = expected.elevenlabs_snapshots(RECORDS.conversations, DIRECTORY)
    fields = list(asdict(next(iter(reference.values()))))
    stored = by_bucket(built.rows("SELECT * FROM elevenlabs_snapshots"), fields)

    assert stored == {key: asdict(row) for key, row in reference.items()}
    assert sum(row["unsettled_conversations"] for row in stored.values()) > 0
    assert sum(row["dev_discount"] for row in stored.values()) > 0
    assert sum(row["total_cost_fiat"] for row in stored.values()) > 0
    assert sum(row["voice_surcharge_charge"] for row in stored.values()) > 0
    assert all(
        row["total_credits_charged"] == row["total_cost"] + row["voice_surcharge_charge"]
        for row in stored.values()
    )


def test_snapshot_rows_have_the_old_columns_and_exact_types(built):
    columns = {
        row["column_name"]: row["data_type"]
        for row in built.rows(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = 'twilio_snapshots'"
        )
    }
    assert columns == {
        "id": "bigint",
        "workspace_id": "integer",
        "snapshot_date": "timestamp with time zone",
        "total_calls": "integer",
        "total_cost": "numeric",
        "total_duration": "integer",
        "real_minutes": "integer",
        "unpriced_calls": "integer",
        "created_at": "timestamp with time zone",
        "unconverted_calls": "integer",  # added after the old columns
    }
    unique_indexes = built.rows(
        "SELECT indexdef FROM pg_indexes WHERE tablename IN ('twilio_snapshots',"
        " 'elevenlabs_snapshots') AND indexdef LIKE 'CREATE UNIQUE%%'"
    )
    assert len(unique_indexes) == 2
    assert all("(workspace_id, snapshot_date)" in row["indexdef"] for row in unique_indexes)


def test_call_costs_pair_every_record_once(built):
    reference = expected.pair_calls(RECORDS.calls, RECORDS.conversations)
    stored = built.rows("SELECT twilio_call_sid, conversation_id, pairing FROM call_costs")

    assert sorted(map(tuple, map(dict.values, stored)), key=str) == sorted(
        ((p.twilio_call_sid, p.conversation_id, p.pairing) for p in reference), key=str
    )
    assert {p.pairing for p in reference} == {
        "call_sid",
        "sip_numbers_and_time",
        "twilio_only",
        "elevenlabs_only",
    }


def test_competing_sip_calls_pair_closest_first(built):
    rows = built.rows(
        """SELECT c.conversation_id, t.event_time - e.start_time AS gap
           FROM call_costs c
           JOIN staging.stg_twilio_calls t ON t.sid = c.twilio_call_sid
           JOIN staging.stg_elevenlabs_conversations e ON e.conversation_id = c.conversation_id
           WHERE t.to_number = '+34600009999'"""
    )
    # conversations at +0 s and +50 s, legs at +40 s and +100 s: +50/+40 is closest, then +0/+100
    assert sorted(row["gap"].total_seconds() for row in rows) == [-10, 100]


def test_call_costs_convert_credits_at_the_dated_rate(built):
    conversations = {c["conversation_id"]: c for c in RECORDS.conversations}
    for row in built.rows("SELECT * FROM call_costs WHERE conversation_id IS NOT NULL"):
        detail = conversations[row["conversation_id"]]
        credits = detail["metadata"]["cost"]
        rate = expected.usd_per_credit(DIRECTORY, expected.conversation_time(detail))
        assert row["usd_per_credit"] == rate
        assert row["elevenlabs_usd"] == (None if credits is None else credits * rate)
        assert row["total_usd"] == (row["twilio_usd"] or 0) + (row["elevenlabs_usd"] or 0)


def test_call_costs_show_both_usd_views_of_elevenlabs(built):
    conversations = {c["conversation_id"]: c for c in RECORDS.conversations}
    rows = built.rows("SELECT * FROM call_costs WHERE conversation_id IS NOT NULL")
    for row in rows:
        metadata = conversations[row["conversation_id"]]["metadata"]
        fiat = metadata.get("cost_fiat")
        surcharge = metadata["charging"].get("voice_surcharge_charge") or 0
        assert row["elevenlabs_cost_fiat_usd"] == (None if fiat is None else Decimal(str(fiat)))
        if metadata["cost"] is None:
            assert row["elevenlabs_credits_charged"] is None
            continue
        assert row["elevenlabs_credits_charged"] == metadata["cost"] + surcharge
        charged = metadata["cost"] + surcharge
        assert row["elevenlabs_charged_usd"] == charged * row["usd_per_credit"]
    assert any(row["elevenlabs_cost_fiat_usd"] for row in rows)
    assert any(row["elevenlabs_cost_fiat_usd"] is None for row in rows)  # older records


def test_daily_costs_follow_madrid_days_across_the_dst_change(built):
    calls = expected.attribute_calls(RECORDS.calls, DIRECTORY)
    conversations = expected.attribute_conversations(RECORDS.conversations, DIRECTORY)
    days: dict = defaultdict(lambda: defaultdict(Decimal))
    for call in RECORDS.calls:
        day = days[
            (calls[call["sid"]].workspace_id, expected.call_time(call).astimezone(MADRID).date())
        ]
        duration = int(call["duration"] or 0)
        day["calls"] += 1
        day["billable_minutes"] += -(-duration // 60)
        day["twilio_usd"] += expected.twilio_usd(call, DIRECTORY) or 0
    for detail in RECORDS.conversations:
        started = expected.conversation_time(detail)
        day = days[
            (
                conversations[detail["conversation_id"]].workspace_id,
                started.astimezone(MADRID).date(),
            )
        ]
        credits = detail["metadata"]["cost"] or 0
        day["conversations"] += 1
        day["elevenlabs_credits"] += credits
        day["elevenlabs_usd"] += credits * expected.usd_per_credit(DIRECTORY, started)
    for day in days.values():
        day["total_usd"] = day["twilio_usd"] + day["elevenlabs_usd"]

    stored = {
        (row.pop("workspace_id"), row.pop("day")): row
        for row in built.rows(
            "SELECT workspace_id, day, calls, conversations, billable_minutes, twilio_usd,"
            " elevenlabs_credits, elevenlabs_usd, total_usd FROM workspace_daily_costs"
        )
    }
    assert stored == {
        key: {**dict.fromkeys(stored[key], 0), **value} for key, value in days.items()
    }
    # 21:00-22:00 UTC is still Saturday in Madrid (23:00 CEST); the rest is Sunday, 25 hours long
    assert {day for _, day in stored} == {
        datetime(2025, 10, 25).date(),
        datetime(2025, 10, 26).date(),
    }


# The four "Consultas útiles" of ../shared/seeds/000_949bec0c4c58ccd7.txt, verbatim.
SNAPSHOTS_BY_WORKSPACE = """
SELECT
    workspace_id,
    COUNT(*) as total_snapshots,
    SUM(total_conversations) as total_conversations,
    ROUND(SUM(total_cost), 4) as total_cost,
    MIN(snapshot_date) as first_snapshot,
    MAX(snapshot_date) as last_snapshot
FROM elevenlabs_snapshots
GROUP BY workspace_id
ORDER BY total_conversations DESC;
"""
ACTIVITY_BY_HOUR_OF_DAY = """
SELECT
    EXTRACT(HOUR FROM snapshot_date) as hour_of_day,
    SUM(total_conversations) as conversations,
    ROUND(SUM(total_cost), 2) as cost
FROM elevenlabs_snapshots
GROUP BY EXTRACT(HOUR FROM snapshot_date)
ORDER BY hour_of_day;
"""
LLM_VERSUS_CALL_COSTS = """
SELECT
    workspace_id,
    DATE(snapshot_date) as date,
    SUM(total_conversations) as conversations,
    ROUND(SUM(llm_charge), 2) as llm_cost,
    ROUND(SUM(call_charge), 2) as call_cost,
    ROUND(SUM(total_cost), 2) as total_cost
FROM elevenlabs_snapshots
GROUP BY workspace_id, DATE(snapshot_date)
ORDER BY date DESC, workspace_id;
"""
WORKSPACE_4_OVER_TIME = """
SELECT
    DATE(snapshot_date) as date,
    COUNT(*) as hours_with_conversations,
    SUM(total_conversations) as daily_conversations,
    ROUND(SUM(total_cost), 2) as daily_cost
FROM elevenlabs_snapshots
WHERE workspace_id = 4
GROUP BY DATE(snapshot_date)
ORDER BY date DESC;
"""


def run_as_the_old_dashboard(warehouse, query: str) -> list[tuple]:
    with warehouse.connect() as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # Supabase sessions run in UTC
        return [tuple(row.values()) for row in conn.execute(query).fetchall()]


def cents(amount: Decimal, places: str = "0.01") -> Decimal:
    return amount.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def test_the_old_useful_queries_run_unchanged_and_agree_with_the_raw_records(built):
    conversations = RECORDS.conversations
    attribution = expected.attribute_conversations(conversations, DIRECTORY)
    buckets: dict = defaultdict(list)
    for detail in conversations:
        started = expected.conversation_time(detail)
        buckets[(attribution[detail["conversation_id"]].workspace_id, started)].append(detail)

    def credits(details, field="cost") -> Decimal:
        values = (
            detail["metadata"]["cost"] if field == "cost" else detail["metadata"]["charging"][field]
            for detail in details
        )
        return sum((Decimal(v) for v in values if v is not None), Decimal(0))

    def group(key_of):
        grouped: dict = defaultdict(list)
        for (workspace, started), details in buckets.items():
            grouped[key_of(workspace, started)].extend(details)
        return grouped

    per_workspace = group(lambda ws, _: ws)
    hours_of = group(lambda ws, started: (ws, expected.hour_of(started)))
    expected_by_workspace = sorted(
        (
            (
                ws,
                len({h for (w, h) in hours_of if w == ws}),
                len(details),
                cents(credits(details), "0.0001"),
                min(h for (w, h) in hours_of if w == ws),
                max(h for (w, h) in hours_of if w == ws),
            )
            for ws, details in per_workspace.items()
        ),
        key=lambda row: -row[2],
    )
    stored = run_as_the_old_dashboard(built, SNAPSHOTS_BY_WORKSPACE)
    assert sorted(stored, key=lambda r: (-r[2], r[0])) == sorted(
        expected_by_workspace, key=lambda r: (-r[2], r[0])
    )

    by_hour = group(lambda _, started: started.hour)
    assert run_as_the_old_dashboard(built, ACTIVITY_BY_HOUR_OF_DAY) == [
        (Decimal(hour), len(details), cents(credits(details)))
        for hour, details in sorted(by_hour.items())
    ]

    by_day = group(lambda ws, started: (ws, started.date()))
    assert run_as_the_old_dashboard(built, LLM_VERSUS_CALL_COSTS) == [
        (
            ws,
            day,
            len(details),
            cents(credits(details, "llm_charge")),
            cents(credits(details, "call_charge")),
            cents(credits(details)),
        )
        for (ws, day), details in sorted(
            by_day.items(), key=lambda item: (-item[0][1].toordinal(), item[0][0])
        )
    ]

    workspace_4_days = sorted({day for ws, day in by_day if ws == 4}, reverse=True)
    assert run_as_the_old_dashboard(built, WORKSPACE_4_OVER_TIME) == [
        (
            day,
            len({h for (w, h) in hours_of if w == 4 and h.date() == day}),
            len(by_day[(4, day)]),
            cents(credits(by_day[(4, day)])),
        )
        for day in workspace_4_days
    ]
