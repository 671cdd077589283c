"""Scenario 4: two runs over overlapping windows at the same time.

Run A backfills 36 hours, run B the 36 hours from A's middle on; B starts while A is writing
its ElevenLabs window (the API is slowed down so that write lasts seconds). Each is a whole
``simbiosia backfill`` — directory, raw assets, attribution and snapshots, views — in a process
of its own, both on one PostgreSQL-backed Dagster instance with the project's pools, as two
backfills launched side by side run.

Proves: both succeed; the 48 hours they cover equal the ground truth (no record lost, none
counted twice, no snapshot off by a cent); and no lock or open transaction is left behind.

Two narrower checks of the same machinery, with a window write held open by the test:

* a write to one raw table does not wait for an open write to the other one (it did: every raw
  step ran ``CREATE INDEX IF NOT EXISTS``, which queues behind any open write to the table);
* a write of one window does not wait for an open write of a *disjoint* window of the same
  table (it did: the window writer locked the whole table, so a backfill's ElevenLabs write —
  minutes to hours — held back the hourly run of the current hour; it now locks the window's
  UTC days).

(Two runs started in threads of one process cannot stand for two runs: Dagster reconfigures
Python logging when a run starts, which can deadlock against a run already logging.)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from simbiosia_pipeline.definitions import elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS
from simbiosia_pipeline.warehouse.writer import WindowWriter
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.processes import (
    start_backfill,
    wait_until,
    writer_is_open,
)
from simbiosia_pipeline_tests.reliability.truth import retries_seen, verify_against_truth
from simbiosia_pipeline_tests.support import materialize_raw

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
A = (datetime(2025, 10, 6, 12, tzinfo=UTC), datetime(2025, 10, 8, 0, tzinfo=UTC))
B = (datetime(2025, 10, 7, 0, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC))
DEADLINE_S = 1000
# A one-day raw run takes seconds; blocked, it would wait as long as the other write lasts.
UNBLOCKED_DEADLINE_S = 60


def leftovers(database_url: str) -> list[tuple]:
    """Other sessions still in the database: waiting locks, open transactions."""
    with connect(database_url) as conn:
        return conn.execute(
            """SELECT pid, state, wait_event_type, left(query, 80) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND (state <> 'idle' OR wait_event_type = 'Lock')"""
        ).fetchall()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_overlapping_runs_at_the_same_time_count_everything_once(
    warehouse_env, production_instance, tmp_path
):
    home, pg_url, instance = production_instance
    sandbox = Sandbox(SandboxConfig(seed=41, scale=0.5, now=NOW))
    env = {"SIMBIOSIA_DATABASE_URL": warehouse_env, "DAGSTER_HOME": str(home),
           "DAGSTER_PG_URL": pg_url}  # fmt: skip
    runs = []
    with start_sandbox_server(sandbox) as server:
        env |= {"TWILIO_API_BASE_URL": server.url, "ELEVENLABS_API_BASE_URL": server.url}
        control = SandboxControl(server.url)
        control.set_faults(latency_ms=60)
        try:
            runs.append(start_backfill(env, *A, tmp_path / "a.log", select=""))
            wait_until(
                lambda: writer_is_open(warehouse_env, "raw.elevenlabs_conversations"),
                "A writes its ElevenLabs window",
                timeout=DEADLINE_S,
            )
            runs.append(start_backfill(env, *B, tmp_path / "b.log", select=""))
            for run in runs:
                run.wait(timeout=DEADLINE_S)
        finally:
            for run in runs:
                if run.poll() is None:
                    run.kill()
        control.close()

    for name, run in zip("ab", runs, strict=True):
        assert run.returncode == 0, (tmp_path / f"{name}.log").read_text(errors="replace")[-4000:]
    assert leftovers(warehouse_env) == []
    verify_against_truth(
        warehouse_env,
        sandbox,
        A[0],
        B[1],
        scenario="S4 two overlapping backfills at once",
        faults="2 backfills of 36 h overlapping 24 h; B started during A's ElevenLabs write",
        retries=retries_seen(instance, [run.run_id for run in instance.get_runs()]),
    )


def finishes_while_a_write_is_open(
    database_url: str, held_window: tuple[datetime, datetime], run
) -> bool:
    """Whether ``run`` completes while the test holds an ElevenLabs window write open."""
    with connect(database_url) as conn:
        ensure_raw_schema(conn)
    done = threading.Event()

    def target() -> None:
        run()
        done.set()

    with connect(database_url) as conn, WindowWriter(conn, ELEVENLABS_CONVERSATIONS, *held_window):
        worker = threading.Thread(target=target)
        worker.start()
        finished = done.wait(UNBLOCKED_DEADLINE_S)
    worker.join(timeout=DEADLINE_S)  # the held write is committed now: a blocked run goes on
    return finished


@pytest.fixture(scope="module")
def small_sandbox():
    with start_sandbox_server(Sandbox(SandboxConfig(seed=43, scale=0.3, now=NOW))) as server:
        yield server


def test_a_write_to_one_table_does_not_wait_for_a_write_to_the_other(warehouse_env, small_sandbox):
    day = (datetime(2025, 10, 7, tzinfo=UTC), datetime(2025, 10, 8, tzinfo=UTC))
    assert finishes_while_a_write_is_open(
        warehouse_env, day, lambda: materialize_raw(small_sandbox.url, *day, assets=[twilio_calls])
    )


def test_a_write_does_not_wait_for_a_write_of_another_window_of_the_same_table(
    warehouse_env, small_sandbox
):
    backfill = (datetime(2025, 10, 6, tzinfo=UTC), datetime(2025, 10, 7, tzinfo=UTC))
    hour = (datetime(2025, 10, 8, 10, tzinfo=UTC), datetime(2025, 10, 8, 11, tzinfo=UTC))
    assert finishes_while_a_write_is_open(
        warehouse_env,
        backfill,
        lambda: materialize_raw(small_sandbox.url, *hour, assets=[elevenlabs_conversations]),
    )
