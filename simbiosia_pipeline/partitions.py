"""The partitionings of the project: UTC hours, and UTC days for what the providers bill.

A partition holds the records whose *start time* falls in ``[H, H+1)``. UTC only — in a zone with
daylight saving one hour a year does not exist and another happens twice; reporting time zones are
applied in SQL (``workspace_daily_costs``), never in partition keys.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR

PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"
# A run carrying both tags covers the partitions from the first to the last, both included.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def hourly_partitions(settings: Settings | None = None) -> dg.HourlyPartitionsDefinition:
    settings = settings or Settings.from_env()
    return dg.HourlyPartitionsDefinition(
        start_date=settings.start_datetime.strftime(PARTITION_KEY_FORMAT),
        timezone="UTC",
        fmt=PARTITION_KEY_FORMAT,
    )


HOURLY = hourly_partitions()

DAY_KEY_FORMAT = "%Y-%m-%d"


def daily_partitions(settings: Settings | None = None) -> dg.DailyPartitionsDefinition:
    """UTC days, for the providers' daily usage and the reconciliation: the providers total
    their bills per UTC day, so a day is the smallest window their figures can be compared in."""
    settings = settings or Settings.from_env()
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_datetime.strftime(DAY_KEY_FORMAT),
        timezone="UTC",
        fmt=DAY_KEY_FORMAT,
    )


DAILY = daily_partitions()


def partition_range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """The tags of one run over the partitions ``first_key .. last_key`` (both included)."""
    return {RANGE_START_TAG: first_key, RANGE_END_TAG: last_key}


def hour_key_range(window: Window) -> dg.PartitionKeyRange:
    """The hourly partitions of ``[start, end)``, first and last included."""
    return dg.PartitionKeyRange(
        window.start.strftime(PARTITION_KEY_FORMAT),
        (window.end - HOUR).strftime(PARTITION_KEY_FORMAT),
    )


def hour_range_tags(window: Window) -> dict[str, str]:
    """The tags of one run over the hours of ``[start, end)``."""
    keys = hour_key_range(window)
    return partition_range_tags(keys.start, keys.end)


def day_range_tags(first: date, last: date) -> dict[str, str]:
    """The tags of one run over the UTC days ``first .. last`` (both included)."""
    return partition_range_tags(first.strftime(DAY_KEY_FORMAT), last.strftime(DAY_KEY_FORMAT))
