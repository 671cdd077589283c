"""The raw tables' contract, one place per table: name, key, time column, columns in COPY order
(what ``warehouse/sql/raw.sql`` creates), and what the in-step checks need of each table.

Each table's row type (a ``namedtuple`` of its columns, in COPY order) is built here from the
column tuple, so the order lives in one place: the parsers (``sources/records.py``,
``sources/usage.py``) construct rows by column name, and a column added or moved cannot shift
values. A row is still a tuple — what the writer hands ``COPY``, at the same speed —; the
writer replaces windows of these tables; ``assets/raw_checks.py`` picks and runs each table's
checks from its contract (``CheckedRawTable``), never from its name.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

from simbiosia_pipeline.sources.pending import CONVERSATION_PENDING_SQL, TWILIO_PENDING_SQL
from simbiosia_pipeline.warehouse.writer import RawTable


@dataclass(frozen=True)
class Prices:
    """Amounts that carry their own currency (a column each): every currency but USD needs a
    USD rate from the workspaces file."""

    amount: str
    unit: str


@dataclass(frozen=True)
class CheckedRawTable(RawTable):
    """A raw table of API records: what the writer needs (``RawTable``: columns, key, time
    column, the sign and pending predicates) and what its in-step checks need besides."""

    sign_rule: str = ""  # what the amount-sign check guards, in the provider's own terms
    prices: Prices | None = None  # amounts in their own currency: checked convertible to USD
    final_without_cost: str | None = None  # SQL: a final record carrying no cost (warned)


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

# One row of each table, fields in COPY order: construct by keyword.
TwilioCallRow = namedtuple("TwilioCallRow", TWILIO_COLUMNS)
ConversationRow = namedtuple("ConversationRow", CONVERSATION_COLUMNS)
TwilioUsageRow = namedtuple("TwilioUsageRow", TWILIO_USAGE_COLUMNS)
ElevenLabsUsageRow = namedtuple("ElevenLabsUsageRow", ELEVENLABS_USAGE_COLUMNS)

TWILIO_CALLS = CheckedRawTable(
    schema="raw",
    name="twilio_calls",
    key="sid",
    time_column="event_time",
    columns=TWILIO_COLUMNS,
    sign_violations="price > 0",
    sign_rule="Every price is ≤ 0: Twilio reports charges as negative prices.",
    pending=TWILIO_PENDING_SQL,
    prices=Prices(amount="price", unit="price_unit"),
)
ELEVENLABS_CONVERSATIONS = CheckedRawTable(
    schema="raw",
    name="elevenlabs_conversations",
    key="conversation_id",
    time_column="start_time",
    columns=CONVERSATION_COLUMNS,
    sign_violations=(
        "cost < 0 OR llm_charge < 0 OR call_charge < 0 OR llm_price < 0"
        " OR free_minutes_consumed < 0 OR free_llm_dollars_consumed < 0 OR cost_fiat < 0"
        " OR platform_charge < 0 OR platform_price < 0 OR voice_surcharge_charge < 0"
        " OR analysis_charge < 0 OR analysis_price < 0"
    ),
    sign_rule=(
        "Every amount (cost, charges, prices, consumed free minutes and LLM dollars, voice "
        "surcharge, analysis) is ≥ 0: ElevenLabs reports credits and USD as positive numbers."
    ),
    pending=CONVERSATION_PENDING_SQL,
    # A conversation that is final (done/failed) but carries no cost: its snapshots would count
    # it as free. Stored as served (it is what the API says), flagged for a person.
    final_without_cost=f"NOT ({CONVERSATION_PENDING_SQL}) AND cost IS NULL",
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
