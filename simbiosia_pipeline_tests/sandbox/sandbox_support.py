"""Constants and helpers shared by the sandbox tests (fixtures live in conftest.py).

The clock is a Wednesday afternoon in Madrid, so the last hours hold calls and
conversations in every lifecycle state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from simbiosia_pipeline.sandbox import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)

NOW = datetime(2026, 1, 14, 15, 30, tzinfo=UTC)
ACCOUNT = DEFAULT_TWILIO_ACCOUNT_SID
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
TWILIO_AUTH = (DEFAULT_TWILIO_ACCOUNT_SID, DEFAULT_TWILIO_AUTH_TOKEN)
ELEVENLABS_HEADERS = {"xi-api-key": DEFAULT_ELEVENLABS_API_KEY}
CONVERSATIONS_PATH = "/v1/convai/conversations"


def call_path(sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json"


def rfc2822(value: str | None) -> datetime | None:
    return None if value is None else parsedate_to_datetime(value)
