"""Scenario 2: the run is killed (SIGKILL) in the middle of a ranged write.

A 36-hour window is loaded at 12:05; the sandbox clock then moves ten hours on, so that a
second load of the same window differs (prices rated, conversations finished). That second
load runs as ``simbiosia backfill`` in a process group of its own, with the API slowed down;
as soon as its ElevenLabs window transaction is open (the old rows deleted, new ones
streaming in), the whole process group is killed with SIGKILL. A reader loops over the window
the whole time. Then the backfill is run again, to completion.

Proves: the reader only ever saw, per table, the complete old window or the complete new one —
never a half-written window, not even while the killed transaction was open or being rolled
back; right after the kill the ElevenLabs window is exactly the old one (the Twilio step may
have committed its new window before the kill: each table's window is replaced whole); the
rerun completes and the window (raw, and the snapshots built afterwards) equals the ground
truth.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.processes import (
    kill_process_group,
    start_backfill,
    wait_until,
    writer_is_open,
)
from simbiosia_pipeline_tests.reliability.truth import (
    build_snapshots,
    materialize_window,
    verify_against_truth,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

T0 = datetime(2025, 10, 8, 12, 5, tzinfo=UTC)
T1 = T0 + timedelta(hours=10)
START, END = datetime(2025, 10, 7, 0, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)

# One statement per table, so each reading is one consistent snapshot of the window.
WINDOW_DIGESTS = """
SELECT (SELECT count(*) || ':' || md5(coalesce(string_agg(
            sid || coalesce(price::text, '-') || date_updated::text, ',' ORDER BY sid), ''))
          FROM raw.twilio_calls WHERE event_time >= %(start)s AND event_time < %(end)s),
       (SELECT count(*) || ':' || md5(coalesce(string_agg(
            conversation_id || status || coalesce(cost::text, '-'), ',' ORDER BY conversation_id
        ), '')) FROM raw.elevenlabs_conversations
         WHERE start_time >= %(start)s AND start_time < %(end)s)
"""


class WindowReader(threading.Thread):
    """Reads the window's digests in a loop until stopped; remembers each distinct reading and
    how many readings were taken while ``during`` was set."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.database_url = database_url
        self.seen: dict[tuple[str, str], int] = {}
        self.during = threading.Event()
        self.readings_during = 0
        self.stop = threading.Event()

    def read(self) -> tuple[str, str]:
        with connect(self.database_url) as conn:
            conn.autocommit = True
            return conn.execute(WINDOW_DIGESTS, {"start": START, "end": END}).fetchone()

    def run(self) -> None:
        with connect(self.database_url) as conn:
            conn.autocommit = True
            while not self.stop.is_set():
                reading = conn.execute(WINDOW_DIGESTS, {"start": START, "end": END}).fetchone()
                self.seen[reading] = self.seen.get(reading, 0) + 1
                self.readings_during += self.during.is_set()
                time.sleep(0.01)


def no_writer_left(database_url: str) -> bool:
    return not any(
        writer_is_open(database_url, table)
        for table in ("raw.twilio_calls", "raw.elevenlabs_conversations")
    )


def test_a_run_killed_mid_write_leaves_no_partial_window_and_the_rerun_is_exact(
    warehouse_env, tmp_path, instance
):
    # Seed 72 has conversations still in progress at T0 (the old and new windows must differ).
    sandbox = Sandbox(SandboxConfig(seed=72, scale=0.6, now=T0))
    reader = WindowReader(warehouse_env)
    env = {"SIMBIOSIA_DATABASE_URL": warehouse_env, "DAGSTER_HOME": str(tmp_path / "dagster")}
    with start_sandbox_server(sandbox) as server:
        env |= {"TWILIO_API_BASE_URL": server.url, "ELEVENLABS_API_BASE_URL": server.url}
        control = SandboxControl(server.url)
        materialize_window(server.url, START, END, instance=instance, snapshots=False)
        old = reader.read()
        sandbox.set_now(T1)
        reader.start()

        control.set_faults(latency_ms=80)
        killed = start_backfill(env, START, END, tmp_path / "killed.log")
        try:
            wait_until(
                lambda: writer_is_open(warehouse_env, "raw.elevenlabs_conversations"),
                "the backfill writes its ElevenLabs window",
            )
            reader.during.set()
            wait_until(lambda: reader.readings_during >= 3, "the reader reads the open write")
        finally:
            kill_process_group(killed)
        wait_until(lambda: no_writer_left(warehouse_env), "the server drops the killed session")
        reader.during.clear()
        after_kill = reader.read()

        control.set_faults()
        rerun = start_backfill(env, START, END, tmp_path / "rerun.log")
        rerun.wait(timeout=600)
        reader.stop.set()
        reader.join(timeout=30)
        new = reader.read()

    assert killed.returncode == -9
    assert rerun.returncode == 0, (tmp_path / "rerun.log").read_text(errors="replace")[-4000:]
    twilio, elevenlabs = 0, 1
    assert after_kill[elevenlabs] == old[elevenlabs]  # the killed write left nothing
    for table in (twilio, elevenlabs):
        assert new[table] != old[table]  # old and new windows differ: the reader can tell
        readings = {reading[table] for reading in reader.seen}
        assert readings <= {old[table], new[table]}, f"partial windows seen: {readings}"

    build_snapshots(START, END, instance=instance)
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S2 run SIGKILLed mid-write, then rerun",
        faults=f"SIGKILL during the ElevenLabs write; {sum(reader.seen.values())} concurrent "
        f"reads, {reader.readings_during} while the killed write was open, 0 partial",
        retries="1 rerun",
    )
