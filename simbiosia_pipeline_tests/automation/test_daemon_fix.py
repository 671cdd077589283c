"""The project's daemon (simbiosia_pipeline/daemon.py): Dagster 1.13's job backfill looks up the
last run of a partition *range* on re-execution from failure, and its own check refuses a range
(docs/upstream/job-backfill-reexecute-from-failure.md). Patched, the lookup answers with the run
of that range, as it already does for a single partition."""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import pytest
from dagster._check import CheckError
from dagster._core.definitions.partitions.partition_key_range import PartitionKeyRange
from dagster._core.execution import job_backfill
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_SET_TAG,
)

from simbiosia_pipeline import daemon

PARTITION_SET = SimpleNamespace(
    job_name="hourly_pipeline_job", name="hourly_pipeline_job_partition_set"
)
RANGE = PartitionKeyRange("2025-10-01-06:00", "2025-10-01-09:00")


def test_unpatched_dagster_refuses_a_range_and_the_patch_finds_its_run(monkeypatch):
    monkeypatch.setattr(job_backfill, "_fetch_last_run", job_backfill._fetch_last_run)
    # a stand-in for the partition set the daemon loads from the code location
    monkeypatch.setattr(job_backfill, "RemotePartitionSet", SimpleNamespace)
    with dg.instance_for_test() as instance:
        tags = {
            PARTITION_SET_TAG: PARTITION_SET.name,
            ASSET_PARTITION_RANGE_START_TAG: RANGE.start,
            ASSET_PARTITION_RANGE_END_TAG: RANGE.end,
        }
        run = instance.add_run(DagsterRun(job_name=PARTITION_SET.job_name, run_id="r1", tags=tags))
        assert daemon.needs_patch()
        with pytest.raises(CheckError, match="is not a str"):
            job_backfill._fetch_last_run(instance, PARTITION_SET, RANGE)
        assert daemon.patch_fetch_last_run()
        assert job_backfill._fetch_last_run(instance, PARTITION_SET, RANGE).run_id == run.run_id
        other = PartitionKeyRange("2025-10-02-06:00", "2025-10-02-09:00")
        assert job_backfill._fetch_last_run(instance, PARTITION_SET, other) is None
        assert not daemon.needs_patch()  # applied once
