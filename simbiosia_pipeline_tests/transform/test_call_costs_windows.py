"""``call_costs`` is rebuilt per window like the snapshots: whatever order the hours are built
in, one at a time, it ends up equal to the pairing of all records at once, and rebuilding an
hour again changes nothing.

Besides a few hours of generated traffic, two phone calls cross an hour boundary: a native call
whose conversation starts seconds after the hour its Twilio call started in, and a SIP leg whose
conversation started in the hour before. Built latest first, each one's later hour is built
while its partner is not in staging yet; the earlier hour's run must pair them afterwards.
"""

from __future__ import annotations

import random
from datetime import timedelta

from simbiosia_pipeline.dbt.assets import HOURLY_MODELS
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.transform.dataset import _native, _sip_out, generate
from simbiosia_pipeline_tests.transform.test_snapshots import DIRECTORY, START

HOURS = 4  # of generated traffic; transfers spill into one more


def _records():
    records = generate(START, hours=HOURS, per_hour=8, seed=14)
    rng = random.Random(14)
    _native(rng, records, START + HOUR - timedelta(seconds=1))  # its conversation: next hour
    sip_leg_at = START + 2 * HOUR + timedelta(seconds=20)
    _sip_out(rng, records, sip_leg_at)
    records.conversations[-1]["metadata"]["start_time_unix_secs"] = int(
        (sip_leg_at - timedelta(seconds=40)).timestamp()
    )  # the hour before its leg's
    return records


RECORDS = _records()


def stored_pairs(warehouse) -> list[tuple]:
    rows = warehouse.rows("SELECT twilio_call_sid, conversation_id, pairing FROM call_costs")
    return sorted(
        ((r["twilio_call_sid"], r["conversation_id"], r["pairing"]) for r in rows), key=str
    )


def reference_pairs() -> list[tuple]:
    reference = expected.pair_calls(RECORDS.calls, RECORDS.conversations)
    return sorted(((p.twilio_call_sid, p.conversation_id, p.pairing) for p in reference), key=str)


def crossing_hours() -> list[expected.PhoneCall]:
    calls = {call["sid"]: call for call in RECORDS.calls}
    conversations = {c["conversation_id"]: c for c in RECORDS.conversations}
    return [
        pair
        for pair in expected.pair_calls(RECORDS.calls, RECORDS.conversations)
        if pair.twilio_call_sid
        and pair.conversation_id
        and expected.hour_of(expected.call_time(calls[pair.twilio_call_sid]))
        != expected.hour_of(expected.conversation_time(conversations[pair.conversation_id]))
    ]


def test_hours_built_latest_first_pair_as_all_history_at_once(fresh_warehouse):
    assert {pair.pairing for pair in crossing_hours()} == {"call_sid", "sip_numbers_and_time"}
    fresh_warehouse.load_directory(DIRECTORY)
    fresh_warehouse.store(RECORDS.calls, RECORDS.conversations)
    hours = [START + HOUR * n for n in range(HOURS + 1)]

    for hour in reversed(hours):  # as the hourly schedule builds them, with their dbt tests
        fresh_warehouse.build(hour, hour + HOUR, select=HOURLY_MODELS)
    assert stored_pairs(fresh_warehouse) == reference_pairs()

    for hour in hours[1:3]:  # again, in the other order: nothing changes
        fresh_warehouse.build(hour, hour + HOUR, select=HOURLY_MODELS)
    assert stored_pairs(fresh_warehouse) == reference_pairs()


def test_the_number_search_has_its_trigram_index_where_the_server_has_pg_trgm(fresh_warehouse):
    """The test server has PostgreSQL's contrib (pg_trgm): the index is there after a build, and
    a second build keeps it (the embedded warehouse, without contrib, builds without it: S3)."""
    fresh_warehouse.load_directory(DIRECTORY)
    fresh_warehouse.store(RECORDS.calls, RECORDS.conversations)
    for _ in range(2):
        fresh_warehouse.build(START, START + HOUR, select=HOURLY_MODELS)
    (index,) = fresh_warehouse.rows(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'call_costs' AND indexname LIKE '%trgm'"
    )
    assert "USING gin (number_digits gin_trgm_ops)" in index["indexdef"]
