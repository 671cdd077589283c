"""Every read of the backoffice: SQL on the marts, answered as pandas frames with exact amounts.

Only these relations are read (``warehouse.roles.DASHBOARD_READS``, which ``simbiosia db
grant-dashboard-role`` grants and nothing more): the hourly snapshots, ``twilio_direction_hours``,
``elevenlabs_llm_usage_hours``, ``call_costs``, ``unattributed_number_hours``, the directory
tables the old dashboard read (workspaces, their numbers and budgets) and the dated credit rate,
and ``billing_reconciliation`` once it exists. Totals come from the hourly tables — thousands
of rows whatever the number of calls — so every page answers fast at any volume; only the calls
page reads ``call_costs`` (a table rebuilt per hour like the snapshots), through its indexes on
time and numbers.

NUMERIC arrives as ``Decimal`` (``coerce_float=False``): nothing here is ever a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd
import psycopg
import sqlalchemy as sa

RECONCILIATION = "public.billing_reconciliation"

# The figures of a (workspace, bucket): the columns of every activity frame, in order.
ACTIVITY_COLUMNS = (
    "calls",
    "conversations",
    "billable_minutes",
    "twilio_usd",
    "elevenlabs_credits",
    "elevenlabs_usd",
    "total_usd",
    "pending",
)
MONEY_COLUMNS = ("twilio_usd", "elevenlabs_usd", "total_usd")

_WORKSPACE_FILTER = "(CAST(:workspace AS integer) IS NULL OR workspace_id = :workspace)"
_IN_RANGE = "snapshot_date >= :start AND snapshot_date < :end"

# Per workspace and bucket ({bucket}: the UTC hour, or the day of the reporting zone); credits
# in USD at the rate in force at the hour (rates start on whole hours).
_ACTIVITY_SQL = f"""
WITH twilio AS (
    SELECT workspace_id, {{bucket}} AS bucket, sum(total_calls) AS calls,
           sum(real_minutes) AS billable_minutes, sum(total_cost) AS twilio_usd,
           sum(unpriced_calls) AS unpriced_calls
      FROM public.twilio_snapshots
     WHERE {_IN_RANGE} AND {_WORKSPACE_FILTER}
     GROUP BY 1, 2
), elevenlabs AS (
    SELECT workspace_id, {{bucket}} AS bucket, sum(total_conversations) AS conversations,
           sum(total_cost) AS elevenlabs_credits,
           sum(total_cost * rates.usd_per_credit) AS elevenlabs_usd,
           sum(unsettled_conversations) AS unsettled_conversations
      FROM public.elevenlabs_snapshots
      LEFT JOIN public.elevenlabs_credit_rates AS rates
        ON snapshot_date >= rates.valid_from
       AND (rates.valid_to IS NULL OR snapshot_date < rates.valid_to)
     WHERE {_IN_RANGE} AND {_WORKSPACE_FILTER}
     GROUP BY 1, 2
)
SELECT coalesce(twilio.workspace_id, elevenlabs.workspace_id) AS workspace_id,
       coalesce(twilio.bucket, elevenlabs.bucket) AS bucket,
       coalesce(twilio.calls, 0) AS calls,
       coalesce(elevenlabs.conversations, 0) AS conversations,
       coalesce(twilio.billable_minutes, 0) AS billable_minutes,
       coalesce(twilio.twilio_usd, 0) AS twilio_usd,
       coalesce(elevenlabs.elevenlabs_credits, 0) AS elevenlabs_credits,
       coalesce(elevenlabs.elevenlabs_usd, 0) AS elevenlabs_usd,
       coalesce(twilio.twilio_usd, 0) + coalesce(elevenlabs.elevenlabs_usd, 0) AS total_usd,
       coalesce(twilio.unpriced_calls, 0) + coalesce(elevenlabs.unsettled_conversations, 0)
           AS pending
  FROM twilio
  FULL JOIN elevenlabs
    ON elevenlabs.workspace_id = twilio.workspace_id AND elevenlabs.bucket = twilio.bucket
 ORDER BY 2, 1
"""
DAILY_SQL = _ACTIVITY_SQL.format(bucket="(snapshot_date AT TIME ZONE :tz)::date")
HOURLY_SQL = _ACTIVITY_SQL.format(bucket="snapshot_date")

WORKSPACES_SQL = """
SELECT workspaces.id AS workspace_id, workspaces.name, budgets.daily_usd, budgets.monthly_usd
  FROM public.workspaces
  LEFT JOIN public.workspace_budgets AS budgets ON budgets.workspace_id = workspaces.id
 ORDER BY workspaces.id
