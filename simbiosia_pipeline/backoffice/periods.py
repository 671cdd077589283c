"""Date ranges of the reporting time zone, and the UTC instants that bound them.

A range is whole local calendar days, ``first`` to ``last`` inclusive. Its bounds are the local
midnights converted to UTC, so a day of a DST change is 23 or 25 hours, as the wall clock says.
The snapshots are hourly in UTC; every zone the business uses is a whole number of hours from UTC,
so a local day is exactly a set of snapshot hours.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRESETS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365}
CUSTOM = "Custom range"


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date  # inclusive

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"a range ends on or after its first day: {self.first} > {self.last}")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def utc_bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: the local midnights that start ``first`` and end ``last``."""
        return local_midnight(self.first, zone), local_midnight(self.last + timedelta(days=1), zone)

    def label(self) -> str:
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def last_days(days: int, today: date) -> DayRange:
    """The last ``days`` days, today included (its hours so far)."""
    return DayRange(today - timedelta(days=days - 1), today)


def month_to_date(today: date) -> DayRange:
    return DayRange(today.replace(day=1), today)


def same_days_last_month(current: DayRange) -> DayRange:
    """The same days of the previous month: 1 March–31 March compares with 1–28 February (the
    days that month has), 1–15 October with 1–15 September."""
    previous_last_day = current.first - timedelta(days=1)
    year, month = previous_last_day.year, previous_last_day.month
    length = calendar.monthrange(year, month)[1]
    first = date(year, month, min(current.first.day, length))
    last = date(year, month, min(current.last.day, length))
    return DayRange(first, last)
