"""Freshness: the newest hour of each raw asset is loaded by :45 of the next hour.

(The settlement-age check runs inside the raw assets too: ``assets/raw_checks.py``.)

The check is declared on each raw asset (``freshness_check_spec``) and evaluated without a step
of its own, in two places that share ``evaluate_freshness``:

* inside every raw run, after its write (``freshness_result``) — what Dagster's own
  ``build_time_partition_freshness_checks`` did as a trailing step of every run that selected
  the raw assets: a process started, and in a ranged run one planned row per check and hour
  (Dagster 1.13 plans every check of a partitioned run over the run's whole partition range,
  even a check that has no partitions): ~1.5–6 s of a 90-day backfill;
* between runs, by ``freshness_sensor`` — a stalled pipeline has no run to say so. It reports
  the evaluation straight to the instance (no run), and only when the verdict differs from the
  check's last one, so a late hour alerts once (``check_failure_alert_sensor``), not every tick.

Same rule as Dagster's check it replaces: fresh when the instance holds a materialization of the
expected hour. Not Dagster 1.13's ``FreshnessPolicy``: it judges when an asset was last
materialized (a backfill of old hours would satisfy it) and reports a freshness state rather than
a check, which the alert sensor would not see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from simbiosia_pipeline.partitions import HOURLY, PARTITION_KEY_FORMAT
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR

FRESHNESS_CHECK = "freshness_check"
# The newest complete hour must be loaded by this many minutes past the next hour.
DEADLINE_MINUTES = 45
SEVERITY = dg.AssetCheckSeverity.WARN


def freshness_check_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        FRESHNESS_CHECK,
        asset=asset_key,
        description=(
            f"The newest complete UTC hour is loaded by :{DEADLINE_MINUTES} of the next hour "
            "(evaluated after every run of the asset and, between runs, by freshness_sensor)."
        ),
    )


def expected_hour(now: datetime) -> tuple[datetime, datetime]:
    """(the newest hour that must be loaded at ``now``, its deadline): the hour before the hour
    of the last :45 passed. At 10:50 that is 09:00 (due 10:45); at 10:30, 08:00 (due 09:45)."""
    deadline_hour = (now - timedelta(minutes=DEADLINE_MINUTES)).replace(
        minute=0, second=0, microsecond=0
    )
    return deadline_hour - HOUR, deadline_hour + timedelta(minutes=DEADLINE_MINUTES)


def evaluate_freshness(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    now: datetime,
    written: Window | None = None,
) -> tuple[bool, dict]:
    """Whether the expected hour of ``asset_key`` is loaded — in the instance, or in the window
    the calling run has just ``written`` (its materializations are stored after the check) —
    and the metadata saying which hour was expected by when."""
    hour, deadline = expected_hour(now.astimezone(UTC))
    key = hour.strftime(PARTITION_KEY_FORMAT)
    metadata = {"expected_hour": key, "deadline": dg.MetadataValue.timestamp(deadline)}
    if hour < HOURLY.start:  # before the first partition: nothing is expected yet
        return True, metadata
    if written is not None and hour in written:
        return True, metadata
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1
    ).records
    return bool(records), metadata


def freshness_result(
    context: dg.AssetExecutionContext, written: Window, now: datetime
) -> dg.AssetCheckResult:
    """The check as a raw run evaluates it, after writing ``written``."""
    passed, metadata = evaluate_freshness(context.instance, context.asset_key, now, written)
    return dg.AssetCheckResult(
        check_name=FRESHNESS_CHECK, passed=passed, severity=SEVERITY, metadata=metadata
    )


def _last_verdict(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey) -> bool | None:
    summary = instance.event_log_storage.get_asset_check_summary_records([check_key])[check_key]
    record = summary.last_completed_check_execution_record
    evaluation = record.event.asset_check_evaluation if record and record.event else None
    return evaluation.passed if evaluation else None


def changed_verdicts(
    instance: dg.DagsterInstance, asset_keys: list[dg.AssetKey], now: datetime
) -> list[dg.AssetCheckEvaluation]:
    """The freshness evaluations at ``now`` whose verdict differs from the check's last one."""
    changed = []
    for asset_key in asset_keys:
        passed, metadata = evaluate_freshness(instance, asset_key, now)
        if passed != _last_verdict(instance, dg.AssetCheckKey(asset_key, FRESHNESS_CHECK)):
            changed.append(
                dg.AssetCheckEvaluation(
                    asset_key=asset_key,
                    check_name=FRESHNESS_CHECK,
                    passed=passed,
                    severity=SEVERITY,
                    metadata=metadata,
                )
            )
    return changed


def freshness_sensor(
    asset_keys: list[dg.AssetKey], status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED
) -> dg.SensorDefinition:
    @dg.sensor(
        name="freshness_checks_sensor",
        minimum_interval_seconds=5 * 60,
        default_status=status,
        description=(
            "Evaluates the raw assets' freshness checks between runs (a stalled pipeline has no "
            "run to evaluate them) and records a result when the verdict changes."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return dg.SensorResult(
            asset_events=changed_verdicts(context.instance, asset_keys, datetime.now(UTC))
        )

    return _sensor
