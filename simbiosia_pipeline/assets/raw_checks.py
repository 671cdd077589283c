"""Blocking data-quality checks of a raw window, evaluated right after it is written.

They run inside the raw asset (so they see exactly the window just written) and are blocking:
when one fails, the snapshots of that run are not rebuilt from the bad load.
"""

from __future__ import annotations

import dagster as dg
import psycopg
from psycopg import sql

from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.writer import RawTable

UNIQUE_IDS = "unique_ids"
AMOUNT_SIGNS = "amounts_have_the_expected_sign"

# Twilio reports charges as negative prices; ElevenLabs costs and charges are non-negative.
_SIGN_VIOLATIONS = {
    "twilio_calls": "price > 0",
    "elevenlabs_conversations": (
        "cost < 0 OR llm_charge < 0 OR call_charge < 0 OR llm_price < 0"
        " OR free_minutes_consumed < 0 OR free_llm_dollars_consumed < 0"
    ),
}


def raw_check_specs(asset_key: list[str]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            UNIQUE_IDS,
            asset=dg.AssetKey(asset_key),
            blocking=True,
            description="Each source record is stored once.",
        ),
        dg.AssetCheckSpec(
            AMOUNT_SIGNS,
            asset=dg.AssetKey(asset_key),
            blocking=True,
            description="Twilio prices are ≤ 0 (charges); ElevenLabs amounts are ≥ 0.",
        ),
    ]


def evaluate_raw_checks(
    conn: psycopg.Connection, table: RawTable, window: Window
) -> list[dg.AssetCheckResult]:
    in_window = sql.SQL("{col} >= %(start)s AND {col} < %(end)s").format(
        col=sql.Identifier(table.time_column)
    )
    params = {"start": window.start, "end": window.end}
    duplicates = conn.execute(
        sql.SQL("SELECT count(*) - count(DISTINCT {key}) FROM {table} WHERE {window}").format(
            key=sql.Identifier(table.key), table=table.qualified, window=in_window
        ),
        params,
    ).fetchone()[0]
    wrong_sign = conn.execute(
        sql.SQL("SELECT count(*) FROM {table} WHERE {window} AND ({violation})").format(
            table=table.qualified,
            window=in_window,
            violation=sql.SQL(_SIGN_VIOLATIONS[table.name]),
        ),
        params,
    ).fetchone()[0]
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_IDS, passed=duplicates == 0, metadata={"duplicates": duplicates}
        ),
        dg.AssetCheckResult(
            check_name=AMOUNT_SIGNS, passed=wrong_sign == 0, metadata={"records": wrong_sign}
        ),
    ]
