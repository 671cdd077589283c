"""The one comparison of the raw tables with the sandbox's ground truth, for tests and benchmarks.

For a window ``[start, end)``, ``raw.twilio_calls`` and ``raw.elevenlabs_conversations`` must
hold exactly the records the sandbox serves: the same ids (none lost, none extra, none twice),
every payload equal to the served JSON (conversations without their transcripts, which are not
stored by default), and the Σ of Twilio prices (account currency) and of ElevenLabs credits equal
to the Decimal sums of the served amounts.

Exactness: both sides are read as JSON whose numbers are the Decimals they spell
(``exact_json``). The stored payloads are parsed so straight from the database's text; the served
records, which the sandbox hands over decoded by orjson (floats), are encoded again by orjson —
the bytes the server sent, float formatting being shortest round-trip — and parsed the same way.
No side ever goes through a float, so a payload stored with one digit more or less than served,
or an amount off by 10⁻¹⁰, is a mismatch.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property, partial
from typing import Any

import orjson
from psycopg.types.json import set_json_loads

from simbiosia_pipeline.sandbox import Sandbox
from simbiosia_pipeline.sources.records import without_transcript

# JSON text → Python with every number exact: integers as int, the others as Decimal.
exact_json = partial(json.loads, parse_float=Decimal)

# (table, id column, time column that places a record in the window)
RAW_TABLES = {
    "calls": ("raw.twilio_calls", "sid", "event_time"),
    "conversations": ("raw.elevenlabs_conversations", "conversation_id", "start_time"),
}


def exactly_as_served(record: dict) -> dict:
    """A record the sandbox serves, with its numbers as the Decimals of the served JSON text."""
    return exact_json(orjson.dumps(record))


@dataclass
class WindowTruth:
    """What the sandbox serves for ``[start, end)``, keyed by id, as the raw tables store it."""

    start: datetime
    end: datetime
    calls: dict[str, dict]
    conversations: dict[str, dict]

    @classmethod
    def served(
        cls,
        start: datetime,
        end: datetime,
        calls: Iterable[dict],
        conversations: Iterable[dict],
    ) -> WindowTruth:
        return cls(
            start,
            end,
            {call["sid"]: exactly_as_served(call) for call in calls},
            {
                detail["conversation_id"]: exactly_as_served(without_transcript(detail))
                for detail in conversations
            },
        )

    @classmethod
    def of(cls, sandbox: Sandbox, start: datetime, end: datetime) -> WindowTruth:
        return cls.served(
            start, end, sandbox.twilio_calls(start, end), sandbox.conversations(start, end)
        )

    @property
    def records(self) -> int:
        return len(self.calls) + len(self.conversations)

    @cached_property
    def price_total(self) -> Decimal:
        """Σ Twilio ``price`` (the account's currency; unrated calls have none)."""
        return _total(call.get("price") for call in self.calls.values())

    @cached_property
    def credit_total(self) -> Decimal:
        """Σ ElevenLabs ``metadata.cost`` (credits; conversations still running have none)."""
        return _total(detail["metadata"].get("cost") for detail in self.conversations.values())


def _total(amounts: Iterable[Any]) -> Decimal:
    # Served as text (prices) or exact JSON numbers (int, Decimal): Decimal() keeps every digit.
    return sum((Decimal(amount) for amount in amounts if amount is not None), Decimal(0))


def stored_records(conn, kind: str, start: datetime, end: datetime) -> list[tuple[str, Any]]:
    """(id, payload) of one raw table's window, payloads parsed exactly."""
    table, key, moment = RAW_TABLES[kind]
    cursor = conn.cursor()
    set_json_loads(exact_json, cursor)
    return cursor.execute(
        f"SELECT {key}, payload FROM {table} WHERE {moment} >= %s AND {moment} < %s", (start, end)
    ).fetchall()


def stored_sums(conn, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
    """Σ Twilio price and Σ ElevenLabs cost (credits) of the raw tables' window, as NUMERIC."""
    return conn.execute(
        """SELECT (SELECT coalesce(sum(price), 0) FROM raw.twilio_calls
                    WHERE event_time >= %(s)s AND event_time < %(e)s),
                  (SELECT coalesce(sum(cost), 0) FROM raw.elevenlabs_conversations
                    WHERE start_time >= %(s)s AND start_time < %(e)s)""",
        {"s": start, "e": end},
    ).fetchone()


def raw_mismatches(conn, truth: WindowTruth) -> list[str]:
    """Every difference between the raw tables' window and the truth (empty: they are equal)."""
    problems: list[str] = []
    for kind, served in (("calls", truth.calls), ("conversations", truth.conversations)):
        table = RAW_TABLES[kind][0]
        rows = stored_records(conn, kind, truth.start, truth.end)
        stored = dict(rows)
        lost, extra = served.keys() - stored.keys(), stored.keys() - served.keys()
        problems += [
            f"{table}: {key} stored {n} times"
            for key, n in Counter(key for key, _ in rows).items()
            if n > 1
        ]
        problems += [f"{table}: {key} lost" for key in sorted(lost)]
        problems += [f"{table}: {key} not in the source" for key in sorted(extra)]
        problems += [
            f"{table}: {key} differs from the source"
            for key in sorted(served.keys() & stored.keys())
            if stored[key] != served[key]
        ]
    prices, credits = stored_sums(conn, truth.start, truth.end)
    if prices != truth.price_total:
        problems.append(f"Σ Twilio price {prices} != {truth.price_total}")
    if credits != truth.credit_total:
        problems.append(f"Σ ElevenLabs credits {credits} != {truth.credit_total}")
    return problems
