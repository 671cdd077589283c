"""The usage clients over HTTP against the sandbox: what they read is what the providers bill,
through faults (retried), and bad credentials are named without leaking them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from simbiosia_pipeline.sandbox import FaultConfig, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sandbox.credentials import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)
from simbiosia_pipeline.sources.http import BackoffPolicy
from simbiosia_pipeline.sources.twilio import SourceAuthError
from simbiosia_pipeline.sources.usage import (
    ElevenLabsUsageClient,
    TwilioUsageClient,
    twilio_usage_row,
)
from simbiosia_pipeline_tests import expected

NOW = datetime(2026, 1, 14, 15, 30, tzinfo=UTC)
FIRST, LAST = date(2026, 1, 11), date(2026, 1, 13)
FAST = BackoffPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01)
FAULTS = FaultConfig(error_rate=0.3, truncate_rate=0.2, reset_rate=0.1)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox(SandboxConfig(seed=3, scale=0.3, now=NOW))


@pytest.fixture(scope="module")
def served(box: Sandbox) -> Iterator[str]:
    with start_sandbox_server(box) as server:
        yield server.url


def twilio(url: str, token: str = DEFAULT_TWILIO_AUTH_TOKEN, page_size: int = 1000):
    return TwilioUsageClient(
        account_sid=DEFAULT_TWILIO_ACCOUNT_SID,
        auth_token=token,
        base_url=url,
        policy=FAST,
        page_size=page_size,
    )


def elevenlabs(url: str, key: str = DEFAULT_ELEVENLABS_API_KEY):
    return ElevenLabsUsageClient(api_key=key, base_url=url, policy=FAST)


def billed_calls(box: Sandbox) -> dict[tuple[date, str], tuple[int, Decimal]]:
    """Per day and usage category, the priced calls the Calls API serves (as_of is 15 min
    before the clock, and every call of these days was priced long before)."""
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    totals: dict = defaultdict(lambda: [0, Decimal(0)])
    categories = {
        "inbound": ("calls", "calls-inbound"),
        "outbound-api": ("calls", "calls-outbound"),
        "outbound-dial": ("calls", "calls-outbound"),
        "trunking-originating": ("trunking-origination",),
        "trunking-terminating": ("trunking-termination",),
    }
    for call in box.twilio_calls(start, start + timedelta(days=3)):
        if call["price"] is None:
            continue
        for category in (*categories[call["direction"]], "totalprice"):
            tally = totals[expected.call_time(call).date(), category]
            tally[0] += 1
            tally[1] += abs(Decimal(call["price"]))
    return {key: (count, price) for key, (count, price) in totals.items()}


def test_twilio_usage_records_add_up_the_served_calls_even_through_faults(served, box):
    clean = twilio(served, page_size=5).daily_records(FIRST, LAST)
    httpx.put(f"{served}/_sandbox/faults", json=FAULTS.to_dict(), timeout=5).raise_for_status()
    try:
        faulty = twilio(served, page_size=5).daily_records(FIRST, LAST)
    finally:
        httpx.put(f"{served}/_sandbox/faults", json={}, timeout=5).raise_for_status()
    assert faulty.records == clean.records
    assert faulty.stats.retries > 0
    assert clean.stats.requests == 4  # 18 records, 5 a page
    truth = billed_calls(box)
    rows = [twilio_usage_row(record, datetime.now(UTC)) for record in clean.records]
    read = {(row[1], row[3]): (row[4], row[7]) for row in rows}
    assert len(read) == 18
    for (day, category), (count, price) in read.items():
        want_count, want_price = truth.get((day, category), (0, Decimal(0)))
        assert price == want_price
        assert isinstance(price, Decimal)
        assert count == (0 if category == "totalprice" else want_count)


def test_elevenlabs_usage_adds_up_the_served_conversations_even_through_faults(served, box):
    clean = elevenlabs(served).daily_usage(FIRST, LAST)
    httpx.put(f"{served}/_sandbox/faults", json=FAULTS.to_dict(), timeout=5).raise_for_status()
    try:
        faulty = elevenlabs(served).daily_usage(FIRST, LAST)
    finally:
        httpx.put(f"{served}/_sandbox/faults", json={}, timeout=5).raise_for_status()
    assert faulty.records == clean.records
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    credits: dict[date, Decimal] = defaultdict(Decimal)
    for detail in box.conversations(start, start + timedelta(days=3)):
        charging = detail["metadata"]["charging"]
        credits[expected.conversation_time(detail).date()] += Decimal(
            str(detail["metadata"]["cost"])
        ) + Decimal(str(charging.get("voice_surcharge_charge") or 0))
    assert {r["day"]: r["credits"] for r in clean.records} == credits
    assert {r["product_type"] for r in clean.records} == {"agents"}
    assert {r["fiat_unit"] for r in clean.records} == {"USD"}


def test_bad_credentials_are_named_and_never_shown(served):
    with pytest.raises(SourceAuthError, match="TWILIO_AUTH_TOKEN") as twilio_error:
        twilio(served, token="wrong-token-123").daily_records(FIRST, LAST)
    assert "wrong-token-123" not in str(twilio_error.value)
    assert DEFAULT_TWILIO_ACCOUNT_SID not in str(twilio_error.value)
    with pytest.raises(SourceAuthError, match="ELEVENLABS_API_KEY") as elevenlabs_error:
        elevenlabs(served, key="sk_wrong_456").daily_usage(FIRST, LAST)
    assert "sk_wrong_456" not in str(elevenlabs_error.value)
