"""The usage clients over HTTP against the sandbox: what they read is what the providers bill,
through faults (retried), and bad credentials are named without leaking them."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from simbiosia_pipeline.sandbox import FaultConfig, Sandbox, SandboxConfig
from simbiosia_pipeline.sandbox.credentials import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)
from simbiosia_pipeline.sources.errors import SourceAuthError, UnusableAnswerError
from simbiosia_pipeline.sources.http import BackoffPolicy
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
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=3, scale=0.3, now=NOW)


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


def billed_calls(sandbox: Sandbox) -> dict[tuple[date, str], tuple[int, Decimal]]:
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
    for call in sandbox.twilio_calls(start, start + timedelta(days=3)):
        if call["price"] is None:
            continue
        for category in (*categories[call["direction"]], "totalprice"):
            tally = totals[expected.call_time(call).date(), category]
            tally[0] += 1
            tally[1] += abs(Decimal(call["price"]))
    return {key: (count, price) for key, (count, price) in totals.items()}


def test_twilio_usage_records_add_up_the_served_calls_even_through_faults(sandbox_server, sandbox):
    clean = twilio(sandbox_server.url, page_size=5).daily_records(FIRST, LAST)
    httpx.put(
        f"{sandbox_server.url}/_sandbox/faults", json=FAULTS.to_dict(), timeout=5
    ).raise_for_status()
    try:
        faulty = twilio(sandbox_server.url, page_size=5).daily_records(FIRST, LAST)
    finally:
        httpx.put(f"{sandbox_server.url}/_sandbox/faults", json={}, timeout=5).raise_for_status()
    assert faulty.records == clean.records
    assert faulty.stats.retries > 0
    assert clean.stats.requests == 4  # 18 records, 5 a page
    truth = billed_calls(sandbox)
    rows = [twilio_usage_row(record, datetime.now(UTC)) for record in clean.records]
    read = {(row[1], row[3]): (row[4], row[7]) for row in rows}
    assert len(read) == 18
    for (day, category), (count, price) in read.items():
        want_count, want_price = truth.get((day, category), (0, Decimal(0)))
        assert price == want_price
        assert isinstance(price, Decimal)
        assert count == (0 if category == "totalprice" else want_count)


def test_elevenlabs_usage_adds_up_the_served_conversations_even_through_faults(
    sandbox_server, sandbox
):
    clean = elevenlabs(sandbox_server.url).daily_usage(FIRST, LAST)
    httpx.put(
        f"{sandbox_server.url}/_sandbox/faults", json=FAULTS.to_dict(), timeout=5
    ).raise_for_status()
    try:
        faulty = elevenlabs(sandbox_server.url).daily_usage(FIRST, LAST)
    finally:
        httpx.put(f"{sandbox_server.url}/_sandbox/faults", json={}, timeout=5).raise_for_status()
    assert faulty.records == clean.records
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    credits: dict[date, Decimal] = defaultdict(Decimal)
    for detail in sandbox.conversations(start, start + timedelta(days=3)):
        charging = detail["metadata"]["charging"]
        credits[expected.conversation_time(detail).date()] += Decimal(
            str(detail["metadata"]["cost"])
        ) + Decimal(str(charging.get("voice_surcharge_charge") or 0))
    assert {r["day"]: r["credits"] for r in clean.records} == credits
    assert {r["product_type"] for r in clean.records} == {"agents"}
    assert {r["fiat_unit"] for r in clean.records} == {"USD"}


def test_bad_credentials_are_named_and_never_shown(sandbox_server):
    with pytest.raises(SourceAuthError, match="TWILIO_AUTH_TOKEN") as twilio_error:
        twilio(sandbox_server.url, token="wrong-token-123").daily_records(FIRST, LAST)
    assert "wrong-token-123" not in str(twilio_error.value)
    assert DEFAULT_TWILIO_ACCOUNT_SID not in str(twilio_error.value)
    with pytest.raises(SourceAuthError, match="ELEVENLABS_API_KEY") as elevenlabs_error:
        elevenlabs(sandbox_server.url, key="sk_wrong_456").daily_usage(FIRST, LAST)
    assert "sk_wrong_456" not in str(elevenlabs_error.value)


class HostileServer:
    """Answers every request with the next of ``answers`` (status, headers, body)."""

    def __init__(self, answers: list[tuple[int, dict, bytes]]) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests.append(self.path)
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                status, headers, body = server.answers.pop(0)
                self.send_response(status)
                for name, value in {**headers, "content-length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


USAGE_PATH = f"/2010-04-01/Accounts/{DEFAULT_TWILIO_ACCOUNT_SID}/Usage/Records/Daily.json"


def _page(next_uri: str | None) -> bytes:
    return orjson.dumps({"usage_records": [], "next_page_uri": next_uri, "page": 0})


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((200, {}, _page(f"https://elsewhere.example{USAGE_PATH}?Page=1")), "does not continue"),
        ((200, {}, b'{"message": "maintenance"}'), "usage_records"),
        ((302, {"location": "https://elsewhere.example/x"}, b""), "redirect"),
    ],
)  # fmt: skip
def test_twilio_usage_answers_that_cannot_be_trusted_fail_for_good(answer, problem):
    server = HostileServer([answer])
    try:
        with pytest.raises(UnusableAnswerError, match=problem) as refused:
            twilio(server.url).daily_records(FIRST, LAST)
    finally:
        server.close()
    assert len(server.requests) == 1  # refused at once: not retried, nothing followed
    assert DEFAULT_TWILIO_ACCOUNT_SID not in str(refused.value)


def test_a_twilio_page_uri_served_twice_is_a_loop():
    same = _page(f"{USAGE_PATH}?Page=1&PageToken=PA1")
    server = HostileServer([(200, {}, same), (200, {}, same)])
    try:
        with pytest.raises(UnusableAnswerError, match="served twice"):
            twilio(server.url).daily_records(FIRST, LAST)
    finally:
        server.close()


def test_an_elevenlabs_usage_answer_without_its_table_fails_for_good():
    server = HostileServer([(200, {}, b'{"detail": "ok"}')])
    try:
        with pytest.raises(UnusableAnswerError, match="columns"):
            elevenlabs(server.url).daily_usage(FIRST, LAST)
    finally:
        server.close()
