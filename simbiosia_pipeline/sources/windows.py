"""Pure time-window arithmetic shared by the fetchers (UTC, half-open ``[start, end)``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from simbiosia_pipeline.utc import HOUR


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval ``[start, end)``; both ends timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty window: {self.start.isoformat()} .. {self.end.isoformat()}")

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def hours(self) -> int:
        return int((self.end - self.start).total_seconds() // 3600)

    def hour_starts(self) -> list[datetime]:
        """The start of each whole hour of the window (its hourly partitions)."""
        return [self.start + timedelta(hours=n) for n in range(self.hours)]

    def days(self) -> list[date]:
        """The UTC calendar days the window touches (what day-granular filters must fetch)."""
        first = self.start.astimezone(UTC).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def split_by_day(self) -> Iterator[Window]:
        """The window cut at UTC midnights: one piece per day it touches."""
        for day in self.days():
            piece_start = max(self.start, day_start(day))
            piece_end = min(self.end, day_start(day + timedelta(days=1)))
            yield Window(piece_start, piece_end)

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M}) UTC"


def hour_ranges(hours: Iterable[datetime], max_ranges: int = 24) -> list[Window]:
    """Hour starts → the fewest contiguous windows covering them, ascending; past
    ``max_ranges`` windows, the one window from the first to the last (covering more, never
    less: what reads it restates a superset)."""
    ranges: list[Window] = []
    for hour in sorted(set(hours)):
        if ranges and ranges[-1].end == hour:
            ranges[-1] = Window(ranges[-1].start, hour + HOUR)
        else:
            ranges.append(Window(hour, hour + HOUR))
    if len(ranges) > max_ranges:
        return [Window(ranges[0].start, ranges[-1].end)]
    return ranges


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def from_unix_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
