"""Calls that land late re-attribute the hours after them, by themselves.

Two attribution rules read Twilio calls from before the hour being built: a transfer leg belongs
to the workspace of the call at the top of its chain, and a callback on a SIP number nobody owns
to the workspace that last called the lead within ``lead_lookback_hours`` (dbt var). An hour
built before the calls it looks back on were ingested — the schedule started before history was
backfilled, ranges backfilled latest first, a call listed late — would keep those calls in the
catch-all. So when a write of ``raw/twilio_calls`` adds records, the hours of the following
lookback that were built before it are rebuilt: the models only, no API call.

A write that adds nothing (settlement re-fetching prices, a rerun) restates nothing: only new
calls can be parents or leads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import dagster as dg
import yaml

from simbiosia_pipeline.assets.raw import RECORDS_ADDED
from simbiosia_pipeline.automation.sensors import default_sensor_status
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.sources.windows import Window

HOUR = timedelta(hours=1)
TWILIO_CALLS = dg.AssetKey(["raw", "twilio_calls"])
ATTRIBUTED_CALLS = dg.AssetKey(["staging", "stg_twilio_calls"])
MAX_EVENTS_PER_TICK = 10_000


@cache
def lookback() -> timedelta:
    """How far back attribution reads: the dbt project's ``lead_lookback_hours``."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project" / "dbt_project.yml").read_text())
    return timedelta(hours=int(project["vars"]["lead_lookback_hours"]))


def hours_looking_back_on(window: Window) -> list[str]:
    """Partition keys of the hours whose attribution may read calls of ``window``."""
    following = Window(window.end, window.end + lookback())
    return [hour.strftime(PARTITION_KEY_FORMAT) for hour in following.hour_starts()]


def stale_hours(instance: dg.DagsterInstance, window: Window, written_at: int) -> list[str]:
    """The hours after ``window`` whose attributed calls were last built before the write
    (event storage id ``written_at``)."""
    candidates = hours_looking_back_on(window)

    def built(**after_or_before) -> set[str]:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=ATTRIBUTED_CALLS, asset_partitions=candidates, **after_or_before
            ),
            limit=MAX_EVENTS_PER_TICK,
        ).records
        return {record.partition_key for record in records}

    return sorted(built(before_storage_id=written_at) - built(after_storage_id=written_at))


def restatement_tags(hours: list[str]) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": hours[0],
        "dagster/asset_partition_range_end": hours[-1],
        "simbiosia/reason": "late calls re-attribute the following hours",
    }


def growing_writes(records) -> dict[str, tuple[Window, int]]:
    """The raw writes (by run) that added records: their window and their last event's id."""
    writes: dict[str, tuple[Window, int]] = {}
    for record in records:
        metadata = record.asset_materialization.metadata
        added = metadata.get(RECORDS_ADDED)
        if added is None or added.value <= 0:
            continue
        window = Window(
            datetime.fromisoformat(metadata["window_start"].value),
            datetime.fromisoformat(metadata["window_end"].value),
        )
        writes[record.run_id] = (window, record.storage_id)
    return writes


def lookback_restatement_sensor(restate_job, minimum_interval_seconds: int = 60):
    @dg.sensor(
        name="lookback_restatement_sensor",
        job=restate_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_sensor_status(),
        description="Rebuild the hours whose attribution looks back on calls that landed late.",
    )
    def _restate(context: dg.SensorEvaluationContext):
        after = int(context.cursor or 0)
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=TWILIO_CALLS, after_storage_id=after),
            limit=MAX_EVENTS_PER_TICK,
            ascending=True,
        )
        if not result.records:
            return dg.SkipReason("no new Twilio writes")
        requests = []
        for run_id, (window, written_at) in growing_writes(result.records).items():
            hours = stale_hours(context.instance, window, written_at)
            if hours:
                # One request per write: a ranged write's events may span two ticks.
                requests.append(
                    dg.RunRequest(run_key=f"lookback-{run_id}", tags=restatement_tags(hours))
                )
        context.update_cursor(str(result.records[-1].storage_id))
        return requests or dg.SkipReason("no hour built earlier looks back on the new calls")

    return _restate
