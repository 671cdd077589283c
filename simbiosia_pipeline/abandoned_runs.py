"""Runs whose process is gone, and pool slots nobody will give back.

A run executed by ``simbiosia run``/``backfill`` lives in the command's own process. Killed with
``kill -9`` (or by the OOM killer, or a lost machine) it stays STARTED in the instance for ever,
and the pool slots its steps claimed stay taken: the next step of that pool — a backfill's, or
an hourly run's, which share the pools — waits "blocked by limit for pool", logged at DEBUG
only. So every CLI run carries tags naming its process (host, pid, the process's start time, so
that a reused pid is not mistaken for it) and every command starts by looking for runs whose
process is gone: each is marked failed, with a message saying so, and its slots are freed. Slots
still held by runs that have finished are freed too.

Runs launched by the daemon are watched by Dagster's run monitoring (``dagster.yaml``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import psutil

HOST_TAG = "simbiosia/host"
PID_TAG = "simbiosia/pid"
PROCESS_STARTED_TAG = "simbiosia/process_started"
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that let a later command tell whether this process still runs."""
    process = psutil.Process(pid or os.getpid())
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(process.pid),
        PROCESS_STARTED_TAG: f"{process.create_time():.2f}",
    }


def process_is_gone(tags: dict[str, str]) -> bool:
    """Whether the process the tags name has ended (False when unknown or on another host)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(tags[PID_TAG]))
        return f"{process.create_time():.2f}" != tags.get(PROCESS_STARTED_TAG)
    except (psutil.NoSuchProcess, ValueError):
        return True


@dataclass(frozen=True)
class Released:
    run_id: str
    reason: str

    def describe(self) -> str:
        return f"run {self.run_id[:8]}: {self.reason}"


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[Released]:
    """Fail the unfinished runs whose process is gone and free their slots; free the slots of
    finished runs. What was done, one entry per run."""
    released = []
    for run in _unfinished_runs_of_this_host(instance):
        if process_is_gone(run.tags):
            message = (
                f"its process (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone — "
                "killed? — so it was marked failed and its pool slots were freed"
            )
            instance.report_run_failed(run, message)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(Released(run.run_id, message))
    holders = instance.event_log_storage.get_concurrency_run_ids()
    if holders:
        finished = instance.get_runs(dg.RunsFilter(run_ids=list(holders)))
        known = {run.run_id: run for run in finished}
        for run_id in sorted(holders):
            run = known.get(run_id)
            if run is None or run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run_id)
                status = run.status.value if run else "deleted"
                released.append(Released(run_id, f"{status}, its pool slots were freed"))
    return released


def _unfinished_runs_of_this_host(instance: dg.DagsterInstance) -> Iterator[dg.DagsterRun]:
    yield from instance.get_runs(
        dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: socket.gethostname()})
    )


def pool_waits(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """For each pool where a step of ``run_id`` waits for a slot: who holds the slots."""
    storage = instance.event_log_storage
    waits = []
    for pool in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(pool)
        waiting = [step.step_key for step in info.pending_steps if step.run_id == run_id]
        if not waiting or any(slot.run_id == run_id for slot in info.claimed_slots):
            continue
        holders = sorted(info.active_run_ids)
        runs = {run.run_id: run for run in instance.get_runs(dg.RunsFilter(run_ids=holders))}
        held = ", ".join(_describe_holder(runs.get(holder), holder) for holder in holders)
        waits.append(
            f"{', '.join(waiting)} waits for pool {pool} (limit {info.slot_count}): "
            f"{'held by ' + held if held else 'no slot free'}"
        )
    return waits


def _describe_holder(run: dg.DagsterRun | None, run_id: str) -> str:
    if run is None:
        return f"run {run_id[:8]} (deleted)"
    where = f", pid {run.tags[PID_TAG]}" if PID_TAG in run.tags else ""
    return f"run {run_id[:8]} ({run.status.value}{where})"
