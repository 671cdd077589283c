"""Alerts on failures: a run that failed for good, an asset check that failed."""

from __future__ import annotations

import json

import dagster as dg

from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG


def run_failure_alert_sensor(
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=status,
        description="Alert when a run fails for good (not when the daemon will retry it).",
    )
    def _alert(context: dg.RunFailureSensorContext, alerts: AlertChannels) -> None:
        run = context.dagster_run
        if run.tags.get("dagster/will_retry") == "true":
            return
        alerts.send(
            f"Run failed: {run.job_name} ({run.run_id[:8]})",
            _run_description(run) + f"\n{context.failure_event.message or ''}",
        )

    return _alert


def check_failure_alert_sensor(
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="check_failure_alert_sensor",
        minimum_interval_seconds=60,
        default_status=status,
        description=(
            "Alert when an asset check fails (data quality, reconciliation, settlement age)."
        ),
    )
    def _alert(context: dg.SensorEvaluationContext, alerts: AlertChannels) -> dg.SkipReason:
        """Follows the check evaluations in the event log; the cursor is the last storage id."""
        return _alert_failed_checks(context, alerts)

    return _alert


def _alert_failed_checks(
    context: dg.SensorEvaluationContext, alerts: AlertChannels
) -> dg.SkipReason:
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
            alerts.send(
                f"Check failed: {evaluation.asset_key.to_user_string()} · {evaluation.check_name}",
                f"severity {evaluation.severity.value}; run {record.run_id[:8]}; "
                + json.dumps(_plain_metadata(evaluation.metadata), default=str),
            )
        context.update_cursor(str(record.storage_id))
    return dg.SkipReason(f"{len(records)} check evaluation(s), {failed} failed")


def _plain_metadata(metadata) -> dict:
    return {key: getattr(value, "value", value) for key, value in (metadata or {}).items()}


def _run_description(run) -> str:
    start = run.tags.get(RANGE_START_TAG) or run.tags.get("dagster/partition")
    end = run.tags.get(RANGE_END_TAG)
    return f"partitions {start} .. {end}" if end else f"partition {start}" if start else ""
