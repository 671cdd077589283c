"""What each hour's materialization of a raw asset says: that hour's own counts and amounts.

The numbers of an hour — rows, pending records, amounts — are read back from the warehouse per
hour, inside the window's transaction, and attached to that hour alone
(``partition_metadata.py``): an hour without records says 0.

Amounts are plotted, so they are floats here (Dagster metadata has no decimal type); the exact
per-currency figures ride along as text, and the warehouse stays the exact record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import psycopg

from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS

_TWILIO = f"""
SELECT date_trunc('hour', event_time, 'UTC') AS hour, price_unit, count(*),
       count(*) FILTER (WHERE {TWILIO_CALLS.pending}),
       sum(abs(price))
  FROM raw.twilio_calls
 WHERE event_time >= %(start)s AND event_time < %(end)s
 GROUP BY 1, 2
"""

_ELEVENLABS = f"""
SELECT date_trunc('hour', start_time, 'UTC') AS hour, count(*),
       count(*) FILTER (WHERE {ELEVENLABS_CONVERSATIONS.pending}),
       count(*) FILTER (WHERE {ELEVENLABS_CONVERSATIONS.final_without_cost}),
       coalesce(sum(cost), 0)
  FROM raw.elevenlabs_conversations
 WHERE start_time >= %(start)s AND start_time < %(end)s
 GROUP BY 1
"""


def twilio_hours(conn: psycopg.Connection, window: Window) -> dict[datetime, dict]:
    """Per hour of the window: calls, calls whose cost is pending, Σ |price| per currency."""
    hours: dict[datetime, dict] = defaultdict(lambda: {"calls": 0, "pending": 0, "prices": {}})
    for hour, unit, calls, pending, prices in conn.execute(_TWILIO, _bounds(window)):
        tally = hours[hour]
        tally["calls"] += calls
        tally["pending"] += pending
        if prices is not None:
            tally["prices"][str(unit)] = prices
    return {hour: _twilio_metadata(**hours[hour]) for hour in window.hour_starts()}


def _twilio_metadata(calls: int, pending: int, prices: dict[str, Decimal]) -> dict:
    return {
        "dagster/row_count": calls,
        "rows": calls,
        "pending_calls": pending,
        "price_usd_total": float(prices.get("USD", Decimal(0))),
        "price_totals_by_currency": {unit: str(total) for unit, total in sorted(prices.items())},
    }


def elevenlabs_hours(conn: psycopg.Connection, window: Window) -> dict[datetime, dict]:
    """Per hour of the window: conversations, those not final, final ones without a cost, and
    Σ credits."""
    found = {
        hour: (conversations, non_final, without_cost, credits)
        for hour, conversations, non_final, without_cost, credits in conn.execute(
            _ELEVENLABS, _bounds(window)
        )
    }
    return {
        hour: _elevenlabs_metadata(*found.get(hour, (0, 0, 0, Decimal(0))))
        for hour in window.hour_starts()
    }


def _elevenlabs_metadata(
    conversations: int, non_final: int, without_cost: int, credits: Decimal
) -> dict:
    return {
        "dagster/row_count": conversations,
        "rows": conversations,
        "non_final_conversations": non_final,
        "final_conversations_without_cost": without_cost,
        "credits_total": float(credits),
        "credits_exact": str(credits),
    }


# What a raw asset reads back per hour: ``twilio_hours`` or ``elevenlabs_hours``.
HoursMetadata = Callable[[psycopg.Connection, Window], dict[datetime, dict]]


def metadata_by_partition(
    conn: psycopg.Connection, hours_metadata: HoursMetadata, window: Window
) -> dict[str, dict]:
    """Each hour's metadata (``hours_metadata``'s) by its partition key."""
    per_hour = hours_metadata(conn, window)
    return {hour.strftime(PARTITION_KEY_FORMAT): metadata for hour, metadata in per_hour.items()}


def _bounds(window: Window) -> dict:
    return {"start": window.start, "end": window.end}
