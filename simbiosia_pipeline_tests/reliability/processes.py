"""Pipeline processes a scenario can kill, and the warehouse sessions it watches from outside."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import dagster as dg

from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.warehouse.connection import connect

BIN = Path(sys.executable).parent


def start_backfill(
    env: dict[str, str],
    start: datetime,
    end: datetime,
    log: Path,
    select: str = "group:raw",
    full_refetch: bool = False,
) -> subprocess.Popen:
    """``simbiosia backfill`` of ``select`` (everything, when empty: directory, hourly job,
    views) over ``[start, end)`` as one Dagster run, in a process group of its own (so that it
    can be killed whole). Its Dagster instance is the one at ``env["DAGSTER_HOME"]``."""
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    hours = int((end - start).total_seconds() // 3600)
    selection = ["--select", select] if select else []
    # a window already stored final is otherwise only listed again, with nothing to write
    refetch = ["--full-refetch"] if full_refetch else []
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(BIN / "simbiosia"), "backfill", start.strftime("%Y-%m-%dT%H:%M"),
             end.strftime("%Y-%m-%dT%H:%M"), *selection, *refetch, "--chunk-hours", str(hours)],
            env={**os.environ, **env}, cwd=PROJECT_DIR, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def kill_process_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting until {what}")
        time.sleep(0.05)


def writer_is_open(database_url: str, table: str) -> bool:
    """Whether a window writer of ``table`` holds its locks (one per UTC day, keyed by the
    table's name and the day) in an open transaction that has written rows: a transaction gets
    its id at its first change, and the windows these tests write are empty before, so that
    change is the first COPY — whatever statement the writer runs when it is looked at."""
    with connect(database_url) as conn:
        return (
            conn.execute(
                """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted
                      AND a.datname = current_database() AND l.classid::int = hashtext(%s)
                      AND a.backend_xid IS NOT NULL""",
                (table,),
            ).fetchone()[0]
            > 0
        )


def dagster_events(dagster_home: Path, event_type: dg.DagsterEventType) -> list:
    """Events of one type over every run of the instance at ``dagster_home`` (sqlite)."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return [
            record
            for run in instance.get_runs()
            for record in instance.all_logs(run.run_id, of_type=event_type)
        ]
