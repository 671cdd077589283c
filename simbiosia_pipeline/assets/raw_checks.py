"""Data-quality checks of a raw table, evaluated right after a window is written.

They run inside the raw asset: they see exactly the window just written, and cost no step of
their own (a step is a process and a second or more of a run). The window checks are blocking:
when one fails, the snapshots of that run are not rebuilt from the bad load. The settlement-age
check looks at the whole table and only warns: it is for a person, not a reason to stop. The
currency check (tables whose amounts carry their currency: Twilio's) fails without blocking:
calls priced in a currency the workspaces file gives no USD rate for are stored and counted
(``twilio_snapshots.unconverted_calls``) but left out of the USD totals, and the check says which
currency and how to add its rate.

Which checks a table gets, and the predicates they run, are the table's contract
(``warehouse/tables.py``): nothing here knows a table by its name.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import psycopg
from psycopg import sql

from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.tables import CheckedRawTable

UNIQUE_IDS = "unique_ids"
AMOUNT_SIGNS = "amounts_have_the_expected_sign"
SETTLED_IN_TIME = "no_unsettled_record_beyond_max_age"
CONVERTIBLE_TO_USD = "prices_convertible_to_usd"
FINAL_HAS_COST = "final_conversations_have_a_cost"


def raw_check_specs(asset_key: dg.AssetKey, table: CheckedRawTable) -> list[dg.AssetCheckSpec]:
    """The checks of ``table``'s asset: the table-specific ones its contract asks for, then the
    three every raw table gets."""
    specific = []
    if table.prices is not None:
        specific.append(
            dg.AssetCheckSpec(
                CONVERTIBLE_TO_USD,
                asset=asset_key,
                description=(
                    "Every price of the window is in USD or in a currency the workspaces file "
                    "gives a USD rate for (pricing.usd_per_currency_unit); others are left out "
                    "of USD totals."
                ),
            )
        )
    if table.final_without_cost is not None:
        specific.append(
            dg.AssetCheckSpec(
                FINAL_HAS_COST,
                asset=asset_key,
                description=(
                    "Every done/failed conversation of the window carries its cost; one without "
                    "(cost null) would count as free in the snapshots, so it is flagged."
                ),
            )
        )
    return [
        *specific,
        dg.AssetCheckSpec(
            UNIQUE_IDS,
            asset=asset_key,
            blocking=True,
            description="Each source record is stored once.",
        ),
        dg.AssetCheckSpec(
            AMOUNT_SIGNS, asset=asset_key, blocking=True, description=table.sign_rule
        ),
        dg.AssetCheckSpec(
            SETTLED_IN_TIME,
            asset=asset_key,
            description=(
                "No record still waiting for its final cost after SIMBIOSIA_SETTLE_MAX_AGE; those "
                "are left for a person (settlement stops re-fetching them)."
            ),
        ),
    ]


def evaluate_raw_checks(
    conn: psycopg.Connection, table: CheckedRawTable, window: Window, settled_by: datetime
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
            violation=sql.SQL(table.sign_violations),
        ),
        params,
    ).fetchone()[0]
    overdue, oldest = conn.execute(
        sql.SQL(
            "SELECT count(*), min({col}) FROM {table} WHERE {col} < %(cutoff)s AND ({unsettled})"
        ).format(
            col=sql.Identifier(table.time_column),
            table=table.qualified,
            unsettled=sql.SQL(table.pending),
        ),
        {"cutoff": settled_by},
    ).fetchone()
    results = []
    if table.prices is not None:
        results.append(unconverted_currencies_check(conn, table, window))
    if table.final_without_cost is not None:
        results.append(final_without_cost_check(conn, table, in_window, params))
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


def final_without_cost_check(
    conn: psycopg.Connection, table: CheckedRawTable, in_window: sql.Composable, params: dict
) -> dg.AssetCheckResult:
    """Warns, with examples, of the window's final records that carry no cost: stored as
    served (it is what the API says), flagged for a person."""
    count, examples = conn.execute(
        sql.SQL(
            "SELECT count(*), array_agg({key} ORDER BY {key})"
            " FROM {table} WHERE {window} AND ({violation})"
        ).format(
            key=sql.Identifier(table.key),
            table=table.qualified,
            window=in_window,
            violation=sql.SQL(table.final_without_cost),
        ),
        params,
    ).fetchone()
    return dg.AssetCheckResult(
        check_name=FINAL_HAS_COST,
        passed=count == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"conversations": count, "examples": ", ".join((examples or [])[:10])},
    )


# Priced records of the window, by currency other than USD; `{no_rate}` narrows them to those
# without a USD rate in force at their time.
_UNCONVERTED_SQL = """
SELECT coalesce(upper(priced.{unit}), '(none)') AS currency, count(*), min(priced.{time})
  FROM {table} AS priced
 WHERE priced.{time} >= %(start)s AND priced.{time} < %(end)s
   AND priced.{amount} IS NOT NULL
   AND upper(coalesce(priced.{unit}, '')) <> 'USD'
   {no_rate}
 GROUP BY 1
 ORDER BY 1
"""
_NO_RATE = """
   AND NOT EXISTS (
        SELECT FROM public.currency_rates AS rate
         WHERE rate.currency = upper(priced.{unit})
           AND rate.valid_from <= priced.{time}
           AND (rate.valid_to IS NULL OR priced.{time} < rate.valid_to))
"""


def unconverted_currencies_check(
    conn: psycopg.Connection, table: CheckedRawTable, window: Window
) -> dg.AssetCheckResult:
    """Fails naming each currency of the window without a USD rate, and how to add one."""
    names = {
        "table": table.qualified,
        "time": sql.Identifier(table.time_column),
        "amount": sql.Identifier(table.prices.amount),
        "unit": sql.Identifier(table.prices.unit),
    }
    # Before the first directory load there is no rate table, hence no rate for any currency.
    have_rates = conn.execute("SELECT to_regclass('public.currency_rates')").fetchone()[0]
    no_rate = sql.SQL(_NO_RATE).format(**names) if have_rates else sql.SQL("")
    query = sql.SQL(_UNCONVERTED_SQL).format(no_rate=no_rate, **names)
    rows = conn.execute(query, {"start": window.start, "end": window.end}).fetchall()
    problems = [unconverted_message(currency, calls, first) for currency, calls, first in rows]
    return dg.AssetCheckResult(
        check_name=CONVERTIBLE_TO_USD,
        passed=not rows,
        description=" ".join(problems) or None,
        metadata={
            "unconverted_calls": sum(calls for _currency, calls, _first in rows),
            "currencies": ", ".join(currency for currency, _calls, _first in rows),
            "problem": " ".join(problems),
        },
    )


def unconverted_message(currency: str, calls: int, first: datetime) -> str:
    example = f'{currency}: [{{valid_from: "{first.date()}", rate: "<USD per {currency}>"}}]'
    return (
        f"{calls} call(s) priced in {currency} (the first at {first.isoformat()}) have no USD rate "
        f"in force: add one to the workspaces file under pricing.usd_per_currency_unit, e.g. "
        f"`{example}`. Until then they are stored and counted in "
        "twilio_snapshots.unconverted_calls, but left out of the USD totals."
    )
