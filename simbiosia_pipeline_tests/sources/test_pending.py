"""The one definition of "pending" per API: the SQL functions and their Python twins agree, and
the partial indexes are built on the very same functions."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import psycopg
import pytest

from simbiosia_pipeline.sources.pending import (
    CONVERSATION_PENDING_SQL,
    TWILIO_PENDING_SQL,
    conversation_cost_pending,
    twilio_cost_pending,
)
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema

# Every status the spec lists, and one it does not (what a future API version might send).
TWILIO_STATUSES = (
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled",
    "initiated",
)  # fmt: skip
PRICES = (None, Decimal("0.00000"), Decimal("-0.01400"))
CONVERSATION_STATUSES = ("initiated", "in-progress", "processing", "done", "failed", "unknown")


@pytest.fixture
def conn(fresh_database_url):
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        ensure_raw_schema(connection)
        yield connection


def test_only_a_null_price_that_may_still_land_is_pending():
    assert twilio_cost_pending("completed", None)
    assert twilio_cost_pending("in-progress", None)
    for unanswered in ("busy", "no-answer", "failed", "canceled"):
        assert not twilio_cost_pending(unanswered, None)  # settled at 0, for good
    assert not twilio_cost_pending("completed", Decimal("-0.01400"))
    assert [s for s in CONVERSATION_STATUSES if not conversation_cost_pending(s)] == [
        "done",
        "failed",
    ]


def test_the_python_twins_answer_as_the_warehouse_functions(conn):
    for status, price in product(TWILIO_STATUSES, PRICES):
        (in_sql,) = conn.execute(
            f"SELECT {TWILIO_PENDING_SQL} FROM (SELECT %s::text AS status, %s::numeric AS price) r",
            (status, price),
        ).fetchone()
        assert in_sql is twilio_cost_pending(status, price), (status, price)
    for status in CONVERSATION_STATUSES:
        (in_sql,) = conn.execute(
            f"SELECT {CONVERSATION_PENDING_SQL} FROM (SELECT %s::text AS status) r", (status,)
        ).fetchone()
        assert in_sql is conversation_cost_pending(status), status


def test_the_partial_indexes_hold_exactly_the_pending_records(conn):
    definitions = dict(
        conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'raw'"
            " AND indexname LIKE '%%pending%%'"
        ).fetchall()
    )
    assert (
        "WHERE raw.twilio_cost_pending(status, price)"
        in definitions["twilio_calls_cost_pending_idx"]
    )
    assert (
        "WHERE raw.elevenlabs_cost_pending(status)"
        in definitions["elevenlabs_conversations_cost_pending_idx"]
    )
    names = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes")}
    assert not names & {"twilio_calls_unpriced_idx", "elevenlabs_conversations_unsettled_idx"}
