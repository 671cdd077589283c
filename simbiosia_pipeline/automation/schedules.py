"""Time-driven runs: the hourly pipeline and the daily safety net.

Why a schedule rather than declarative automation: the hourly work is purely time-driven (the
hour closes → fetch it → rebuild its snapshots), a schedule built from the partitioned job gives
each tick the partition key as its run key — so an hour is run once, never twice, and a missed
tick is visible in the UI — and it is trivially testable. ``eager()``/``on_cron()`` conditions
only look at the latest partition, which would not restate late hours anyway; those are the
settlement sensor's job.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import dagster as dg

from simbiosia_pipeline.partitions import day_range_tags, hour_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sources.windows import Window

HOURLY_MINUTE = 10  # ten minutes after the hour: calls that just ended get a chance to be rated
CATCH_UP_HOURS = 48


def hourly_schedule(
    job, status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED
) -> dg.ScheduleDefinition:
    """Every hour at :10, the hour that just closed (run key = partition key: runs once).

    The UI's schedule page reads "Partition set: None" for every schedule of Dagster 1.13 (its
    ``ScheduleSnap.from_def`` never sets a partition set name), so what the schedule targets is
    said in its description and metadata instead.
    """
    return dg.build_schedule_from_partitioned_job(
        job,
        minute_of_hour=HOURLY_MINUTE,
        name="hourly_pipeline_schedule",
        default_status=status,
        description=(
            "Ingest the hour that just closed and rebuild its snapshots: one run per hourly "
            "partition (UTC, key YYYY-MM-DD-HH:00), the partition key as the run key."
        ),
        metadata={"partitions": "hourly, UTC (raw assets and hourly dbt models)"},
    )


def catch_up_schedule(
    job, status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED
) -> dg.ScheduleDefinition:
    """Daily at 03:30 UTC: re-read the last two days in one ranged run, as a safety net."""

    @dg.schedule(
        name="daily_catch_up_schedule",
        cron_schedule="30 3 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=status,
        description=f"Re-ingest the last {CATCH_UP_HOURS} hours and restate their snapshots.",
    )
    def _catch_up(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return catch_up_request(context.scheduled_execution_time)

    return _catch_up


def catch_up_request(scheduled_at) -> dg.RunRequest:
    end = scheduled_at.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=CATCH_UP_HOURS)
    return dg.RunRequest(
        run_key=f"catch-up-{end:%Y-%m-%d}",
        tags={**hour_range_tags(Window(start, end)), "simbiosia/reason": "daily-catch-up"},
    )


RECONCILE_HOUR = 5  # UTC: yesterday is over and most late prices of the days before landed


def reconciliation_lookback_days(final_after: timedelta) -> int:
    """Days re-read each morning: every day that may not be final yet (a day is final
    ``final_after`` after it ends), and one more."""
    return -(-final_after // timedelta(days=1)) + 1


def reconciliation_schedule(
    job, status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED
) -> dg.ScheduleDefinition:
    """Daily at 05:00 UTC: re-read the providers' bills of the last days and reconcile them,
    in one ranged run, until each day is final (SIMBIOSIA_RECONCILE_FINAL_AFTER after it)."""

    @dg.schedule(
        name="daily_reconciliation_schedule",
        cron_schedule=f"0 {RECONCILE_HOUR} * * *",
        job=job,
        execution_timezone="UTC",
        default_status=status,
        description="Re-read what Twilio and ElevenLabs bill for the last days and reconcile.",
    )
    def _reconcile(
        context: dg.ScheduleEvaluationContext, settings: PipelineSettings
    ) -> dg.RunRequest:
        return reconciliation_request(
            context.scheduled_execution_time, settings.reconcile_final_after
        )

    return _reconcile


def reconciliation_request(scheduled_at, final_after: timedelta) -> dg.RunRequest:
    today = scheduled_at.astimezone(UTC).date()
    first = today - timedelta(days=reconciliation_lookback_days(final_after))
    last = today - timedelta(days=1)
    return dg.RunRequest(
        run_key=f"reconcile-{today:%Y-%m-%d}",
        tags={**day_range_tags(first, last), "simbiosia/reason": "daily-reconciliation"},
    )
