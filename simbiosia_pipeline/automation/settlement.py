"""Which hours still hold costs that are not final, and which of them to re-run now.

Twilio rates a completed call some time after it ends (``price`` NULL until then; unanswered
calls stay NULL for good and are settled at 0); an ElevenLabs conversation's cost is final only
at status ``done``/``failed`` — the one definition of "pending" is ``sources/pending.py``. Every
hour holding a pending record is re-ingested — and its snapshots restated — until the record
settles, or until it is older than the maximum age, after which it is left to the checks and
alerts.

The planning is pure (tested on its own); the sensor only feeds it the warehouse's answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simbiosia_pipeline.sources.pending import CONVERSATION_PENDING_SQL, TWILIO_PENDING_SQL
from simbiosia_pipeline.sources.windows import Window

HOUR = timedelta(hours=1)

UNSETTLED_HOURS_SQL = f"""
SELECT date_trunc('hour', event_time) AS hour FROM raw.twilio_calls
 WHERE {TWILIO_PENDING_SQL} AND event_time >= %(since)s
UNION
SELECT date_trunc('hour', start_time) FROM raw.elevenlabs_conversations
 WHERE {CONVERSATION_PENDING_SQL} AND start_time >= %(since)s
ORDER BY 1
"""


@dataclass(frozen=True)
class SettlementPolicy:
    max_age: timedelta = timedelta(hours=48)
    # Don't ask again for an hour sooner than this: prices land minutes after a call ends.
    min_interval: timedelta = timedelta(minutes=15)
    max_hours_per_run: int = 24
    max_runs_per_tick: int = 4


def plan_settlement(
    unsettled_hours: Iterable[datetime],
    last_requested: dict[str, str],
    now: datetime,
    policy: SettlementPolicy,
) -> list[Window]:
    """Ranges of hours to re-run now: due, not older than the max age, merged and capped."""
    oldest_allowed = now - policy.max_age
    due = sorted(
        hour
        for hour in set(unsettled_hours)
        if hour >= oldest_allowed
        and hour + HOUR <= now  # the current hour belongs to the hourly schedule
        and _is_due(last_requested.get(hour.isoformat()), now, policy.min_interval)
    )
    return merge_hours(due, policy.max_hours_per_run)[: policy.max_runs_per_tick]


def merge_hours(hours: list[datetime], max_hours: int) -> list[Window]:
    """Sorted hour starts → contiguous ranges of at most ``max_hours`` hours."""
    ranges: list[Window] = []
    for hour in hours:
        last = ranges[-1] if ranges else None
        if last and last.end == hour and last.hours < max_hours:
            ranges[-1] = Window(last.start, hour + HOUR)
        else:
            ranges.append(Window(hour, hour + HOUR))
    return ranges


def remember_requests(
    last_requested: dict[str, str], ranges: list[Window], now: datetime, policy: SettlementPolicy
) -> dict[str, str]:
    """The sensor's new cursor: when each hour was last requested (old entries forgotten)."""
    updated = {
        hour: at
        for hour, at in last_requested.items()
        if datetime.fromisoformat(hour) >= now - policy.max_age - HOUR
    }
    for window in ranges:
        hour = window.start
        while hour < window.end:
            updated[hour.isoformat()] = now.isoformat()
            hour += HOUR
    return updated


def _is_due(requested_at: str | None, now: datetime, min_interval: timedelta) -> bool:
    return requested_at is None or now - datetime.fromisoformat(requested_at) >= min_interval
