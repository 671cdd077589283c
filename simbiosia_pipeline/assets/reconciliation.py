"""The daily reconciliation with the providers' bills, and its checks.

``public.billing_reconciliation`` (a dbt view) compares, per provider, UTC day and category, what
the pipeline summed from the records with what the provider bills. This asset — one UTC day per
partition, like the usage assets — reads the view for its days and evaluates them:

* ``matches_provider_bills`` fails when a day is ``mismatch``; its metadata (and therefore the
  alert the check-failure sensor sends) names each day, provider and category with both amounts;
* ``provider_days_final_in_time`` warns when a day is still ``provider_pending`` longer than
  ``SIMBIOSIA_RECONCILE_PENDING_MAX_AGE`` after it ended.

Reading a view writes nothing: materializing any window any number of times is idempotent.
Each day's materialization counts that day's rows by status (``partition_metadata.py``).
"""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation.
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import psycopg

from simbiosia_pipeline.assets.partition_metadata import result_per_partition
from simbiosia_pipeline.assets.raw import raw_asset_key
from simbiosia_pipeline.assets.usage import USAGE_GROUP, per_day
from simbiosia_pipeline.assets.usage import window_days as usage_window_days
from simbiosia_pipeline.partitions import DAILY
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_USAGE, TWILIO_USAGE_RECORDS

RECONCILIATION_KEY = dg.AssetKey(["reconciliation", "billing_days"])
VIEW_KEY = dg.AssetKey(["public", "billing_reconciliation"])
MATCHES = "matches_provider_bills"
FINAL_IN_TIME = "provider_days_final_in_time"

# What a difference can mean, shown where it shows up (never hidden by a tolerance).
EXPLANATIONS = {
    ("twilio", "total"): (
        "totalprice also holds what Twilio bills beyond calls (answering machine detection, "
        "text-to-speech, SIP REFER, numbers): a difference only here, with calls and trunking "
        "ok, is such usage"
    ),
    ("twilio", "calls"): (
        "count differs: a call billed but not in the call list (or the reverse); same count: a "
        "price changed after it settled, or a price in a currency without a rate"
    ),
    ("twilio", "trunking"): (
        "count differs: a trunk call billed but not in the call list; same count: a price "
        "changed after it settled, or a currency without a rate"
    ),
    ("elevenlabs", "agents"): (
        "ElevenLabs bills credits beyond `cost` (the voice surcharge is included in ours); a "
        "difference is a conversation billed but not listed, or credits changed after it "
        "was final"
    ),
}


@dataclass(frozen=True)
class ReconciledRow:
    provider: str
    day: date
    category: str
    our_count: int
    provider_count: int | None
    our_amount: Decimal
    provider_amount: Decimal | None
    currency: str
    difference: Decimal | None
    status: str

    def as_metadata(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "provider": self.provider,
            "category": self.category,
            "ours": str(self.our_amount),
            "theirs": None if self.provider_amount is None else str(self.provider_amount),
            "currency": self.currency,
            "difference": None if self.difference is None else str(self.difference),
            "our_count": self.our_count,
            "provider_count": self.provider_count,
            "status": self.status,
            "explanation": EXPLANATIONS.get((self.provider, self.category), ""),
        }


_ROWS_SQL = """
SELECT provider, day, category, our_count, provider_count, our_amount, provider_amount,
       currency, difference, status
FROM public.billing_reconciliation
WHERE day BETWEEN %s AND %s
ORDER BY day, provider, category
"""


def reconciled_rows(conn: psycopg.Connection, first: date, last: date) -> list[ReconciledRow]:
    """The view's rows of the UTC days ``first..last``."""
    if conn.execute("SELECT to_regclass('public.billing_reconciliation')").fetchone()[0] is None:
        raise dg.Failure(
            description=(
                "public.billing_reconciliation does not exist yet: materialize cost_views (the "
                "dbt views) once, e.g. with `simbiosia run`"
            ),
            allow_retries=False,
        )
    return [ReconciledRow(*row) for row in conn.execute(_ROWS_SQL, (first, last)).fetchall()]


def overdue_pending(rows: list[ReconciledRow], now: datetime, max_age: timedelta) -> list:
    """Rows still ``provider_pending`` more than ``max_age`` after their day ended."""
    return [
        row
        for row in rows
        if row.status == "provider_pending"
        and datetime(row.day.year, row.day.month, row.day.day, tzinfo=UTC)
        + timedelta(days=1)
        + max_age
        < now
    ]


def reconciliation_checks(
    rows: list[ReconciledRow], now: datetime, pending_max_age: timedelta
) -> list[dg.AssetCheckResult]:
    mismatches = [row for row in rows if row.status == "mismatch"]
    overdue = overdue_pending(rows, now, pending_max_age)
    return [
        dg.AssetCheckResult(
            check_name=MATCHES,
            passed=not mismatches,
            description=_describe(mismatches) if mismatches else "every final day reconciles",
            metadata={"mismatches": [row.as_metadata() for row in mismatches]},
        ),
        dg.AssetCheckResult(
            check_name=FINAL_IN_TIME,
            passed=not overdue,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "pending_too_long": [row.as_metadata() for row in overdue],
                "max_age_hours": pending_max_age.total_seconds() / 3600,
            },
        ),
    ]


def _describe(mismatches: list[ReconciledRow]) -> str:
    return "; ".join(
        f"{row.day} {row.provider} {row.category}: ours {row.our_amount} {row.currency}, "
        f"theirs {row.provider_amount} ({row.our_count} vs {row.provider_count} records)"
        for row in mismatches
    )


@dg.asset(
    key=RECONCILIATION_KEY,
    group_name=USAGE_GROUP,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[raw_asset_key(TWILIO_USAGE_RECORDS), raw_asset_key(ELEVENLABS_USAGE), VIEW_KEY],
    kinds={"postgres"},
    owners=["team:data-engineering"],
    check_specs=[
        dg.AssetCheckSpec(
            MATCHES,
            asset=RECONCILIATION_KEY,
            description=(
                "Every final day's sums match what Twilio and ElevenLabs bill, within "
                "SIMBIOSIA_RECONCILE_TOLERANCE; a mismatch names its day, provider, category "
                "and both amounts."
            ),
        ),
        dg.AssetCheckSpec(
            FINAL_IN_TIME,
            asset=RECONCILIATION_KEY,
            description=(
                "No day still waiting for the provider's final figures longer than "
                "SIMBIOSIA_RECONCILE_PENDING_MAX_AGE after it ended."
            ),
        ),
    ],
)
def billing_days(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """The reconciliation of the window's UTC days: one row per provider, day and category of
    ``public.billing_reconciliation``, counted by status, and the two checks above. Reads only."""
    first, last = usage_window_days(context)
    with warehouse.connect() as conn:
        rows = reconciled_rows(conn, first, last)
    for row in rows:
        context.log.info(
            f"{row.day} {row.provider:<10} {row.category:<8} ours {row.our_amount} "
            f"theirs {row.provider_amount} {row.currency}: {row.status}"
        )
    statuses = sorted({row.status for row in rows})

    def day_figures(day_rows: list[ReconciledRow]) -> dict:
        """A day's rows, counted by status (every status of the window, 0 included)."""
        counts = {f"rows_{status}": 0 for status in statuses}
        for row in day_rows:
            counts[f"rows_{row.status}"] += 1
        return {"dagster/row_count": len(day_rows), **counts}

    return result_per_partition(
        context,
        per_day(context, rows, day_figures, day_of=lambda row: row.day),
        {},
        check_results=reconciliation_checks(
            rows, datetime.now(UTC), settings.reconcile_pending_max_age
        ),
    )
