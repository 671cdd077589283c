"""The raw tables as the writer sees them (columns in COPY order)."""

from __future__ import annotations

from simbiosia_pipeline.sources.records import CONVERSATION_COLUMNS, TWILIO_COLUMNS
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
