"""Event- and state-driven runs and alerts: settlement, failures, failed checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from simbiosia_pipeline.automation.alerts import send_alert
from simbiosia_pipeline.automation.budgets import (
    SPEND_SQL,
    DailySpend,
    budget_crossings,
    forget_before,
    lookback_start,
)
from simbiosia_pipeline.automation.settlement import (
    UNSETTLED_HOURS_SQL,
    SettlementPolicy,
    plan_settlement,
    remember_requests,
)
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.resource import WarehouseResource

HOUR = timedelta(hours=1)


def default_sensor_status() -> dg.DefaultSensorStatus:
    """Sensors start running on deploy, unless ``SIMBIOSIA_AUTOMATION=off``."""
    if Settings.from_env().automation_enabled:
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED


def settlement_request(window: Window, now: datetime) -> dg.RunRequest:
    start_key = window.start.strftime(PARTITION_KEY_FORMAT)
    end_key = (window.end - HOUR).strftime(PARTITION_KEY_FORMAT)
    return dg.RunRequest(
        # Unique per range and tick: an hour that is still unsettled later is asked for again.
        run_key=f"settle-{start_key}-{end_key}-{now:%Y%m%dT%H%M}",
        tags={
            "dagster/asset_partition_range_start": start_key,
            "dagster/asset_partition_range_end": end_key,
            "simbiosia/reason": "settlement",
        },
    )


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def settlement_sensor(job, clock=_wall_clock) -> dg.SensorDefinition:
    """``clock`` is the time the sensor believes it is (tests drive it with the sandbox's)."""

    @dg.sensor(
        name="settlement_sensor",
        job=job,
        minimum_interval_seconds=300,
        default_status=default_sensor_status(),
        description="Re-ingest hours that hold unrated prices or unfinished conversations.",
    )
    def _settlement(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        policy = SettlementPolicy(max_age=Settings.from_env().settle_max_age)
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


def budget_alert_sensor(clock=_wall_clock) -> dg.SensorDefinition:
    @dg.sensor(
        name="budget_alert_sensor",
        minimum_interval_seconds=300,
        default_status=default_sensor_status(),
        description="Alert once when a workspace's daily or monthly spend crosses its budget.",
    )
    def _budgets(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        settings = Settings.from_env()
        today = clock().astimezone(ZoneInfo(settings.reporting_tz)).date()
        since = lookback_start(today)
        with warehouse.connect() as conn:
            if (
                conn.execute("SELECT to_regclass('public.workspace_daily_costs')").fetchone()[0]
                is None
            ):
                return dg.SkipReason("no cost models built yet")
            rows = [DailySpend(*row) for row in conn.execute(SPEND_SQL, {"since": since})]
        alerted = set(json.loads(context.cursor)) if context.cursor else set()
        crossings = budget_crossings(rows, alerted)
        for crossing in crossings:
            send_alert(f"Budget crossed: workspace {crossing.workspace_id}", crossing.describe())
            alerted.add(crossing.key)
            context.update_cursor(json.dumps(sorted(alerted)))  # never alert twice, even on error
        context.update_cursor(json.dumps(sorted(forget_before(alerted, since))))
        return dg.SkipReason(f"{len(crossings)} budget crossing(s) alerted")

    return _budgets


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=default_sensor_status(),
    description="Alert when a run fails for good (not when the daemon will retry it).",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    if run.tags.get("dagster/will_retry") == "true":
        return
    send_alert(
        f"Run failed: {run.job_name} ({run.run_id[:8]})",
        _run_description(run) + f"\n{context.failure_event.message or ''}",
    )


@dg.sensor(
    name="check_failure_alert_sensor",
    minimum_interval_seconds=60,
    default_status=default_sensor_status(),
    description="Alert when an asset check fails (data quality, reconciliation, settlement age).",
)
def check_failure_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Follows the check evaluations in the event log; the cursor is the last storage id seen."""
    records = context.instance.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            after_cursor=int(context.cursor) if context.cursor else None,
        ),
        limit=500,
        ascending=context.cursor is not None,
    )
    if context.cursor is None:  # first tick: start from now, don't replay history
        context.update_cursor(str(max((r.storage_id for r in records), default=0)))
        return dg.SkipReason("started following check evaluations")
    failed = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            failed += 1
            send_alert(
                f"Check failed: {evaluation.asset_key.to_user_string()} · {evaluation.check_name}",
                f"severity {evaluation.severity.value}; run {record.run_id[:8]}; "
                + json.dumps(_plain_metadata(evaluation.metadata), default=str),
            )
        context.update_cursor(str(record.storage_id))
    return dg.SkipReason(f"{len(records)} check evaluation(s), {failed} failed")


def _plain_metadata(metadata) -> dict:
    return {key: getattr(value, "value", value) for key, value in (metadata or {}).items()}


def _run_description(run) -> str:
    start = run.tags.get("dagster/asset_partition_range_start") or run.tags.get("dagster/partition")
    end = run.tags.get("dagster/asset_partition_range_end")
    return f"partitions {start} .. {end}" if end else f"partition {start}" if start else ""