"""

PHONES_SQL = """
SELECT phone_number, is_primary, valid_from, valid_to
  FROM public.workspace_phones
 WHERE workspace_id = :workspace
 ORDER BY valid_from NULLS FIRST, phone_number
"""

# The calls of the range, newest first: ``call_costs`` is a table indexed by time, workspace and
# (where the server has pg_trgm) the digits of both numbers, so that a search for any part of a
# number is an index lookup; a page reads its 100 rows and a count, whatever the volume.
_CALLS_WHERE = f"""
 WHERE started_at >= :start AND started_at < :end AND {_WORKSPACE_FILTER}
   AND (CAST(:digits AS text) IS NULL OR number_digits LIKE '%' || :digits || '%')
"""
CALLS_SQL = f"""
SELECT started_at, workspace_id, twilio_direction AS direction, from_number, to_number,
       coalesce(twilio_duration_secs, elevenlabs_duration_secs) AS duration_secs,
       twilio_usd, elevenlabs_credits, elevenlabs_usd, total_usd, is_settled,
       twilio_call_sid AS call_sid, conversation_id
  FROM public.call_costs {_CALLS_WHERE}
 ORDER BY started_at DESC, call_id
 LIMIT :limit OFFSET :offset
"""
CALLS_COUNT_SQL = f"SELECT count(*) FROM public.call_costs {_CALLS_WHERE}"


TWILIO_BY_DIRECTION_SQL = f"""
SELECT direction, sum(calls) AS calls, sum(billable_minutes) AS billable_minutes,
       sum(twilio_usd) AS twilio_usd, sum(unpriced_calls) AS unpriced_calls
  FROM public.twilio_direction_hours
 WHERE hour >= :start AND hour < :end AND {_WORKSPACE_FILTER}
 GROUP BY 1
 ORDER BY 1
"""

ELEVENLABS_CHARGES_SQL = f"""
SELECT coalesce(sum(llm_charge), 0) AS llm_charge_credits,
       coalesce(sum(call_charge), 0) AS call_charge_credits,
       coalesce(sum(total_cost), 0) AS total_credits,
       coalesce(sum(llm_price), 0) AS llm_price_usd
  FROM public.elevenlabs_snapshots
 WHERE {_IN_RANGE} AND {_WORKSPACE_FILTER}
"""

ELEVENLABS_BY_MODEL_SQL = f"""
SELECT model, token_category AS category, sum(conversations) AS conversations,
       sum(tokens) AS tokens, sum(llm_price_usd) AS llm_price_usd
  FROM public.elevenlabs_llm_usage_hours
 WHERE hour >= :start AND hour < :end AND {_WORKSPACE_FILTER}
 GROUP BY 1, 2
 ORDER BY 1, 2
"""

NEWEST_HOUR_SQL = """
SELECT max(snapshot_date) FROM (
    SELECT max(snapshot_date) AS snapshot_date FROM public.twilio_snapshots
    UNION ALL SELECT max(snapshot_date) FROM public.elevenlabs_snapshots) AS newest
"""

PENDING_HOURS_SQL = f"""
SELECT snapshot_date AS hour, workspace_id, sum(unpriced_calls) AS unpriced_calls,
       sum(unsettled_conversations) AS unsettled_conversations
  FROM (SELECT snapshot_date, workspace_id, unpriced_calls, 0 AS unsettled_conversations
          FROM public.twilio_snapshots WHERE unpriced_calls > 0
        UNION ALL
        SELECT snapshot_date, workspace_id, 0, unsettled_conversations
          FROM public.elevenlabs_snapshots WHERE unsettled_conversations > 0) AS pending
 WHERE {_IN_RANGE} AND {_WORKSPACE_FILTER}
 GROUP BY 1, 2
 ORDER BY 1 DESC, 2
"""

# The numbers that fell to the catch-all in the range, with their records of the range.
UNATTRIBUTED_SQL = """
SELECT phone_number, is_e164, sum(twilio_calls) AS twilio_calls,
       sum(elevenlabs_conversations) AS elevenlabs_conversations, sum(records) AS records,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
  FROM public.unattributed_number_hours
 WHERE hour >= :start AND hour < :end
 GROUP BY 1, 2
 ORDER BY records DESC, phone_number
