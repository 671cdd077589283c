"""The comparison of the raw tables with the sandbox's truth (``simbiosia_testing.truth``), which
every end-to-end test, reliability scenario and benchmark ends with, catches what it must."""

from datetime import UTC, datetime, timedelta

import pytest

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig
from simbiosia_pipeline.sources.records import conversation_row, twilio_row
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
from simbiosia_pipeline.warehouse.writer import replace_window
from simbiosia_testing.truth import WindowTruth, raw_mismatches

START = datetime(2025, 10, 6, 9, tzinfo=UTC)
END = START + timedelta(hours=6)


@pytest.fixture
def stored(fresh_database_url):
    """A connection to raw tables holding exactly the sandbox's window, and its truth."""
    sandbox = Sandbox(SandboxConfig(seed=7, scale=0.1, now=END + timedelta(days=2)))
    now = datetime.now(UTC)
    with connect(fresh_database_url) as conn:
        ensure_raw_schema(conn)
        calls = sandbox.twilio_calls(START, END)
        conversations = sandbox.conversations(START, END)
        replace_window(conn, TWILIO_CALLS, START, END, [twilio_row(c, now) for c in calls])
        replace_window(
            conn, ELEVENLABS_CONVERSATIONS, START, END,
            [conversation_row(d, now, store_transcripts=False) for d in conversations],
        )  # fmt: skip
        conn.commit()
        yield conn, WindowTruth.of(sandbox, START, END)


def first(conn, table: str, key: str, where: str = "true") -> str:
    return conn.execute(f"SELECT min({key}) FROM raw.{table} WHERE {where}").fetchone()[0]


def test_the_stored_window_equals_its_truth(stored):
    conn, truth = stored
    assert truth.calls and truth.conversations and truth.price_total and truth.credit_total
    assert raw_mismatches(conn, truth) == []


def test_a_lost_record_an_extra_one_and_an_altered_payload_are_each_named(stored):
    conn, truth = stored
    lost = first(conn, "twilio_calls", "sid", "price <> 0")
    altered = first(conn, "elevenlabs_conversations", "conversation_id")
    conn.execute("DELETE FROM raw.twilio_calls WHERE sid = %s", (lost,))
    conn.execute(
        'UPDATE raw.elevenlabs_conversations SET payload = payload || \'{"status": "x"}\''
        " WHERE conversation_id = %s",
        (altered,),
    )
    problems = raw_mismatches(conn, truth)
    assert f"raw.twilio_calls: {lost} lost" in problems
    assert f"raw.elevenlabs_conversations: {altered} differs from the source" in problems
    assert any(problem.startswith("Σ Twilio price") for problem in problems)
    conn.rollback()

    truth.calls.pop(lost)
    assert f"raw.twilio_calls: {lost} not in the source" in raw_mismatches(conn, truth)


def test_a_payload_number_off_beyond_float_precision_is_a_difference(stored):
    """JSON numbers compare as the Decimals they spell on both sides: 10⁻¹⁷ more credits in a
    stored payload, which a float cannot tell apart, is a difference."""
    conn, truth = stored
    (conversation_id,) = conn.execute(
        "UPDATE raw.elevenlabs_conversations SET payload = jsonb_set(payload, '{metadata,cost}',"
        " to_jsonb((payload #>> '{metadata,cost}')::numeric + 0.00000000000000001))"
        " WHERE conversation_id = (SELECT min(conversation_id) FROM raw.elevenlabs_conversations"
        "  WHERE payload #> '{metadata,cost}' <> 'null') RETURNING conversation_id"
    ).fetchone()
    problems = raw_mismatches(conn, truth)
    assert problems == [f"raw.elevenlabs_conversations: {conversation_id} differs from the source"]
