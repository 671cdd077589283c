"""A ``simbiosia backfill`` recorded as a Dagster backfill, so that the UI can resume it.

The command runs its chunks of hours in its own process (headless: no webserver, no daemon), so
Dagster knows them only as separate runs — runs the webserver cannot re-execute, as they come
from no code location. Once the chunks are over, the command records them as what a backfill
launched from the asset graph leaves behind: an asset backfill of the selection over the
window's hours, holding the asset partitions its runs materialized, its runs tagged as its own.
"Re-execute → From failure" on it (the UI, or GraphQL's ``reexecutePartitionBackfill``) then
has the daemon materialize what is not materialized — the failed steps' hours and the chunks
that never ran, nothing else — as for any asset backfill (dagster-graphql's
``retry_partition_backfill`` requests the target minus the materialized subset).

Recorded when the chunks are over, never before: the daemon executes every backfill it finds
REQUESTED, and these runs are the command's. A command stopped by a signal records nothing (it
exits at once, see ``stoppable.py``): running it again resumes it, the writes are idempotent.
The runs are tagged afterwards, so they also stay in the runs list on their own.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.definitions.timestamp import TimestampWithTimezone
from dagster._core.execution.asset_backfill import AssetBackfillData
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.storage.tags import BACKFILL_ID_TAG
from dagster._core.utils import make_new_backfill_id

from simbiosia_pipeline.partitions import HOURLY, hour_key_range
from simbiosia_pipeline.sources.windows import Window

if TYPE_CHECKING:
    from simbiosia_pipeline.commands import ChunkResult


def record_backfill(
    instance: dg.DagsterInstance,
    asset_graph,
    asset_keys: Collection[dg.AssetKey],
    window: Window,
    runs: Sequence[ChunkResult],
    started: datetime,
    title: str,
) -> str:
    """Record ``runs`` (the chunks run so far, in order) as a finished asset backfill of
    ``asset_keys`` over ``window``; its id."""
    requested = _hours_subset(asset_graph, asset_keys, [run.window for run in runs])
    materialized = AssetGraphSubset.from_asset_partition_set(
        {AssetKeyPartitionKey(*done) for run in runs for done in run.materialized},
        asset_graph,
    )
    data = AssetBackfillData(
        target_subset=_hours_subset(asset_graph, asset_keys, [window]),
        requested_runs_for_target_roots=True,
        latest_storage_id=None,
        materialized_subset=materialized,
        requested_subset=requested,
        failed_and_downstream_subset=requested - materialized,
        backfill_start_time=TimestampWithTimezone(started.timestamp(), "UTC"),
    )
    covered = sum(run.window.hours for run in runs if run.success) == window.hours
    backfill = PartitionBackfill(
        backfill_id=make_new_backfill_id(),
        status=BulkActionStatus.COMPLETED_SUCCESS if covered else BulkActionStatus.COMPLETED_FAILED,
        from_failure=False,
        tags={},  # inherited by the re-execution's runs: nothing of this process
        backfill_timestamp=started.timestamp(),
        asset_selection=sorted(asset_keys, key=lambda key: key.to_user_string()),
        title=title,
        asset_backfill_data=data,
        backfill_end_timestamp=time.time(),
    )
    instance.add_backfill(backfill)
    for run in runs:
        instance.add_run_tags(run.run_id, {BACKFILL_ID_TAG: backfill.backfill_id})
    return backfill.backfill_id


def _hours_subset(
    asset_graph, asset_keys: Iterable[dg.AssetKey], windows: Iterable[Window]
) -> AssetGraphSubset:
    """The hours of ``windows`` of every hourly asset of ``asset_keys``, and the unpartitioned
    ones whole (a ranged run materializes them once). Assets partitioned otherwise (by day)
    cannot run over hours and are left out."""
    windows = list(windows)
    by_key, unpartitioned = {}, set()
    for key in asset_keys:
        partitions = asset_graph.get(key).partitions_def
        if partitions is None:
            unpartitioned.add(key)
        elif partitions == HOURLY:
            subset = partitions.empty_subset()
            for window in windows:
                subset = subset.with_partition_key_range(partitions, hour_key_range(window))
            by_key[key] = subset
    return AssetGraphSubset(
        partitions_subsets_by_asset_key=by_key,
        non_partitioned_asset_keys=unpartitioned if windows else set(),
    )