"""

RECONCILIATION_SQL = (
    f"SELECT * FROM {RECONCILIATION} ORDER BY day DESC, provider, category LIMIT 400"
)


class WarehouseDownError(RuntimeError):
    """The warehouse did not answer; the message is safe to show (no URL, no password)."""


class NotBuiltError(RuntimeError):
    """The marts do not exist yet: nothing has been ingested into this warehouse."""


@dataclass(frozen=True)
class Filters:
    """What every page is filtered by: UTC bounds of whole local days, and a workspace."""

    start: datetime
    end: datetime
    workspace_id: int | None
    reporting_tz: str

    def params(self, **more) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "workspace": self.workspace_id,
            "tz": self.reporting_tz,
            **more,
        }


def read(engine: sa.Engine, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run ``sql``; a warehouse that is down or not built yet becomes an error a page can show."""
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn, params=params or {}, coerce_float=False)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc  # pandas wraps
        if isinstance(cause, sa.exc.OperationalError):
            raise WarehouseDownError(
                "The warehouse does not answer. The figures will be back when it is reachable "
                "again."
            ) from None
        if isinstance(getattr(cause, "orig", None), psycopg.errors.UndefinedTable):
            raise NotBuiltError(
                "The warehouse has no cost tables yet: run the pipeline first "
                "(`make run`, or a backfill)."
            ) from None
        raise


def daily(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    frame = read(engine, DAILY_SQL, filters.params())
    return frame.rename(columns={"bucket": "day"})


def hourly(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    frame = read(engine, HOURLY_SQL, filters.params())
    return frame.rename(columns={"bucket": "hour"})


def workspaces(engine: sa.Engine) -> pd.DataFrame:
    return read(engine, WORKSPACES_SQL)


def phones(engine: sa.Engine, workspace_id: int) -> pd.DataFrame:
    return read(engine, PHONES_SQL, {"workspace": workspace_id})


def search_digits(text: str) -> str | None:
    """The digits of a searched number (``+34 911-67`` → ``3491167``); None: no search."""
    digits = "".join(character for character in text if character.isdigit())
    return digits or None


def calls_page(
    engine: sa.Engine, filters: Filters, search: str, page: int, page_size: int
) -> tuple[pd.DataFrame, int]:
    """One page (1-based) of the phone calls of the range, newest first; and how many in all."""
    params = filters.params(
        digits=search_digits(search), limit=page_size, offset=(page - 1) * page_size
    )
    total = int(read(engine, CALLS_COUNT_SQL, params).iat[0, 0])
    return read(engine, CALLS_SQL, params), total


def all_calls(engine: sa.Engine, filters: Filters, search: str) -> pd.DataFrame:
    """Every call of the range matching ``search`` (the export of the calls page)."""
    params = filters.params(digits=search_digits(search), limit=None, offset=0)
    return read(engine, CALLS_SQL, params)


def twilio_by_direction(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    return read(engine, TWILIO_BY_DIRECTION_SQL, filters.params())


def elevenlabs_charges(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    return read(engine, ELEVENLABS_CHARGES_SQL, filters.params())


def elevenlabs_by_model(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    return read(engine, ELEVENLABS_BY_MODEL_SQL, filters.params())


def newest_hour(engine: sa.Engine) -> datetime | None:
    value = read(engine, NEWEST_HOUR_SQL).iat[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def pending_hours(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    return read(engine, PENDING_HOURS_SQL, filters.params())


def unattributed(engine: sa.Engine, filters: Filters) -> pd.DataFrame:
    return read(engine, UNATTRIBUTED_SQL, filters.params())


def reconciliation(engine: sa.Engine) -> pd.DataFrame | None:
    """The reconciliation with the providers' bills, newest days first; None until it exists."""
    exists = read(engine, "SELECT to_regclass(:name) IS NOT NULL", {"name": RECONCILIATION})
    return read(engine, RECONCILIATION_SQL) if bool(exists.iat[0, 0]) else None


def totals(frame: pd.DataFrame) -> dict[str, Decimal | int]:
    """The sum of every figure of an activity frame (zero for an empty one), exact."""
    result: dict[str, Decimal | int] = {}
    for column in ACTIVITY_COLUMNS:
        values = frame[column].tolist() if column in frame else []
        zero = Decimal(0) if column in (*MONEY_COLUMNS, "elevenlabs_credits") else 0
        result[column] = sum(values, zero)
    return result
