"""Hand-made API records for the dbt tests, and a loader that stores them as the raw assets do.

Records are built in the shape the APIs serve (``external-apis.md``), so the same dicts feed the
warehouse (through the ingestion's own ``twilio_row`` / ``conversation_row``) and the independent
reference in ``simbiosia_pipeline_tests.expected``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from itertools import count
from typing import Any

import psycopg
from psycopg import sql

from simbiosia_pipeline.sources.records import conversation_row, twilio_row
from simbiosia_pipeline.warehouse.tables import CONVERSATION_COLUMNS, TWILIO_COLUMNS

ACCOUNT_SID = "AC" + "0" * 32
INGESTED_AT = datetime(2030, 1, 1, tzinfo=UTC)
_serial = count(1)


def rfc2822(instant: datetime | None) -> str | None:
    return format_datetime(instant.astimezone(UTC), usegmt=False) if instant else None


def twilio_call(
    direction: str,
    from_: str | None,
    to: str | None,
    start: datetime | None,
    *,
    sid: str | None = None,
    parent: str | None = None,
    duration: int | None = 61,
    price: str | None = "-0.01400",
    status: str = "completed",
    created: datetime | None = None,
    price_unit: str = "USD",
) -> dict[str, Any]:
    """A Twilio Call resource; ``start=None`` is a call that never started (queued, canceled)."""
    sid = sid or f"CA{next(_serial):032x}"
    created = created or start
    end = start + timedelta(seconds=duration) if start and duration is not None else None
    return {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "parent_call_sid": parent,
        "direction": direction,
        "status": status,
        "from": from_,
        "to": to,
        "start_time": rfc2822(start),
        "end_time": rfc2822(end),
        "duration": None if duration is None else str(duration),
        "price": price,
        "price_unit": price_unit,
        "trunk_sid": "TK" + "1" * 32 if direction.startswith("trunking") else None,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(end or created),
        "api_version": "2010-04-01",
    }


def llm_usage(
    model: str, input_tokens: int, input_price: str, output_tokens: int, output_price: str
) -> dict[str, Any]:
    """charging.llm_usage with the same usage in both generation blocks, as the API reports it."""
    usage = {
        "model_usage": {
            model: {
                "input": {"tokens": input_tokens, "price": float(input_price)},
                "output_total": {"tokens": output_tokens, "price": float(output_price)},
            }
        }
    }
    return {"irreversible_generation": usage, "initiated_generation": usage}


def conversation(
    start: datetime,
    *,
    conversation_id: str | None = None,
    agent_id: str = "agent_default",
    status: str = "done",
    duration: int = 90,
    cost: int | None = 600,
    phone_type: str | None = "twilio",
    agent_number: str | None = None,
    external_number: str | None = "+34600000001",
    call_sid: str | None = None,
    direction: str = "outbound",
    llm_charge: int | None = 6,
    call_charge: int | None = 594,
    llm_price: float | None = 0.00103,
    free_minutes_consumed: float = 0.0,
    dev_discount: bool = False,
    usage: dict | None = None,
    platform_price: float | None = None,
    voice_surcharge_charge: int | None = None,
) -> dict[str, Any]:
    """An ElevenLabs conversation detail; ``phone_type=None`` is a web/widget conversation."""
    conversation_id = conversation_id or f"conv_{next(_serial):026d}"
    final = status in ("done", "failed")
    phone_call = (
        {
            "type": phone_type,
            "direction": direction,
            "phone_number_id": "phnum_test",
            "agent_number": agent_number,
            "external_number": external_number,
            "call_sid": call_sid,
        }
        if phone_type
        else None
    )
    charging = {
        "dev_discount": dev_discount,
        "is_burst": False,
        "tier": "pro",
        "llm_usage": usage if final else None,
        "llm_price": llm_price if final else None,
        "llm_charge": llm_charge if final else None,
        "call_charge": call_charge if final else None,
        "free_minutes_consumed": free_minutes_consumed,
        "free_llm_dollars_consumed": 0.0,
    }
    if platform_price is not None:  # a 2026 record: the fiat cost and the platform's share
        charging["platform_charge"] = call_charge if final else None
        charging["platform_price"] = platform_price if final else None
        charging["voice_surcharge_charge"] = voice_surcharge_charge if final else None
    cost_fiat = (
        float(Decimal(str(llm_price)) + Decimal(str(platform_price)))
        if final and platform_price is not None and llm_price is not None
        else None
    )
    return {
        "agent_id": agent_id,
        "agent_name": "Test agent",
        "conversation_id": conversation_id,
        "status": status,
        "metadata": {
            "start_time_unix_secs": int(start.timestamp()),
            "call_duration_secs": duration,
            "cost": cost if final else None,
            "cost_fiat": cost_fiat,
            "charging": charging,
            "phone_call": phone_call,
            "batch_call": None,
            "termination_reason": "",
        },
        "transcript": [],
        "analysis": None,
    }


def store_records(
    conn: psycopg.Connection,
    calls: Iterable[dict] = (),
    conversations: Iterable[dict] = (),
) -> None:
    """Write the records into the raw tables, replacing any stored record with the same id."""
    twilio_rows = [twilio_row(call, INGESTED_AT) for call in calls]
    conversation_rows = [
        conversation_row(detail, INGESTED_AT, store_transcripts=False) for detail in conversations
    ]
    with conn.transaction():
        _replace(conn, "twilio_calls", "sid", TWILIO_COLUMNS, twilio_rows)
        _replace(
            conn,
            "elevenlabs_conversations",
            "conversation_id",
            CONVERSATION_COLUMNS,
            conversation_rows,
        )


def _replace(
    conn: psycopg.Connection, table: str, key: str, columns: Sequence[str], rows: list[tuple]
) -> None:
    target = sql.Identifier("raw", table)
    keys = [row[columns.index(key)] for row in rows]
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(target, sql.Identifier(key)), (keys,)
    )
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
