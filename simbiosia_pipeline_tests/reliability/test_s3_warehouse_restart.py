"""Scenario 3: the warehouse restarts in the middle of a backfill.

The warehouse is an embedded PostgreSQL the test owns (``pgserver`` under a temporary
``SIMBIOSIA_HOME``). A two-day backfill of the raw assets runs as ``simbiosia backfill`` (one
Dagster run, in a process of its own); while its ElevenLabs window is being written the server
is stopped (``pg_ctl stop -m fast``: every session is cut). It is started again only once the
run has failed twice — the ElevenLabs step mid-write, then a step finding nobody at the
warehouse's address — and scheduled another attempt.

Proves: the interrupted write leaves nothing behind, the step retries find the server back and
the run succeeds on its own (a server that does not answer is a transient fault, not a
configuration error); the window — raw and, built afterwards, the snapshots — equals the
ground truth.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest
from pgserver._commands import pg_ctl

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.embedded import embedded_url, pgdata_dir, stop_embedded
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.processes import (
    dagster_events,
    start_backfill,
    wait_until,
    writer_is_open,
)
from simbiosia_pipeline_tests.reliability.truth import (
    build_snapshots,
    verify_against_truth,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 6, 12, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)


def failed_twice_mid_write_first(dagster_home: Path) -> bool:
    retries = dagster_events(dagster_home, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    steps = [record.step_key for record in retries]
    return len(steps) >= 2 and steps[0] == "raw__elevenlabs_conversations"


def server_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None  # pgserver runs PostgreSQL as non-root


def start_server(home: Path, url: str) -> None:
    """Start the stopped embedded server again, on the same socket (so the same URL)."""
    socket_dir = parse_qs(urlsplit(url).query)["host"][0]
    pgdata = pgdata_dir(home)
    pg_ctl(
        ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=server_user(),
    )


@pytest.fixture
def embedded_warehouse(tmp_path, monkeypatch):
    home = tmp_path / "home"
    url = embedded_url(home)
    monkeypatch.setenv("SIMBIOSIA_HOME", str(home))
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", url)
    yield home, url
    stop_embedded(home)


def test_a_warehouse_restart_during_a_backfill_is_retried_to_the_exact_state(
    embedded_warehouse, tmp_path, instance
):
    home, url = embedded_warehouse
    sandbox = Sandbox(SandboxConfig(seed=53, scale=0.5, now=NOW))
    dagster_home = tmp_path / "dagster_home"
    with start_sandbox_server(sandbox) as server:
        SandboxControl(server.url).set_faults(latency_ms=200)  # a write that lasts seconds
        run = start_backfill(
            {
                "SIMBIOSIA_DATABASE_URL": url,
                "DAGSTER_HOME": str(dagster_home),
                "TWILIO_API_BASE_URL": server.url,
                "ELEVENLABS_API_BASE_URL": server.url,
                "SIMBIOSIA_STEP_RETRIES": "4",
                "SIMBIOSIA_STEP_RETRY_DELAY": "2s",
            },
            START,
            END,
            tmp_path / "run.log",
        )
        try:
            wait_until(
                lambda: writer_is_open(url, "raw.elevenlabs_conversations"),
                "the ElevenLabs window is being written",
                timeout=400,
            )
            stop_embedded(home)
            wait_until(
                lambda: failed_twice_mid_write_first(dagster_home),
                "the ElevenLabs step fails mid-write, and a step fails again on the dead server",
                timeout=400,
            )
            start_server(home, url)
            run.wait(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
    log = (tmp_path / "run.log").read_text(errors="replace")
    assert run.returncode == 0, log[-4000:]
    retries = len(dagster_events(dagster_home, dg.DagsterEventType.STEP_UP_FOR_RETRY))

    build_snapshots(START, END, instance=instance)
    verify_against_truth(
        url,
        sandbox,
        START,
        END,
        scenario="S3 warehouse restart during a backfill",
        faults="PostgreSQL stopped (fast) mid-write; back after 2 failed attempts",
        retries={"step": retries},
    )
