"""Data-quality checks of a raw table, evaluated right after a window is written.

They run inside the raw asset: they see exactly the window just written, and cost no step of
their own (a step is a process and a second or more of a run). The window checks are blocking:
when one fails, the snapshots of that run are not rebuilt from the bad load. The settlement-age
check looks at the whole table and only warns: it is for a person, not a reason to stop.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import psycopg
from psycopg import sql

from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.writer import RawTable

UNIQUE_IDS = "unique_ids"
AMOUNT_SIGNS = "amounts_have_the_expected_sign"
SETTLED_IN_TIME = "no_unsettled_record_beyond_max_age"
FINAL_HAS_COST = "final_conversations_have_a_cost"

# Twilio reports charges as negative prices; ElevenLabs costs and charges are non-negative.
_SIGN_VIOLATIONS = {
    "twilio_calls": "price > 0",
    "elevenlabs_conversations": (
        "cost < 0 OR llm_charge < 0 OR call_charge < 0 OR llm_price < 0"
        " OR free_minutes_consumed < 0 OR free_llm_dollars_consumed < 0"
    ),
}
# A conversation that is final (done/failed) but carries no cost: its snapshots would count it
# as free. Stored as served (it is what the API says), flagged for a person.
_FINAL_WITHOUT_COST = "status IN ('done', 'failed') AND cost IS NULL"
# Costs still pending: a Twilio call not yet priced, a conversation not yet done or failed.
_UNSETTLED = {
    "twilio_calls": "price IS NULL",
    "elevenlabs_conversations": "status NOT IN ('done', 'failed')",
}


def raw_check_specs(asset_key: list[str]) -> list[dg.AssetCheckSpec]:
    extra = []
    if asset_key[-1] == "elevenlabs_conversations":
        extra.append(
            dg.AssetCheckSpec(
                FINAL_HAS_COST,
                asset=dg.AssetKey(asset_key),
                description=(
                    "Every done/failed conversation of the window carries its cost; one without "
                    "(cost null) would count as free in the snapshots, so it is flagged."
                ),
            )
        )
    return [
        *extra,
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
        dg.AssetCheckSpec(
            SETTLED_IN_TIME,
            asset=dg.AssetKey(asset_key),
            description=(
                "No record still waiting for its final cost after SIMBIOSIA_SETTLE_MAX_AGE; those "
                "are left for a person (settlement stops re-fetching them)."
            ),
        ),
    ]


def evaluate_raw_checks(
    conn: psycopg.Connection, table: RawTable, window: Window, settled_by: datetime
) -> list[dg.AssetCheckResult]:
    """The window's checks, and the table's records older than ``settled_by`` still unsettled."""
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
    overdue, oldest = conn.execute(
        sql.SQL(
            "SELECT count(*), min({col}) FROM {table} WHERE {col} < %(cutoff)s AND ({unsettled})"
        ).format(
            col=sql.Identifier(table.time_column),
            table=table.qualified,
            unsettled=sql.SQL(_UNSETTLED[table.name]),
        ),
        {"cutoff": settled_by},
    ).fetchone()
    results = []
    if table.name == "elevenlabs_conversations":
        without_cost = conn.execute(
            sql.SQL(
                "SELECT count(*), array_agg(conversation_id ORDER BY conversation_id)"
                " FROM {table} WHERE {window} AND ({violation})"
            ).format(
                table=table.qualified, window=in_window, violation=sql.SQL(_FINAL_WITHOUT_COST)
            ),
            params,
        ).fetchone()
        results.append(
            dg.AssetCheckResult(
                check_name=FINAL_HAS_COST,
                passed=without_cost[0] == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "conversations": without_cost[0],
                    "examples": ", ".join((without_cost[1] or [])[:10]),
                },
            )
        )
    return [
        *results,
        dg.AssetCheckResult(
            check_name=UNIQUE_IDS, passed=duplicates == 0, metadata={"duplicates": duplicates}
        ),
        dg.AssetCheckResult(
            check_name=AMOUNT_SIGNS, passed=wrong_sign == 0, metadata={"records": wrong_sign}
        ),
        dg.AssetCheckResult(
            check_name=SETTLED_IN_TIME,
            passed=overdue == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"overdue_records": overdue, "oldest": oldest.isoformat() if oldest else ""},
        ),
    ]
