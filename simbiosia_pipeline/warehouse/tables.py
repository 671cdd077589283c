"""The raw tables as the writer sees them (columns in COPY order)."""

from __future__ import annotations

from simbiosia_pipeline.sources.records import CONVERSATION_COLUMNS, TWILIO_COLUMNS
from simbiosia_pipeline.sources.usage import ELEVENLABS_USAGE_COLUMNS, TWILIO_USAGE_COLUMNS
from simbiosia_pipeline.warehouse.writer import RawTable

TWILIO_CALLS = RawTable(
    schema="raw", name="twilio_calls", key="sid", time_column="event_time", columns=TWILIO_COLUMNS
)
ELEVENLABS_CONVERSATIONS = RawTable(
    schema="raw",
    name="elevenlabs_conversations",
    key="conversation_id",
    time_column="start_time",
    columns=CONVERSATION_COLUMNS,
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
