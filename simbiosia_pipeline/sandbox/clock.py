"""The sandbox clock and the time formats both APIs speak.

Everything inside the sandbox works in integer unix seconds (UTC): the APIs only ever show
whole seconds (RFC 2822 dates on Twilio, ``*_unix_secs`` on ElevenLabs), so a fact that
happened at second ``t`` is visible at any clock reading ``now >= t``. The clock is either
fixed (tests, benchmarks, reproducible demos) or the wall clock, and can be moved at runtime
(``PUT /_sandbox/clock``) so a served sandbox can be aged to show late prices settling.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

HOUR = 3600
DAY = 86400

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_unix(value: datetime) -> int:
    """Whole unix seconds of ``value`` (floored, so a clock at 10:00:00.9 shows 10:00:00)."""
    return int(as_utc(value).timestamp() // 1)


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def floor_hour(seconds: int) -> int:
    return seconds - seconds % HOUR


def rfc2822(seconds: int) -> str:
    """Twilio's date format, always UTC: ``Mon, 05 Jan 2026 10:00:00 +0000``."""
    t = time.gmtime(seconds)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def iso_z(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or an offset; naive means UTC) into aware UTC."""
    return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


class Clock:
    """``now`` for the sandbox: fixed when set, the wall clock otherwise. Thread-safe.

    The server thread reads it on every request while a test thread may move it, so the
    value is swapped under a lock; readers get either the old or the new reading.
    """

    def __init__(self, fixed: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._fixed = None if fixed is None else as_utc(fixed)

    @property
    def is_fixed(self) -> bool:
        return self._fixed is not None

    def now(self) -> datetime:
        fixed = self._fixed
        return fixed if fixed is not None else datetime.now(UTC)

    def now_unix(self) -> int:
        return to_unix(self.now())

    def set(self, value: datetime | None) -> None:
        """Fix the clock at ``value``, or give it back to the wall clock with ``None``."""
        with self._lock:
            self._fixed = None if value is None else as_utc(value)
