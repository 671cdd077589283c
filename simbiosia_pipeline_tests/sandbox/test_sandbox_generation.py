"""What the sandbox generates: volume, seasonality, links between records, formats."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sandbox_support import NOW, rfc2822

from simbiosia_pipeline.sandbox import DEFAULT_LAYOUT, Sandbox, SandboxConfig
from simbiosia_pipeline.sandbox.ids import hour_of_call_sid, hour_of_conversation_id
from simbiosia_pipeline.sandbox.layout import MOVING_NUMBER

DAY = timedelta(days=1)
WEEK_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
MADRID = ZoneInfo("Europe/Madrid")
OWNED = {phone.number for workspace in DEFAULT_LAYOUT.workspaces for phone in workspace.phones}


def plus(number: str) -> str:
    return number if number.startswith("+") else "+" + number


def key_time(call: dict) -> datetime:
    return rfc2822(call["start_time"] or call["date_created"])


@pytest.fixture(scope="module")
def week() -> tuple[list[dict], list[dict]]:
    """Calls and conversations of one whole week, seen well after it ended."""
    sandbox = Sandbox(SandboxConfig(now=WEEK_START + timedelta(days=10)))
    end = WEEK_START + timedelta(days=7)
    return sandbox.twilio_calls(WEEK_START, end), sandbox.conversations(WEEK_START, end)


def test_a_week_at_scale_one_averages_650_calls_and_380_conversations_a_day(week):
    calls, conversations = week
    assert 0.9 * 650 * 7 < len(calls) < 1.1 * 650 * 7
    assert 0.9 * 380 * 7 < len(conversations) < 1.1 * 380 * 7


def test_traffic_follows_madrid_office_hours_and_weekdays(week):
    calls, _ = week
    local = [key_time(call).astimezone(MADRID) for call in calls]
    by_hour = Counter(t.hour for t in local)
    assert by_hour[10] + by_hour[11] + by_hour[12] > 10 * (by_hour[2] + by_hour[3] + by_hour[4])
    by_day = Counter(t.weekday() for t in local)
    weekday = sum(by_day[d] for d in range(5)) / 5
    assert by_day[5] < 0.6 * weekday
    assert by_day[6] < by_day[5]


def test_interaction_mix(week):
    calls, conversations = week
    kinds = Counter(
        "web" if c["metadata"]["phone_call"] is None else c["metadata"]["phone_call"]["type"]
        for c in conversations
    )
    total = len(conversations)
    assert 0.55 < kinds["twilio"] / total < 0.70
    assert 0.27 < kinds["sip_trunking"] / total < 0.40
    assert 0.03 < kinds["web"] / total < 0.08
    directions = Counter(call["direction"] for call in calls)
    assert set(directions) == {
        "outbound-api",
        "outbound-dial",
        "trunking-terminating",
        "trunking-originating",
        "inbound",
    }
    statuses = Counter(call["status"] for call in calls)
    assert {"completed", "no-answer", "busy", "failed", "canceled"} <= set(statuses)


def test_twilio_conversations_share_the_call_sid_and_numbers(week):
    calls, conversations = week
    by_sid = {call["sid"]: call for call in calls}
    expected_direction = {"outbound": "outbound-api", "inbound": "inbound"}
    checked = 0
    for conversation in conversations:
        leg = conversation["metadata"]["phone_call"]
        if leg is None or leg["type"] != "twilio" or leg["call_sid"] not in by_sid:
            continue
        call = by_sid[leg["call_sid"]]
        assert call["direction"] == expected_direction[leg["direction"]]
        ours, theirs = (call["from"], call["to"])
        if leg["direction"] == "inbound":
            ours, theirs = theirs, ours
        assert (plus(leg["agent_number"]), plus(leg["external_number"])) == (ours, theirs)
        start = conversation["metadata"]["start_time_unix_secs"]
        assert 0 < start - rfc2822(call["start_time"]).timestamp() <= 10
        checked += 1
    assert checked > 1000


def test_sip_conversations_match_trunk_calls_by_numbers_within_a_minute(week):
    calls, conversations = week
    terminating = {}
    originating = {}
    for call in calls:
        if call["direction"] == "trunking-terminating" and call["status"] == "completed":
            terminating.setdefault((call["from"], call["to"]), []).append(key_time(call))
        if call["direction"] == "trunking-originating":
            number = re.fullmatch(r"sip:(\+\d+)@public-vip\.ie1\.twilio\.com", call["to"])[1]
            originating.setdefault((number, call["from"]), []).append(key_time(call))
    for conversation in conversations:
        leg = conversation["metadata"]["phone_call"]
        if leg is None or leg["type"] != "sip_trunking":
            continue
        assert not leg["call_sid"].startswith("CA")
        pair = (plus(leg["agent_number"]), plus(leg["external_number"]))
        started = datetime.fromtimestamp(conversation["metadata"]["start_time_unix_secs"], UTC)
        candidates = (terminating if leg["direction"] == "outbound" else originating).get(pair)
        if candidates is None:  # its call started in the week before
            assert started - WEEK_START < timedelta(minutes=2)
            continue
        assert min(abs(started - t) for t in candidates) <= timedelta(seconds=60)


def test_callbacks_to_the_unowned_sip_number_follow_an_owned_outbound_call():
    sandbox = Sandbox(SandboxConfig(now=NOW))
    calls = sandbox.twilio_calls(NOW - 8 * DAY, NOW)
    sip_uri = f"sip:{DEFAULT_LAYOUT.callback_sip_number}@public-vip.ie1.twilio.com"
    outbound = {}
    for call in calls:
        answered = call["status"] == "completed"
        if call["direction"] in ("outbound-api", "trunking-terminating") and answered:
            outbound.setdefault((call["to"], call["from"] in OWNED), []).append(key_time(call))
    callbacks = [
        call for call in calls if call["to"] == sip_uri and key_time(call) >= NOW - 7 * DAY
    ]
    assert len(callbacks) >= 5
    for callback in callbacks:
        when = key_time(callback)
        earlier = [t for t in outbound.get((callback["from"], True), []) if t < when]
        assert earlier
        assert when - max(earlier) < DAY


def test_transfers_are_child_legs_of_native_outbound_calls(week):
    calls, _ = week
    by_sid = {call["sid"]: call for call in calls}
    children = [call for call in calls if call["direction"] == "outbound-dial"]
    assert children
    for child in children:
        parent = by_sid.get(child["parent_call_sid"])
        if parent is not None:
            assert parent["direction"] == "outbound-api"
            assert parent["from"] == child["from"]


def test_formats_prices_and_durations(week):
    calls, conversations = week
    for call in calls:
        assert re.fullmatch(r"CA[0-9a-f]{32}", call["sid"])
        answered = call["status"] == "completed"
        # Unanswered calls keep a null price for good, as on real accounts.
        if answered:
            assert re.fullmatch(r"-\d+\.\d{5}", call["price"])
        else:
            assert call["price"] is None
        assert call["price_unit"] == "USD"
        assert (call["duration"] != "0") == answered
        if call["start_time"] is None:
            assert call["status"] == "canceled"
            assert call["end_time"] is None
    assert any(call["start_time"] is None for call in calls)
    for conversation in conversations:
        assert re.fullmatch(r"conv_[0-9a-z]{28}", conversation["conversation_id"])
        metadata = conversation["metadata"]
        charging = metadata["charging"]
        # The documented relations between ElevenLabs' amounts.
        assert metadata["cost"] == charging["call_charge"] + charging["llm_charge"]
        assert Decimal(str(metadata["cost_fiat"])) == Decimal(str(charging["llm_price"])) + Decimal(
            str(charging["platform_price"])
        )
        assert charging["platform_charge"] == charging["call_charge"]
        assert charging["voice_surcharge_charge"] >= 0
        analysis = charging["analysis"]
        assert (analysis is None) == (conversation["status"] == "failed")
    assert any(c["metadata"]["charging"]["voice_surcharge_charge"] for c in conversations)
    numbers = [
        number
        for c in conversations
        if c["metadata"]["phone_call"] is not None
        for number in (
            c["metadata"]["phone_call"]["agent_number"],
            c["metadata"]["phone_call"]["external_number"],
        )
    ]
    unprefixed = sum(not number.startswith("+") for number in numbers)
    assert 0.003 < unprefixed / len(numbers) < 0.03


def test_identifiers_locate_their_generation_hour(week):
    calls, conversations = week
    for call in calls[:50]:
        hour = hour_of_call_sid(call["sid"])
        assert 0 <= key_time(call).timestamp() - hour * 3600 < 2 * 3600
    for conversation in conversations[:50]:
        hour = hour_of_conversation_id(conversation["conversation_id"])
        assert 0 <= conversation["metadata"]["start_time_unix_secs"] - hour * 3600 < 2 * 3600


def test_same_config_same_data_and_another_seed_other_data():
    window = (NOW - DAY, NOW)
    first = Sandbox(SandboxConfig(now=NOW))
    second = Sandbox(SandboxConfig(now=NOW))
    other = Sandbox(SandboxConfig(seed=8, now=NOW))
    assert first.twilio_calls(*window) == second.twilio_calls(*window)
    assert first.conversations(*window) == second.conversations(*window)
    assert first.twilio_calls(*window) != other.twilio_calls(*window)


def test_scale_multiplies_traffic():
    window = (NOW - 2 * DAY, NOW)
    base = Sandbox(SandboxConfig(now=NOW)).summary(*window)
    double = Sandbox(SandboxConfig(now=NOW, scale=2.0)).summary(*window)
    assert 1.7 < double.twilio_calls / base.twilio_calls < 2.3
    assert 1.7 < double.conversations / base.conversations < 2.3


def test_nothing_exists_before_history_start_or_after_now():
    start = datetime(2026, 1, 10, tzinfo=UTC)
    sandbox = Sandbox(SandboxConfig(now=NOW, history_start=start))
    assert sandbox.twilio_calls(start - 5 * DAY, start) == []
    assert sandbox.conversations(start - 5 * DAY, start) == []
    assert sandbox.twilio_calls(start, start + DAY)
    assert sandbox.twilio_calls(NOW, NOW + DAY) == []
    days = Sandbox(SandboxConfig(now=NOW, days=3))
    assert days.config.history_start == datetime(2026, 1, 11, 15, tzinfo=UTC)


def test_a_day_costs_a_day_whatever_the_history():
    sandbox = Sandbox(SandboxConfig(now=NOW))  # history since 2025-08-01
    started = time.perf_counter()
    summary = sandbox.summary(NOW - DAY, NOW)
    assert summary.twilio_calls > 300
    assert time.perf_counter() - started < 2.0


def test_the_moving_number_is_dialled_by_its_owner_of_the_day():
    sandbox = Sandbox(SandboxConfig(now=datetime(2025, 10, 10, tzinfo=UTC)))
    move = datetime(2025, 10, 1, tzinfo=UTC)
    workspace_of = {agent.agent_id: agent.workspace_id for agent in DEFAULT_LAYOUT.agents}
    owners = Counter()
    for conversation in sandbox.conversations(move - 4 * DAY, move + 4 * DAY):
        leg = conversation["metadata"]["phone_call"]
        if leg is not None and plus(leg["agent_number"]) == MOVING_NUMBER:
            started = datetime.fromtimestamp(conversation["metadata"]["start_time_unix_secs"], UTC)
            owners[(started >= move, workspace_of[conversation["agent_id"]])] += 1
    assert set(owners) == {(False, 4), (True, 5)}


def test_unowned_numbers_carry_some_traffic(week):
    calls, _ = week
    unowned = Counter(
        call["from"] for call in calls if call["from"] in DEFAULT_LAYOUT.unowned_numbers
    )
    assert set(unowned) == set(DEFAULT_LAYOUT.unowned_numbers)
    assert 0.005 < sum(unowned.values()) / len(calls) < 0.08


def test_the_old_zero_price_of_unanswered_calls_behind_a_flag():
    window = (NOW - DAY, NOW - DAY + timedelta(hours=6))
    real = Sandbox(SandboxConfig(now=NOW)).twilio_calls(*window)
    zero = Sandbox(SandboxConfig(now=NOW, zero_price_unanswered=True)).twilio_calls(*window)
    assert [call["sid"] for call in real] == [call["sid"] for call in zero]
    unanswered = [
        (ours, old) for ours, old in zip(real, zero, strict=True) if ours["status"] != "completed"
    ]
    assert unanswered
    for ours, old in unanswered:
        assert ours["price"] is None
        assert old["price"] == "0.00000"
        assert {k: v for k, v in ours.items() if k not in ("price", "date_updated")} == {
            k: v for k, v in old.items() if k not in ("price", "date_updated")
        }


def test_an_account_in_another_currency_serves_every_price_in_it():
    window = (NOW - DAY, NOW - DAY + timedelta(hours=3))
    usd = Sandbox(SandboxConfig(now=NOW)).twilio_calls(*window)
    yen = Sandbox(SandboxConfig(now=NOW, price_unit="JPY")).twilio_calls(*window)
    assert {call["price_unit"] for call in yen} == {"JPY"}
    assert [c["price"] for c in yen] == [c["price"] for c in usd]
    with pytest.raises(ValueError, match="ISO 4217"):
        SandboxConfig(price_unit="euro")
