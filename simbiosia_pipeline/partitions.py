"""The partitionings of the project: UTC hours, and UTC days for what the providers bill.

A partition holds the records whose *start time* falls in ``[H, H+1)``. UTC only — in a zone with
daylight saving one hour a year does not exist and another happens twice; reporting time zones are
applied in SQL (``workspace_daily_costs``), never in partition keys.
"""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.settings import Settings

PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"


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
