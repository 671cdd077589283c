"""``python -m simbiosia_pipeline.daemon run -w workspace.yaml``: ``dagster-daemon``, with a fix.

Re-executing from failure a backfill launched from a job's page fails in the daemon of Dagster
1.13 with ``ParameterCheckError: Param "partition_name" is not a str. Got PartitionKeyRange``.
Our hourly assets run a range of hours in one run (``BackfillPolicy.single_run()``), so a job
backfill submits ``PartitionKeyRange`` chunks; on re-execution from failure,
``dagster._core.execution.job_backfill.create_backfill_run`` hands such a range to
``_fetch_last_run``, which looks the previous run up by range tags when given a range — but
first checks that it is a ``str``. The cause is Dagster's (reproduction and analysis:
docs/upstream/job-backfill-reexecute-from-failure.md), not our definitions, so it is worked
around here: ``_fetch_last_run`` accepts a range, and does what it already does for one.

The patch applies only while the installed Dagster still has the faulty check, so upgrading to a
fixed release makes this module a plain ``dagster-daemon``. Every way we start a daemon goes
through here: ``simbiosia ui``, the production service (README), the tests.
"""

from __future__ import annotations

import inspect
import sys

FAULTY_CHECK = 'check.str_param(partition_key_or_range, "partition_name")'


def needs_patch() -> bool:
    from dagster._core.execution import job_backfill

    return FAULTY_CHECK in inspect.getsource(job_backfill._fetch_last_run)


def patch_fetch_last_run() -> bool:
    """Let the job backfill's re-execution find the last run of a range; True when patched."""
    from dagster._core.execution import job_backfill

    if not needs_patch():
        return False
    original = job_backfill._fetch_last_run

    def fetch_last_run(instance, remote_partition_set, partition_key_or_range):
        if isinstance(partition_key_or_range, job_backfill.PartitionKeyRange):
            runs = instance.get_runs(
                job_backfill.RunsFilter(
                    job_name=remote_partition_set.job_name,
                    tags={
                        job_backfill.PARTITION_SET_TAG: remote_partition_set.name,
                        job_backfill.ASSET_PARTITION_RANGE_START_TAG: partition_key_or_range.start,
                        job_backfill.ASSET_PARTITION_RANGE_END_TAG: partition_key_or_range.end,
                    },
                ),
                limit=1,
            )
            return runs[0] if runs else None
        return original(instance, remote_partition_set, partition_key_or_range)

    job_backfill._fetch_last_run = fetch_last_run
    return True


def main() -> None:
    patch_fetch_last_run()
    from dagster._daemon.cli import main as dagster_daemon

    sys.argv[0] = "dagster-daemon"
    sys.exit(dagster_daemon())


if __name__ == "__main__":
    main()
