"""The raw tables' contract, one place per table: name, key, time column, columns in COPY order
(what ``warehouse/sql/raw.sql`` creates), and the predicates the in-step checks run on them.

The parsers (``sources/records.py``, ``sources/usage.py``) build rows in these columns' order;
the writer replaces windows of these tables; ``assets/raw_checks.py`` reads the predicates.
"""

from __future__ import annotations

from simbiosia_pipeline.sources.pending import CONVERSATION_PENDING_SQL, TWILIO_PENDING_SQL
from simbiosia_pipeline.warehouse.writer import RawTable

TWILIO_COLUMNS = (
    "sid", "account_sid", "parent_call_sid", "direction", "status", "from_number", "to_number",
    "start_time", "end_time", "duration_secs", "price", "price_unit", "trunk_sid",
    "date_created", "date_updated", "event_time", "payload", "ingested_at",
)  # fmt: skip

CONVERSATION_COLUMNS = (
    "conversation_id", "agent_id", "agent_name", "status", "start_time", "call_duration_secs",
    "cost", "dev_discount", "is_burst", "tier", "llm_price", "llm_charge", "call_charge",
    "free_minutes_consumed", "free_llm_dollars_consumed", "llm_usage", "phone_call_type",
    "phone_number_id", "agent_number", "external_number", "call_sid", "call_direction",
    "batch_call_id", "batch_call_recipient_id", "termination_reason", "payload", "ingested_at",
    "cost_fiat", "platform_charge", "platform_price", "voice_surcharge_charge", "analysis_charge",
    "analysis_price",
)  # fmt: skip

TWILIO_USAGE_COLUMNS = (
    "record_key",
    "day",
    "day_start",
    "category",
    "count",
    "usage",
    "usage_unit",
    "price",
    "price_unit",
    "as_of",
    "payload",
    "ingested_at",
)
ELEVENLABS_USAGE_COLUMNS = (
    "record_key",
    "day",
    "day_start",
    "product_type",
    "credits",
    "fiat",
    "fiat_unit",
    "payload",
    "ingested_at",
)

TWILIO_CALLS = RawTable(
    schema="raw",
    name="twilio_calls",
    key="sid",
    time_column="event_time",
    columns=TWILIO_COLUMNS,
    # Twilio reports charges as negative prices.
    sign_violations="price > 0",
    pending=TWILIO_PENDING_SQL,
)
ELEVENLABS_CONVERSATIONS = RawTable(
    schema="raw",
    name="elevenlabs_conversations",
    key="conversation_id",
    time_column="start_time",
    columns=CONVERSATION_COLUMNS,
    # ElevenLabs costs and charges are non-negative.
    sign_violations=(
        "cost < 0 OR llm_charge < 0 OR call_charge < 0 OR llm_price < 0"
        " OR free_minutes_consumed < 0 OR free_llm_dollars_consumed < 0 OR cost_fiat < 0"
        " OR platform_charge < 0 OR platform_price < 0 OR voice_surcharge_charge < 0"
        " OR analysis_charge < 0 OR analysis_price < 0"
    ),
    pending=CONVERSATION_PENDING_SQL,
)
TWILIO_USAGE_RECORDS = RawTable(
    schema="raw",
    name="twilio_usage_records",
    key="record_key",
    time_column="day_start",
    columns=TWILIO_USAGE_COLUMNS,
)
ELEVENLABS_USAGE = RawTable(
    schema="raw",
    name="elevenlabs_usage",
    key="record_key",
    time_column="day_start",
    columns=ELEVENLABS_USAGE_COLUMNS,
)
