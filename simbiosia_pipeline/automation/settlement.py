"""Which hours still hold costs that are not final, and which of them to re-run now.

Twilio rates a completed call some time after it ends (``price`` NULL until then; unanswered
calls stay NULL for good and are settled at 0); an ElevenLabs conversation's cost is final only
at status ``done``/``failed`` — the one definition of "pending" is ``sources/pending.py``. Every
hour holding a pending record is re-ingested — and its snapshots restated — until the record
settles, or until it is older than the maximum age, after which it is left to the checks and
alerts.

The planning is pure (tested on its own); the sensor (at the end) only feeds it the warehouse's
answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from simbiosia_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG, hour_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sources.pending import CONVERSATION_PENDING_SQL, TWILIO_PENDING_SQL
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline.warehouse.resource import WarehouseResource

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


def settlement_request(window: Window, now: datetime) -> dg.RunRequest:
    tags = hour_range_tags(window)
    return dg.RunRequest(
        # Unique per range and tick: an hour that is still unsettled later is asked for again.
        run_key=f"settle-{tags[RANGE_START_TAG]}-{tags[RANGE_END_TAG]}-{now:%Y%m%dT%H%M}",
        tags={**tags, "simbiosia/reason": "settlement"},
    )


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def settlement_sensor(
    job, clock=_wall_clock, status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED
) -> dg.SensorDefinition:
    """``clock`` is the time the sensor believes it is (tests drive it with the sandbox's);
    ``status`` whether it starts running on deploy (``definitions.py``)."""

    @dg.sensor(
        name="settlement_sensor",
        job=job,
        minimum_interval_seconds=300,
        default_status=status,
        description="Re-ingest hours that hold unrated prices or unfinished conversations.",
    )
    def _settlement(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        settings: PipelineSettings,
    ):
        policy = SettlementPolicy(max_age=settings.settle_max_age)
        now = clock()
        with warehouse.connect() as conn:
            if conn.execute("SELECT to_regclass('raw.twilio_calls')").fetchone()[0] is None:
                return dg.SkipReason("nothing ingested yet")
            rows = conn.execute(UNSETTLED_HOURS_SQL, {"since": now - policy.max_age}).fetchall()
        last_requested = json.loads(context.cursor) if context.cursor else {}
        ranges = plan_settlement([row[0] for row in rows], last_requested, now, policy)
        cursor = json.dumps(remember_requests(last_requested, ranges, now, policy))
        if not ranges:
            context.update_cursor(cursor)
            return dg.SkipReason(f"{len(rows)} unsettled hour(s), none due now")
        return dg.SensorResult(
            run_requests=[settlement_request(window, now) for window in ranges], cursor=cursor
        )

    return _settlement
