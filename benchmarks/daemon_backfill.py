"""``dagster_backfill_overhead``: the 90-day backfill launched as from the UI — an asset backfill
created through the webserver's GraphQL API (``launchPartitionBackfill``, the UI's own mutation),
picked up by ``dagster-daemon``, queued, launched and run as one run (single-run backfill
policy) in the project's run worker and step processes — against item 1's in-process run.

The services run for the whole suite, as they do in production, on a temporary DAGSTER_HOME
with the project's ``dagster.yaml`` (PostgreSQL storage). The time is measured from the
mutation to the end of the backfill's run (when the data is in the warehouse); the moment the
daemon marks the backfill complete (its next 30-second iteration) is in the details.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from benchmarks.infra import Requests, dagster_home, median, pipeline_env, scratch_database
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError, check_raw_tables
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_testing.dagster_services import dagster_services


@dataclass
class DaemonRun:
    seconds: float  # mutation → end of the run
    backfill_seconds: float  # mutation → backfill marked complete by the daemon
    run_created_after: float  # mutation → run created (daemon pickup)
    run_started_after: float  # mutation → run started (dequeue + launch)
    requests: Requests


class Services:
    """dagster-webserver and dagster-daemon over the project's workspace.yaml, as the tests'
    end-to-end scenarios start them (``simbiosia_testing/dagster_services.py``)."""

    def __init__(self, bench):
        self.bench = bench

    @contextmanager
    def running(self):
        with (
            dagster_home() as (home, dagster_url),
            scratch_database("simbiosia_bench_daemon") as warehouse_url,
        ):
            self.warehouse_url = warehouse_url
            env = {
                **pipeline_env(
                    self.bench.workload, self.bench.sandbox.url, warehouse_url, home, dagster_url
                ),
                # No schedules or sensors: the backfill is the only thing the daemon runs.
                "SIMBIOSIA_AUTOMATION": "false",
            }
            with dagster_services(env, Path(env["DAGSTER_HOME"])) as graphql:
                self.graphql = graphql
                yield self

    def backfill_once(self) -> DaemonRun:
        bench, w = self.bench, self.bench.workload
        with psycopg.connect(self.warehouse_url, autocommit=True) as conn:
            conn.execute(  # a fresh warehouse, as for item 1 (the schema stays)
                "DO $$ BEGIN IF to_regclass('raw.twilio_calls') IS NOT NULL THEN "
                "TRUNCATE raw.twilio_calls, raw.elevenlabs_conversations; END IF; END $$"
            )
        partitions = [
            (w.start + timedelta(hours=h)).strftime(PARTITION_KEY_FORMAT)
            for h in range(w.days * 24)
        ]
        bench.sandbox.reset_stats()
        launched = time.time()
        backfill_id = self.graphql.launch_backfill(
            [["raw", "twilio_calls"], ["raw", "elevenlabs_conversations"]],
            partitions,
            title="benchmark: 90-day backfill",
        )
        backfill = self.graphql.wait_for_backfill(backfill_id, timeout=3600, poll_seconds=0.5)
        finished = time.time()
        requests = Requests.from_stats(bench.sandbox.stats())
        runs = backfill["runs"]
        if backfill["status"] not in ("COMPLETED", "COMPLETED_SUCCESS") or any(
            r["status"] != "SUCCESS" for r in runs
        ):
            raise BenchmarkError(f"backfill {backfill_id} ended {backfill['status']}: {runs}")
        if len(runs) != 1:
            raise BenchmarkError(f"expected one run (single-run backfill), got {len(runs)}")
        (run,) = runs
        with connect(self.warehouse_url) as conn:
            check_raw_tables(conn, bench.truth)
        return DaemonRun(
            seconds=run["endTime"] - launched,
            backfill_seconds=finished - launched,
            run_created_after=run["creationTime"] - launched,
            run_started_after=run["startTime"] - launched,
            requests=requests,
        )


def result(bench, ours, runs: list[DaemonRun]) -> Result:
    ratios = [run.seconds / mine.seconds for mine, run in zip(ours, runs, strict=True)]
    return Result.judged(
        "dagster_backfill_overhead",
        median(ratios),
        "x in-process",
        "<=",
        1.15,
        backfill_seconds=[round(r.seconds, 2) for r in runs],
        in_process_seconds=[round(o.seconds, 2) for o in ours],
        daemon_pickup_seconds=[round(r.run_created_after, 2) for r in runs],
        run_started_after_seconds=[round(r.run_started_after, 2) for r in runs],
        backfill_marked_complete_after_seconds=[round(r.backfill_seconds, 2) for r in runs],
        at=datetime.now().isoformat(timespec="seconds"),
    )
