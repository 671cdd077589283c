"""Parsing records shaped exactly as real accounts return them (``recorded/``, see its README)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from simbiosia_pipeline.sources.pending import conversation_cost_pending, twilio_cost_pending
from simbiosia_pipeline.sources.records import conversation_row, twilio_row
from simbiosia_pipeline.warehouse.tables import CONVERSATION_COLUMNS, TWILIO_COLUMNS
from simbiosia_pipeline_tests.api_schemas import ELEVENLABS_DETAIL, TWILIO_CALL, assert_valid

RECORDED = Path(__file__).parent / "recorded"
INGESTED = datetime(2026, 12, 1, tzinfo=UTC)


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def twilio(name: str) -> dict:
    return dict(zip(TWILIO_COLUMNS, twilio_row(recorded(name), INGESTED), strict=True))


def conversation(name: str) -> dict:
    row = conversation_row(recorded(name), INGESTED, store_transcripts=False)
    return dict(zip(CONVERSATION_COLUMNS, row, strict=True))


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDED.glob("*.json")))
def test_the_recorded_records_match_the_official_schemas(name):
    validator = TWILIO_CALL if name.startswith("twilio") else ELEVENLABS_DETAIL
    assert_valid(validator, recorded(name))


def test_a_busy_call_keeps_a_null_price_and_is_settled_at_zero():
    row = twilio("twilio_busy_unpriced")
    assert (row["status"], row["price"], row["duration_secs"]) == ("busy", None, 0)
    assert row["trunk_sid"] == ""  # stored as served
    assert not twilio_cost_pending(row["status"], row["price"])
    assert json.loads(row["payload"])["caller_name"] == ""


def test_a_completed_inbound_call_is_priced_in_its_unit():
    row = twilio("twilio_completed_inbound")
    assert (row["direction"], row["status"], row["duration_secs"]) == ("inbound", "completed", 47)
    assert (row["price"], row["price_unit"]) == (Decimal("-0.0085"), "USD")
    assert row["start_time"] == datetime(2025, 10, 14, 9, 14, 40, tzinfo=UTC)
    assert not twilio_cost_pending(row["status"], row["price"])
    unpriced = {**recorded("twilio_completed_inbound"), "price": None}
    assert twilio_cost_pending("completed", twilio_row(unpriced, INGESTED)[10])


def test_a_call_with_an_annotation_is_stored_whole():
    row = twilio("twilio_with_annotation")
    assert row["direction"] == "trunking-terminating"
    assert row["trunk_sid"] == "TK8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
    assert json.loads(row["payload"])["annotation"] == "campaign=reactivacion-q4"


def test_a_jpy_price_stays_in_yen():
    row = twilio("twilio_jpy")
    assert (row["price"], row["price_unit"]) == (Decimal("-0.100"), "JPY")


def test_the_2026_charges_reach_their_columns():
    row = conversation("elevenlabs_cost_fiat_and_voice_surcharge")
    assert row["cost"] == Decimal(126) == row["call_charge"] + row["llm_charge"]
    assert row["cost_fiat"] == Decimal("0.0250345") == row["llm_price"] + row["platform_price"]
    assert (row["platform_charge"], row["platform_price"]) == (Decimal(15), Decimal("0.003"))
    assert row["voice_surcharge_charge"] == Decimal(8)  # credits beyond `cost`
    assert (row["analysis_charge"], row["analysis_price"]) == (Decimal(2), Decimal("0.00041"))
    assert row["phone_call_type"] is None
    # the usage blocks stay in the payload only
    charging = json.loads(row["payload"])["metadata"]["charging"]
    assert charging["platform_usage"]["category_usage"]["text_message"]["credits"] == 15


def test_a_charging_block_with_only_the_dev_discount():
    row = conversation("elevenlabs_dev_discount_only")
    assert (row["dev_discount"], row["cost"], row["cost_fiat"]) == (True, Decimal(97), None)
    assert row["llm_price"] is row["llm_charge"] is row["call_charge"] is None
    assert row["voice_surcharge_charge"] is row["analysis_charge"] is row["platform_price"] is None
    assert row["call_sid"] == "CA0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
    assert not conversation_cost_pending(row["status"])


def test_a_processing_conversation_without_a_phone_call():
    row = conversation("elevenlabs_processing_without_phone_call")
    assert row["status"] == "processing"
    assert conversation_cost_pending(row["status"])
    assert row["cost"] is row["cost_fiat"] is row["llm_charge"] is None
    assert row["free_minutes_consumed"] == Decimal("0.0")
    assert row["phone_call_type"] is row["agent_number"] is row["call_sid"] is None
