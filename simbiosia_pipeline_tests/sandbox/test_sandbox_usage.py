"""What the sandbox bills: its own records added up, until a billing discrepancy says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig
from simbiosia_pipeline.sandbox.clock import DAY, to_unix
from simbiosia_pipeline.sandbox.usage import TWILIO_AS_OF_LAG

NOW = datetime(2026, 1, 14, 15, 30, tzinfo=UTC)
DAY_START = datetime(2026, 1, 12, tzinfo=UTC)


def box() -> Sandbox:
    return Sandbox(SandboxConfig(seed=11, scale=0.3, now=NOW))


def totals(sandbox: Sandbox) -> dict[str, tuple[int, Decimal]]:
    day = to_unix(DAY_START)
    rows = sandbox.twilio_usage_records(day, day, to_unix(NOW))
    return {category: (tally.count, tally.price) for _, category, tally, _ in rows if tally}


def test_a_call_billed_but_unlisted_vanishes_from_the_list_and_fetch_but_not_the_bill():
    sandbox = box()
    calls = sandbox.twilio_calls(DAY_START, DAY_START + timedelta(days=1))
    call = next(c for c in calls if c["price"] not in (None, "0.00000"))
    before = totals(sandbox)
    sandbox.billing.replace({"unlisted": [call["sid"]]})
    after_list = sandbox.twilio_calls(DAY_START, DAY_START + timedelta(days=1))
    assert {c["sid"] for c in after_list} == {c["sid"] for c in calls} - {call["sid"]}
    assert sandbox.call_entry(call["sid"], to_unix(NOW)) is None
    assert totals(sandbox) == before  # still billed
    sandbox.billing.replace({})
    assert sandbox.twilio_calls(DAY_START, DAY_START + timedelta(days=1)) == calls


def test_a_rebilled_call_changes_its_categories_by_the_difference():
    sandbox = box()
    calls = sandbox.twilio_calls(DAY_START, DAY_START + timedelta(days=1))
    call = next(c for c in calls if c["direction"] == "inbound" and c["price"] is not None)
    before = totals(sandbox)
    sandbox.billing.replace({"rebilled": {call["sid"]: abs(Decimal(call["price"])) + 1}})
    after = totals(sandbox)
    changed = {k for k in before if after[k] != before[k]}
    assert changed == {"calls", "calls-inbound", "totalprice"}
    assert all(after[k][1] - before[k][1] == 1 and after[k][0] == before[k][0] for k in changed)


def test_usage_records_trail_the_clock_and_add_up_the_priced_calls():
    sandbox = box()
    day = to_unix(DAY_START)
    rows = sandbox.twilio_usage_records(day, day + 5 * DAY, to_unix(NOW))
    assert {row[0] for row in rows} == {day, day + DAY, day + 2 * DAY}  # up to as_of's day
    assert {row[3] for row in rows} == {to_unix(NOW) - TWILIO_AS_OF_LAG}
    calls = sandbox.twilio_calls(DAY_START, DAY_START + timedelta(days=1))
    assert totals(sandbox)["totalprice"] == (
        sum(1 for c in calls if c["price"] is not None),
        sum((abs(Decimal(c["price"])) for c in calls if c["price"] is not None), Decimal(0)),
    )


def test_elevenlabs_bills_final_conversations_and_their_discrepancies():
    sandbox = box()
    lo = to_unix(DAY_START)
    details = sandbox.conversations(DAY_START, DAY_START + timedelta(days=1))
    credits = sum(
        Decimal(str(d["metadata"]["cost"]))
        + Decimal(str(d["metadata"]["charging"]["voice_surcharge_charge"] or 0))
        for d in details
    )
    billed = sandbox.elevenlabs_usage(lo, lo + DAY, to_unix(NOW))
    assert billed[lo][0] == credits
    first = details[0]["conversation_id"]
    sandbox.billing.replace({"unlisted": [first], "rebilled": {details[1]["conversation_id"]: 0}})
    listed = sandbox.conversations(DAY_START, DAY_START + timedelta(days=1))
    assert first not in {d["conversation_id"] for d in listed}
    rebilled = sandbox.elevenlabs_usage(lo, lo + DAY, to_unix(NOW))[lo][0]
    second = details[1]["metadata"]
    assert rebilled == credits - Decimal(str(second["cost"])) - Decimal(
        str(second["charging"]["voice_surcharge_charge"] or 0)
    )
