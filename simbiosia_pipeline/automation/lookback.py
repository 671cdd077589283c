"""Calls that land late re-attribute the hours after them, by themselves.

Two attribution rules read Twilio calls from before the hour being built: a transfer leg belongs
to the workspace of the call at the top of its chain, and a callback on a SIP number nobody owns
to the workspace that last called the lead within ``lead_lookback_hours`` (dbt var). An hour
built before the calls it looks back on were ingested — the schedule started before history was
backfilled, ranges backfilled latest first, a call listed late — would keep those calls in the
catch-all. So when a write of ``raw/twilio_calls`` adds records, the hours of the following
lookback that were built before it are rebuilt: the models only, no API call.

A record can also *leave* an hour: a Twilio call listed while queued is stored in the hour it was
created; once it starts in the next hour, that hour's run stores it there and removes it from
the hour before — whose snapshots still count it, and which neither its own schedule nor
settlement will run again. So every raw write reports the hours whose records changed in either
direction (``HOURS_CHANGED``, from the writer), and this sensor restates those hours that were
built before the write and not since — the run's own window is rebuilt by the run — together
with the hours that look back on them.

A write that moves nothing (settlement re-fetching prices, a rerun) restates nothing: a price
changes no attribution, and the run rebuilds its own window. Writes recorded before
``HOURS_CHANGED`` existed fall back to ``records_added`` over their window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import dagster as dg
import yaml

from simbiosia_pipeline.assets.raw import HOURS_CHANGED, RECORDS_ADDED, raw_asset_key
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT, partition_range_tags
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse import tables

TWILIO_CALLS = raw_asset_key(tables.TWILIO_CALLS)
ELEVENLABS_CONVERSATIONS = raw_asset_key(tables.ELEVENLABS_CONVERSATIONS)
# Attribution looks back on earlier Twilio calls only; a conversation changes its own hour.
WATCHED = {TWILIO_CALLS: True, ELEVENLABS_CONVERSATIONS: False}  # asset → hours look back on it
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


def hours_to_restate(write: ChangingWrite) -> list[str]:
    """The hours whose records changed, and (for Twilio) the hours that look back on them."""
    keys: set[str] = set()
    for changed in write.changed:
        keys.update(hour.strftime(PARTITION_KEY_FORMAT) for hour in changed.hour_starts())
        if write.looked_back_on:
            keys.update(hours_looking_back_on(changed))
    return sorted(keys)


def stale_hours(instance: dg.DagsterInstance, candidates: list[str], written_at: int) -> list[str]:
    """Of ``candidates``, the hours whose attributed calls were last built before the write
    (event storage id ``written_at``)."""

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
        **partition_range_tags(hours[0], hours[-1]),
        "simbiosia/reason": "records that arrived or left restate their hours and those after",
    }


@dataclass(frozen=True)
class ChangingWrite:
    """A raw write whose records changed hours: which, and its last event's storage id."""

    changed: tuple[Window, ...]
    written_at: int
    looked_back_on: bool


def changing_writes(records, looked_back_on: bool) -> dict[str, ChangingWrite]:
    """The raw writes (by run) that moved records in or out of hours."""
    writes: dict[str, ChangingWrite] = {}
    for record in records:
        changed = changed_windows(record.asset_materialization.metadata)
        if changed:
            writes[record.run_id] = ChangingWrite(changed, record.storage_id, looked_back_on)
    return writes


def changed_windows(metadata) -> tuple[Window, ...]:
    if HOURS_CHANGED in metadata:
        ranges = metadata[HOURS_CHANGED].value
        if isinstance(ranges, str):
            ranges = json.loads(ranges)
        return tuple(
            Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
            for start, end in ranges
        )
    added = metadata.get(RECORDS_ADDED)
    if added is None or added.value <= 0:
        return ()
    return (
        Window(
            datetime.fromisoformat(metadata["window_start"].value),
            datetime.fromisoformat(metadata["window_end"].value),
        ),
    )


def _cursor(text: str | None) -> dict[str, int]:
    """Per watched asset, the last storage id seen (an older cursor was Twilio's id alone)."""
    if not text:
        return {}
    if text.isdigit():
        return {key.to_user_string(): int(text) for key in WATCHED}
    return json.loads(text)


def lookback_restatement_sensor(
    restate_job,
    minimum_interval_seconds: int = 60,
    status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
):
    @dg.sensor(
        name="lookback_restatement_sensor",
        job=restate_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=status,
        description=(
            "Rebuild the hours records left or arrived in after they were built, and the hours"
            " whose attribution looks back on them."
        ),
    )
    def _restate(context: dg.SensorEvaluationContext):
        cursor = _cursor(context.cursor)
        requests = []
        seen_any = False
        for asset_key, looked_back_on in WATCHED.items():
            name = asset_key.to_user_string()
            result = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=cursor.get(name, 0)),
                limit=MAX_EVENTS_PER_TICK,
                ascending=True,
            )
            if not result.records:
                continue
            seen_any = True
            for run_id, write in changing_writes(result.records, looked_back_on).items():
                hours = stale_hours(context.instance, hours_to_restate(write), write.written_at)
                if hours:
                    # One request per write: a ranged write's events may span two ticks.
                    requests.append(
                        dg.RunRequest(
                            run_key=f"lookback-{name}-{run_id}", tags=restatement_tags(hours)
                        )
                    )
            cursor[name] = result.records[-1].storage_id
        if not seen_any:
            return dg.SkipReason("no new raw writes")
        context.update_cursor(json.dumps(cursor))
        return requests or dg.SkipReason("no hour built earlier depends on the records that moved")

    return _restate
