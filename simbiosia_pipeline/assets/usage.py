"""What the providers bill, one UTC day per partition: Twilio Usage Records, ElevenLabs usage.

Both assets read the run's whole window of days (one day, or a range in a backfill — the same
code path) in one request sequence and replace those days in their table in one transaction,
with the writer the raw call assets use: re-reading a day any number of times leaves the same
rows (only ``ingested_at`` and the provider's ``as_of`` move). Each day's materialization
carries that day's own rows and amounts, the window's figures are the run's
(``partition_metadata.py``). A provider keeps changing a day's
figures for a while after it ends; ``reconciliation_schedule`` re-reads the last days until they
are final, and the reconciliation compares only final days.
"""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation.
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg

from simbiosia_pipeline.assets.partition_metadata import result_per_partition
from simbiosia_pipeline.assets.raw import PERMANENT_ERRORS, RANGE_IN_ONE_RUN, raw_asset_key
from simbiosia_pipeline.partitions import DAILY, DAY_KEY_FORMAT
from simbiosia_pipeline.sources.resources import SourceApis
from simbiosia_pipeline.sources.usage import (
    UsageFetch,
    UsageResponseError,
    elevenlabs_usage_row,
    twilio_usage_row,
)
from simbiosia_pipeline.warehouse.connection import WarehouseUnavailableError
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import (
    ELEVENLABS_USAGE,
    TWILIO_USAGE_RECORDS,
    ElevenLabsUsageRow,
    TwilioUsageRow,
)
from simbiosia_pipeline.warehouse.writer import RawTable, replace_window

USAGE_GROUP = "provider_usage"


def window_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The run's first and last UTC day (inclusive)."""
    start, end = context.partition_time_window
    return start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(seconds=1)).date()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _load_days(
    context: dg.AssetExecutionContext,
    apis: SourceApis,
    warehouse: WarehouseResource,
    table: RawTable,
    fetch: Callable[[date, date], UsageFetch],
    to_row: Callable[[dict, datetime], TwilioUsageRow | ElevenLabsUsageRow],
) -> tuple[list[TwilioUsageRow | ElevenLabsUsageRow], UsageFetch, int]:
    first, last = window_days(context)
    ingested_at = datetime.now(UTC)
    try:
        fetched = fetch(first, last)
        rows = [to_row(record, ingested_at) for record in fetched.records]
        rows = [row for row in rows if first <= row.day <= last]  # only the window's days
        with warehouse.connect() as conn:
            ensure_raw_schema(conn)
            claim_source_mode(conn, apis.mode)
            writer = replace_window(
                conn, table, _day_start(first), _day_start(last) + timedelta(days=1), rows
            )
    except WarehouseUnavailableError:
        raise
    except (*PERMANENT_ERRORS, UsageResponseError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    context.log.info(f"{table.lock_name}: {writer.inserted} rows for {first}..{last}")
    return rows, fetched, writer.deleted


def usage_assets(retry_policy: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """``raw/twilio_usage_records`` and ``raw/elevenlabs_usage``, with the step retries given."""
    return [
        usage_asset(
            TWILIO_USAGE_RECORDS,
            "twilio",
            retry_policy,
            "Twilio's Usage Records per UTC day and category: what Twilio bills.",
        )(twilio_usage_records),
        usage_asset(
            ELEVENLABS_USAGE,
            "elevenlabs",
            retry_policy,
            "ElevenLabs' credits (and fiat) per UTC day and product: what it bills.",
        )(elevenlabs_usage),
    ]


def usage_asset(table: RawTable, api: str, retry_policy: dg.RetryPolicy, description_of_key: str):
    return dg.asset(
        key=raw_asset_key(table),
        group_name=USAGE_GROUP,
        partitions_def=DAILY,
        backfill_policy=RANGE_IN_ONE_RUN,
        retry_policy=retry_policy,
        pool=f"{api}_api",
        kinds={api, "postgres"},
        owners=["team:data-engineering"],
        description=description_of_key,
    )


def twilio_usage_records(
    context: dg.AssetExecutionContext, apis: SourceApis, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Twilio's daily Usage Records of the window's days, every category, as billed.

    ``calls`` (= ``calls-inbound`` + ``calls-outbound``), ``trunking-origination``,
    ``trunking-termination`` and ``totalprice`` are what the reconciliation reads; ``as_of`` says
    how up to date each figure is. Idempotent: the window's days are deleted and re-inserted in
    one transaction.
    """
    rows, fetched, replaced = _load_days(
        context,
        apis,
        warehouse,
        TWILIO_USAGE_RECORDS,
        apis.twilio_usage().daily_records,
        twilio_usage_row,
    )
    return result_per_partition(
        context,
        per_day(context, rows, _twilio_day),
        {"rows_replaced": replaced, **fetched.stats.as_metadata()},
    )


def _twilio_day(rows: list) -> dict:
    """A day's Usage Records: how many, ``totalprice`` (in the account's currency: exact as
    text, a float for plotting) and the oldest ``as_of`` (how up to date the day's figures are)."""
    prices = [row.price for row in rows if row.category == "totalprice" and row.price is not None]
    totalprice = sum(prices, Decimal(0))
    as_of = min((row.as_of for row in rows if row.as_of is not None), default=None)
    return {
        "dagster/row_count": len(rows),
        "totalprice": str(totalprice),
        "totalprice_amount": float(totalprice),
        **({"oldest_as_of": dg.MetadataValue.timestamp(as_of)} if as_of else {}),
    }


def elevenlabs_usage(
    context: dg.AssetExecutionContext, apis: SourceApis, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """ElevenLabs' usage analytics of the window's days: credits and fiat per product.

    One query, daily buckets in UTC, grouped by ``product_type``. Idempotent: the window's days
    are deleted and re-inserted in one transaction.
    """
    rows, fetched, replaced = _load_days(
        context,
        apis,
        warehouse,
        ELEVENLABS_USAGE,
        apis.elevenlabs_usage().daily_usage,
        elevenlabs_usage_row,
    )
    return result_per_partition(
        context,
        per_day(context, rows, _elevenlabs_day),
        {"rows_replaced": replaced, **fetched.stats.as_metadata()},
    )


def _elevenlabs_day(rows: list) -> dict:
    """A day's usage rows (one per product) and their credits: exact as text, a float for
    plotting."""
    credits = sum((row.credits or Decimal(0) for row in rows), Decimal(0))
    return {
        "dagster/row_count": len(rows),
        "credits": str(credits),
        "credits_amount": float(credits),
    }


def per_day(
    context: dg.AssetExecutionContext,
    rows: list,
    figures: Callable[[list], dict],
    day_of: Callable[[Any], date] = lambda row: row.day,
) -> dict[str, dict]:
    """``figures`` of each day of the run's window — of no rows, for a day without any — by
    partition key (for ``result_per_partition``)."""
    by_day: dict[date, list] = {}
    for row in rows:
        by_day.setdefault(day_of(row), []).append(row)
    first, last = window_days(context)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {day.strftime(DAY_KEY_FORMAT): figures(by_day.get(day, [])) for day in days}
