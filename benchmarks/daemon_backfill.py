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

import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from benchmarks.infra import (
    BIN,
    ROOT,
    Requests,
    create_database,
    dagster_home,
    drop_database,
    free_port,
    median,
    pipeline_env,
)
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError, check_raw_tables
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.warehouse.connection import connect

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""

STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status
      runs(limit: 10) { id status creationTime startTime endTime }
    }
    ... on PythonError { message }
  }
}"""

DONE = {"COMPLETED", "FAILED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "CANCELED"}


@dataclass
class DaemonRun:
    seconds: float  # mutation → end of the run
    backfill_seconds: float  # mutation → backfill marked complete by the daemon
    run_created_after: float  # mutation → run created (daemon pickup)
    run_started_after: float  # mutation → run started (dequeue + launch)
    requests: Requests


class Services:
    """dagster-webserver and dagster-daemon over the project's workspace.yaml."""

    def __init__(self, bench):
        self.bench = bench

    @contextmanager
    def running(self):
        with dagster_home() as (home, dagster_url):
            self.warehouse_url = create_database("simbiosia_bench_daemon")
            try:
                env = {
                    **os.environ,
                    **pipeline_env(
                        self.bench.workload,
                        self.bench.sandbox.url,
                        self.warehouse_url,
                        home,
                        dagster_url,
                    ),
                    # No schedules or sensors: the backfill is the only thing the daemon runs.
                    "SIMBIOSIA_AUTOMATION": "false",
                }
                port = free_port()
                workspace = ["-w", str(ROOT / "workspace.yaml")]
                logs = Path(home) / "logs"
                logs.mkdir()
                self.processes = [
                    subprocess.Popen(
                        [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1",
                         "-p", str(port)],
                        env=env, cwd=ROOT, stdout=(logs / "webserver.log").open("w"),
                        stderr=subprocess.STDOUT,
                    ),
                    subprocess.Popen(
                        [str(BIN / "dagster-daemon"), "run", *workspace],
                        env=env, cwd=ROOT, stdout=(logs / "daemon.log").open("w"),
                        stderr=subprocess.STDOUT,
                    ),
                ]  # fmt: skip
                self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
                try:
                    self._wait_until_ready(logs)
                    yield self
                finally:
                    for process in self.processes:
                        process.terminate()
                    for process in self.processes:
                        try:
                            process.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            process.kill()
                            process.wait()
            finally:
                drop_database(self.warehouse_url)

    def _wait_until_ready(self, logs: Path, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(
                    "a dagster service exited at start-up:\n"
                    + (logs / "daemon.log").read_text()[-2000:]
                    + (logs / "webserver.log").read_text()[-2000:]
                )
            try:
                if self.http.get("/server_info").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise TimeoutError("dagster-webserver did not come up")
        # The daemon is ready once its first heartbeat is recorded.
        while time.monotonic() < deadline:
            data = self.query(
                "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
            )
            statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
            if any(s["daemonType"] == "BACKFILL" and s["healthy"] for s in statuses):
                return
            time.sleep(1)
        raise TimeoutError("dagster-daemon did not report healthy")

    def query(self, document: str, **variables) -> dict:
        response = self.http.post("/graphql", json={"query": document, "variables": variables})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

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
        result = self.query(
            LAUNCH,
            params={
                "assetSelection": [
                    {"path": ["raw", "twilio_calls"]},
                    {"path": ["raw", "elevenlabs_conversations"]},
                ],
                "partitionNames": partitions,
                "title": "benchmark: 90-day backfill",
            },
        )["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise BenchmarkError(f"backfill not launched: {result}")
        backfill_id = result["backfillId"]
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            backfill = self.query(STATUS, id=backfill_id)["partitionBackfillOrError"]
            if backfill["status"] in DONE:
                break
            time.sleep(0.5)
        else:
            raise TimeoutError(f"backfill {backfill_id} did not finish")
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
