"""Re-attribution: an edited workspaces file restates the history it changes, by itself.

Two sensors: one notices that the file says something the warehouse does not (a new content
hash) and loads it; the other sees the load report from which moment attribution changed
(``restate_from``) and rebuilds the hourly models from that hour to the last complete one, in one
ranged run. Raw data is not re-fetched: attribution lives in the models.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.assets.directory import RESTATE_FROM
from simbiosia_pipeline.automation.alerts import AlertChannels, AlertDeliveryError
from simbiosia_pipeline.partitions import HOURLY, hour_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import DirectoryError, load_directory


def workspaces_file_sensor(
    directory_job,
    minimum_interval_seconds: int = 60,
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
):
    @dg.sensor(
        name="workspaces_file_sensor",
        job=directory_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=status,
        description="Load the workspaces file into the warehouse whenever what it says changes.",
    )
    def _watch(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        settings: PipelineSettings,
        alerts: AlertChannels,
    ):
        """The cursor is the fingerprint of the last invalid file alerted (once per edit)."""
        path = settings.workspaces_path
        try:
            content_hash = load_directory(path).content_hash()
        except DirectoryError as exc:  # the previous directory stays in force
            return _report_invalid(context, alerts, path, exc)
        if _loaded_hash(warehouse) == content_hash:
            return dg.SkipReason(f"the warehouse already holds {path.name} {content_hash[:12]}")
        return dg.RunRequest(run_key=f"directory-{content_hash}")

    return _watch


def _report_invalid(
    context: dg.SensorEvaluationContext, alerts: AlertChannels, path, error: DirectoryError
):
    """Skip the tick with the file's problems; alert once per version of the invalid file."""
    reason = (
        "the workspaces file is invalid and was not loaded (the previous directory stays in "
        f"force): {error}"
    )
    fingerprint = _file_fingerprint(path)
    if fingerprint != context.cursor:
        try:
            alerts.send("Workspaces file invalid: not loaded", str(error))
        except AlertDeliveryError as failure:
            return dg.SkipReason(f"{reason}\n(alert not sent: {failure})")
        context.update_cursor(fingerprint)
    return dg.SkipReason(reason)


def _file_fingerprint(path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def restatement_request(restate_from: datetime, now: datetime) -> dg.RunRequest | None:
    """The ranged run that rebuilds the hourly models from ``restate_from`` to the last hour."""
    start = max(restate_from.astimezone(UTC).replace(minute=0, second=0, microsecond=0),
                HOURLY.start.astimezone(UTC))  # fmt: skip
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if start >= end:
        return None
    return dg.RunRequest(
        tags={**hour_range_tags(Window(start, end)), "simbiosia/reason": "re-attribution"}
    )


def directory_restatement_sensor(
    restate_job,
    clock=lambda: datetime.now(UTC),
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
):
    @dg.asset_sensor(
        name="directory_restatement_sensor",
        asset_key=dg.AssetKey("workspace_directory"),
        job=restate_job,
        default_status=status,
        description="Rebuild the hourly models over the history a directory change re-attributes.",
    )
    def _restate(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        metadata = asset_event.asset_materialization.metadata
        value = metadata[RESTATE_FROM].value if RESTATE_FROM in metadata else ""
        if not value:
            return dg.SkipReason("the directory load changed no attribution")
        request = restatement_request(datetime.fromisoformat(value), clock())
        if request is None:
            return dg.SkipReason("the change only affects hours not ingested yet")
        return dg.RunRequest(run_key=f"restate-{asset_event.run_id}", tags=request.tags)

    return _restate


def _loaded_hash(warehouse: WarehouseResource) -> str | None:
    with warehouse.connect() as conn:
        if conn.execute("SELECT to_regclass('public.workspace_directory')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT content_hash FROM public.workspace_directory").fetchone()
    return row[0] if row else None
