"""Runs whose process is gone, released every minute — not only when the next command starts.

``simbiosia backfill`` killed with ``kill -9`` leaves its run STARTED and its pool slots taken;
the hourly runs share those pools. The next ``simbiosia`` command releases such runs, but none
may come: this sensor does the same check from the code location (which runs on the host of
the CLI runs it can judge — a run tagged with another host is left to run monitoring), marks
each failed, frees its slots, and alerts.
"""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.abandoned_runs import release_abandoned_runs
from simbiosia_pipeline.automation.alerts import AlertChannels


def abandoned_runs_sensor(
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="abandoned_runs_sensor",
        minimum_interval_seconds=60,
        default_status=status,
        description="Fail the CLI runs whose process is gone (kill -9) and free their pool slots.",
    )
    def _release(context: dg.SensorEvaluationContext, alerts: AlertChannels) -> dg.SkipReason:
        released = release_abandoned_runs(context.instance)
        for entry in released:
            context.log.warning(f"released {entry.describe()}")
            alerts.send(f"Run released: {entry.run_id[:8]}", entry.describe())
        return dg.SkipReason(f"{len(released)} run(s) released")

    return _release
