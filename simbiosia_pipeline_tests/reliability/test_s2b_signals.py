"""Scenario 2b: SIGTERM, SIGINT and kill -9 leave no run STARTED and no pool slot taken.

On a PostgreSQL-backed instance with the project's pools (as in production), a
``simbiosia backfill`` is slowed down by the sandbox's latency and, once its ElevenLabs window
write is open (a pool slot claimed, old rows deleted, new ones streaming in):

* SIGTERM (to the command alone, as ``kill PID`` or a supervisor sends it): the command exits
  within seconds with 143, its run is CANCELED (saying which signal), its slots are free, no
  write is left open and the window holds what it held before; SIGINT (Ctrl-C) the same, 130;
* ``kill -9`` (the whole process group): the run stays STARTED holding its slot — until the next
  ``simbiosia backfill``, which says it found the run's process gone, marks the run failed,
  frees the slot, and completes the window exactly.

Also, without subprocesses: a step waiting for a pool is reported with the runs that hold it,
and ``abandoned_runs_sensor`` releases a killed run without waiting for another command.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import dagster as dg
import pytest

from simbiosia_pipeline.abandoned_runs import (
    PID_TAG,
    pool_waits,
    process_tags,
    release_abandoned_runs,
)
from simbiosia_pipeline.automation.abandoned import abandoned_runs_sensor
from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.processes import (
    kill_process_group,
    start_backfill,
    wait_until,
    writer_is_open,
)
from simbiosia_pipeline_tests.reliability.truth import build_snapshots, verify_against_truth

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 7, 0, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
API_POOLS = ("twilio_api", "elevenlabs_api")
# Generous: the command stops in a few seconds; a machine under load may take longer, but a
# command that ignores the signal (what this replaces) never stops at all.
STOP_DEADLINE_S = 60


def conversations_in_window(database_url: str) -> int:
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM raw.elevenlabs_conversations"
            " WHERE start_time >= %s AND start_time < %s",
            (START, END),
        ).fetchone()[0]


def no_writer_left(database_url: str) -> bool:
    return not any(
        writer_is_open(database_url, table)
        for table in ("raw.twilio_calls", "raw.elevenlabs_conversations")
    )


def the_run_of(instance: dg.DagsterInstance, pid: int) -> dg.DagsterRun:
    (run,) = instance.get_runs(dg.RunsFilter(tags={PID_TAG: str(pid)}))
    return run


def slot_holders(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.event_log_storage.get_concurrency_run_ids())


def stop_mid_write(env, warehouse_env, log, signum: int) -> tuple[int, float]:
    """A backfill signalled while its ElevenLabs write is open: (its pid, seconds to exit)."""
    backfill = start_backfill(env, START, END, log, full_refetch=True)
    try:
        wait_until(
            lambda: writer_is_open(warehouse_env, "raw.elevenlabs_conversations"),
            "the backfill writes its ElevenLabs window",
        )
        signalled = time.monotonic()
        os.kill(backfill.pid, signum)
        backfill.wait(timeout=STOP_DEADLINE_S)
        seconds = time.monotonic() - signalled
    finally:
        if backfill.poll() is None:
            kill_process_group(backfill)
    assert backfill.returncode == 128 + signum, log.read_text(errors="replace")[-3000:]
    return backfill.pid, seconds


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_signals_cancel_the_run_and_kill_9_is_detected_by_the_next_command(
    warehouse_env, production_instance, tmp_path, instance
):
    home, pg_url, dagster = production_instance
    sandbox = Sandbox(SandboxConfig(seed=73, scale=0.5, now=NOW))
    env = {"SIMBIOSIA_DATABASE_URL": warehouse_env, "DAGSTER_HOME": str(home),
           "DAGSTER_PG_URL": pg_url}  # fmt: skip
    stops = {}
    whole = len(sandbox.conversations(START, END))
    with start_sandbox_server(sandbox) as server:
        env |= {"TWILIO_API_BASE_URL": server.url, "ELEVENLABS_API_BASE_URL": server.url}
        control = SandboxControl(server.url)
        control.set_faults(latency_ms=150)
        for signum in (signal.SIGTERM, signal.SIGINT):
            name = signal.Signals(signum).name
            log = tmp_path / f"{name}.log"
            pid, stops[name] = stop_mid_write(env, warehouse_env, log, signum)
            run = the_run_of(dagster, pid)
            assert run.status == dg.DagsterRunStatus.CANCELED
            canceled = dagster.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELED)
            assert f"{name} received" in canceled[0].message
            assert f"{name}: run {run.run_id[:8]} canceled" in log.read_text()
            assert run.run_id not in slot_holders(dagster)
            wait_until(lambda: no_writer_left(warehouse_env), "the server drops the session")
            # Nothing half-written: the window is as it was, or (had its write committed in
            # the instant before the signal) whole.
            assert conversations_in_window(warehouse_env) in {0, whole}

        # Fetched again in full: one of the signals may have come after its write committed,
        # and a window stored final would otherwise only be listed, with nothing to write.
        killed = start_backfill(env, START, END, tmp_path / "killed.log", full_refetch=True)
        wait_until(
            lambda: writer_is_open(warehouse_env, "raw.elevenlabs_conversations"),
            "the backfill writes its ElevenLabs window",
        )
        kill_process_group(killed)
        abandoned = the_run_of(dagster, killed.pid)
        assert abandoned.status == dg.DagsterRunStatus.STARTED  # what Dagster alone leaves
        assert abandoned.run_id in slot_holders(dagster)

        control.set_faults()
        rerun = start_backfill(env, START, END, tmp_path / "rerun.log")
        assert rerun.wait(timeout=600) == 0, (tmp_path / "rerun.log").read_text()[-4000:]

    output = (tmp_path / "rerun.log").read_text()
    assert f"released run {abandoned.run_id[:8]}: its process (pid {killed.pid}" in output
    released = dagster.get_run_by_id(abandoned.run_id)
    assert released.status == dg.DagsterRunStatus.FAILURE
    failure = dagster.all_logs(abandoned.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "is gone" in failure[0].message
    assert slot_holders(dagster) == set()

    build_snapshots(START, END, instance=instance)
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S2b SIGTERM, SIGINT and kill -9 during a backfill",
        faults=f"SIGTERM and SIGINT mid-write: stopped in {stops['SIGTERM']:.1f}s and "
        f"{stops['SIGINT']:.1f}s, runs CANCELED, slots freed; kill -9: run released by the "
        "next command",
        retries="1 rerun",
    )


def api_pools(instance: dg.DagsterInstance):
    """The API pools at dagster.yaml's default limit, as a run's first claim sets them up."""
    for pool in API_POOLS:
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
    return instance.event_log_storage


def fake_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name="hourly_pipeline_job", status=dg.DagsterRunStatus.STARTED,
                        tags={"simbiosia/launched_by": "cli", **tags})  # fmt: skip
    return instance.add_run(run)


def test_a_dead_process_s_run_is_failed_and_its_slots_freed(production_instance):
    _, _, instance = production_instance
    storage = api_pools(instance)
    gone = fake_run(instance, {**process_tags(), PID_TAG: "999999999"})
    alive = fake_run(instance, process_tags())
    for run in (gone, alive):
        assert storage.claim_concurrency_slot("elevenlabs_api", run.run_id, "raw").is_claimed

    waiting = fake_run(instance, process_tags())
    assert not storage.claim_concurrency_slot("elevenlabs_api", waiting.run_id, "raw").is_claimed
    (wait,) = pool_waits(instance, waiting.run_id)
    assert wait.startswith("raw waits for pool elevenlabs_api (limit 2): held by run")
    assert f"run {gone.run_id[:8]} (STARTED, pid 999999999)" in wait

    released = release_abandoned_runs(instance)
    assert [entry.run_id for entry in released] == [gone.run_id]
    assert "pid 999999999" in released[0].describe() and "is gone" in released[0].describe()
    assert instance.get_run_by_id(gone.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
    assert gone.run_id not in storage.get_concurrency_run_ids()
    assert storage.claim_concurrency_slot("elevenlabs_api", waiting.run_id, "raw").is_claimed


def test_slots_left_by_a_finished_run_are_freed(production_instance):
    _, _, instance = production_instance
    run = fake_run(instance, {})
    assert api_pools(instance).claim_concurrency_slot("twilio_api", run.run_id, "raw").is_claimed
    instance.report_run_failed(run, "failed elsewhere")
    (released,) = release_abandoned_runs(instance)
    assert released.describe() == f"run {run.run_id[:8]}: FAILURE, its pool slots were freed"
    assert instance.event_log_storage.get_concurrency_run_ids() == set()


def test_the_sensor_releases_a_killed_run_without_waiting_for_a_command(
    production_instance, monkeypatch, caplog
):
    monkeypatch.delenv("SIMBIOSIA_ALERT_WEBHOOK_URL", raising=False)  # alerts only logged
    _, _, instance = production_instance
    storage = api_pools(instance)
    gone = fake_run(instance, {**process_tags(), PID_TAG: "999999998"})
    storage.claim_concurrency_slot("elevenlabs_api", gone.run_id, "raw")
    result = abandoned_runs_sensor()(
        dg.build_sensor_context(instance=instance, resources={"alerts": AlertChannels()})
    )
    assert result.skip_message == "1 run(s) released"
    assert instance.get_run_by_id(gone.run_id).status == dg.DagsterRunStatus.FAILURE
    assert storage.get_concurrency_run_ids() == set()
    (alert,) = [r.getMessage() for r in caplog.records if r.name == "simbiosia.alerts"]
    assert f"Run released: {gone.run_id[:8]}" in alert and "pid 999999998" in alert
