"""Parsing API records into rows: exact types, and loud failures that name the record."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from simbiosia_pipeline.sources.errors import RecordError
from simbiosia_pipeline.sources.records import conversation_row, latest_by_key, twilio_row
from simbiosia_pipeline.warehouse.tables import CONVERSATION_COLUMNS, TWILIO_COLUMNS

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)

CALL = {
    "sid": "CA1f2e3d4c5b6a79881f2e3d4c5b6a7988",
    "account_sid": "AC0123456789abcdef0123456789abcdef",
    "date_created": "Mon, 05 Jan 2026 10:00:01 +0000",
    "date_updated": "Mon, 05 Jan 2026 10:02:40 +0000",
    "parent_call_sid": None,
    "to": "+34600000002",
    "from": "+34910000001",
    "status": "completed",
    "start_time": "Mon, 05 Jan 2026 10:00:01 +0000",
    "end_time": "Mon, 05 Jan 2026 10:02:24 +0000",
    "duration": "143",
    "price": "-0.02860",
    "price_unit": "USD",
    "direction": "trunking-terminating",
    "trunk_sid": "TKaaaabbbbccccddddeeeeffff00001111",
    "some_future_field": {"kept": True},
}

DETAIL = {
    "agent_id": "agent_7101kabcd2efgh3jkmn4pqrs5tvw",
    "agent_name": "Outbound ES",
    "conversation_id": "conv_2301kxyz9abc8def7ghj6kmn5pq4",
    "status": "done",
    "metadata": {
        "start_time_unix_secs": 1767261600,
        "call_duration_secs": 143,
        "cost": 960,
        "charging": {
            "dev_discount": False,
            "is_burst": False,
            "tier": "pro",
            "llm_usage": {"irreversible_generation": {"model_usage": {}}},
            "llm_price": 0.00103,
            "llm_charge": 5,
            "call_charge": 955,
            "free_minutes_consumed": 0.0,
            "free_llm_dollars_consumed": 0.0,
        },
        "phone_call": {
            "type": "twilio",
            "direction": "outbound",
            "agent_number": "+34910000001",
            "external_number": "+34600000002",
            "call_sid": "CA1f2e3d4c5b6a79881f2e3d4c5b6a7988",
        },
        "batch_call": {"batch_call_id": "btcal_1", "batch_call_recipient_id": "btcrec_1"},
        "termination_reason": "Call ended by remote party",
    },
    "analysis": {"transcript_summary": "Ana confirmed.", "call_successful": "success"},
    "transcript": [{"role": "user", "message": "Sí, soy yo.", "time_in_call_secs": 3}],
}


def conversation_dict(detail: dict, *, store_transcripts: bool) -> dict:
    row = conversation_row(detail, NOW, store_transcripts=store_transcripts)
    return dict(zip(CONVERSATION_COLUMNS, row, strict=True))


def test_twilio_row_keeps_exact_values_and_the_whole_record():
    row = dict(zip(TWILIO_COLUMNS, twilio_row(CALL, NOW), strict=True))
    assert row["price"] == Decimal("-0.02860")
    assert row["duration_secs"] == 143
    assert row["start_time"] == datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)
    assert row["event_time"] == row["start_time"]
    assert row["from_number"] == "+34910000001"
    assert orjson.loads(row["payload"]) == CALL


def test_a_call_that_never_started_belongs_to_its_creation_hour():
    queued = {**CALL, "start_time": None, "end_time": None, "duration": None, "price": None}
    row = dict(zip(TWILIO_COLUMNS, twilio_row(queued, NOW), strict=True))
    assert row["event_time"] == datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)
    assert row["price"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sid": None}, "Twilio call has no 'sid'"),
        ({"direction": None}, "Twilio call CA1f2e.* has no 'direction'"),
        ({"start_time": "yesterday"}, "start_time='yesterday' is not an RFC 2822 date"),
        ({"price": "free"}, "price='free' is not a number"),
        ({"duration": "1.5"}, "duration='1.5' is not a whole number"),
    ],
)
def test_unparseable_calls_fail_naming_the_record(change, message):
    with pytest.raises(RecordError, match=message):
        twilio_row({**CALL, **change}, NOW)


def test_conversation_row_is_exact_and_drops_the_transcript_by_default():
    row = conversation_dict(DETAIL, store_transcripts=False)
    assert row["cost"] == Decimal(960)
    assert row["llm_price"] == Decimal("0.00103")
    assert row["start_time"] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert row["call_sid"] == CALL["sid"] and row["phone_call_type"] == "twilio"
    stored = orjson.loads(row["payload"])
    assert stored["transcript"] == [] and "transcript_summary" not in stored["analysis"]
    assert "Sí, soy yo" not in row["payload"]

    kept = conversation_dict(DETAIL, store_transcripts=True)
    assert "Sí, soy yo" in kept["payload"]


def test_a_conversation_without_phone_call_or_cost_is_stored():
    web = {**DETAIL, "status": "processing", "metadata": {"start_time_unix_secs": 1767261600}}
    row = conversation_dict(web, store_transcripts=False)
    assert row["cost"] is None and row["phone_call_type"] is None
    assert row["call_duration_secs"] == 0


def test_a_conversation_without_start_time_fails_naming_it():
    broken = {**DETAIL, "metadata": {"cost": 1}}
    with pytest.raises(RecordError, match="conv_2301.* has no metadata.start_time_unix_secs"):
        conversation_row(broken, NOW, store_transcripts=False)


def test_latest_by_key_keeps_the_most_recent_version():
    older = {"sid": "A", "v": 1}
    newer = {"sid": "A", "v": 2}
    other = {"sid": "B", "v": 1}
    chosen = latest_by_key([newer, other, older], key="sid", version=lambda r: r["v"])
    assert sorted(chosen, key=lambda r: r["sid"]) == [newer, other]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("-inf"), "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("NaN", "not a finite number"),
        (Decimal("-1e400"), "beyond the sanity bound of ±1000000 currency"),
        (18446744073709551617, "beyond the sanity bound"),
        ({"usd": 1}, "is a dict, not a number"),
        (True, "is a bool, not a number"),
    ],
)
def test_an_amount_that_is_not_a_finite_sane_number_names_record_and_field(value, message):
    with pytest.raises(RecordError, match=message) as refused:
        twilio_row({**CALL, "price": value}, NOW)
    assert CALL["sid"] in str(refused.value) and "price" in str(refused.value)


def test_amounts_are_exact_to_the_last_digit_within_their_bounds():
    row = twilio_row({**CALL, "price": Decimal("-0.12345678901234567890")}, NOW)
    assert row[TWILIO_COLUMNS.index("price")] == Decimal("-0.12345678901234567890")
    credits = {**DETAIL, "metadata": {**DETAIL["metadata"], "cost": 99_999_999}}
    row = conversation_row(credits, NOW, store_transcripts=False)
    assert row[CONVERSATION_COLUMNS.index("cost")] == 99_999_999
    too_many = {**DETAIL, "metadata": {**DETAIL["metadata"], "cost": 100_000_001}}
    with pytest.raises(RecordError, match="metadata.cost=100000001 is beyond .* credits"):
        conversation_row(too_many, NOW, store_transcripts=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_created": "Mon, 01 Jan 33658 00:00:00 +0000"}, "date_created=.* not an RFC 2822"),
        ({"date_updated": 1767607200}, "date_updated=1767607200 is a int, not a date"),
        ({"duration": "99999999999"}, "duration=99999999999 is out of range"),
        ({"duration": "Infinity"}, "duration=Infinity is out of range"),
        ({"status": ["completed"]}, "'status' is a list, expected text"),
    ],
)
def test_odd_values_fail_naming_record_and_field(change, message):
    with pytest.raises(RecordError, match=message) as refused:
        twilio_row({**CALL, **change}, NOW)
    assert CALL["sid"] in str(refused.value)


def test_a_conversation_start_out_of_range_or_a_charging_list_names_the_field():
    far = {**DETAIL, "metadata": {**DETAIL["metadata"], "start_time_unix_secs": 10**12}}
    with pytest.raises(RecordError, match="start_time_unix_secs=1000000000000 is out of range"):
        conversation_row(far, NOW, store_transcripts=False)
    listed = {**DETAIL, "metadata": {**DETAIL["metadata"], "charging": [1]}}
    with pytest.raises(RecordError, match="'charging' is list, expected an object"):
        conversation_row(listed, NOW, store_transcripts=False)
