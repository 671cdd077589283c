"""A CLI run that SIGTERM and SIGINT stop within seconds, and that says what it waits for.

Dagster's in-process execution defers signals to its own checkpoints: a step busy in an event
loop or waiting for a pool slot never reaches one, and a stuck ``simbiosia backfill`` ignored
both signals. So the run executes in a worker thread and the main thread keeps the signals:

* SIGTERM or SIGINT → the run is reported CANCELING then CANCELED (with the signal's name),
  its pool slots are freed, child processes (dbt) are terminated, and the process exits with
  128 + the signal's number. The warehouse rolls back the open window write as it does for
  ``kill -9``: each raw window is replaced whole or not at all (scenario S2).
* a step waiting for a pool slot is reported every ``report_every`` seconds, naming the runs
  that hold the pool — never a silent wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import dagster as dg
import psutil

from simbiosia_pipeline.abandoned_runs import PID_TAG, UNFINISHED, pool_waits

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_stoppably(
    execute: Callable[[], T], instance: dg.DagsterInstance, report_every: float = 15.0
) -> T:
    """``execute()`` (one Dagster run of this process), stopped cleanly by SIGTERM/SIGINT."""
    if threading.current_thread() is not threading.main_thread():
        return execute()  # only the main thread receives signals: nothing to keep then
    outcome: dict[str, object] = {}
    # The run's log capture takes over the process's stderr (through a child process that the
    # stop ends): messages go to a copy of it taken before.
    terminal = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)

    def say(line: str) -> None:
        terminal.write(line + "\n")

    def work() -> None:
        try:
            outcome["value"] = execute()
        except BaseException as exc:  # handed to the main thread, raised there
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="dagster-run", daemon=True)
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def on_signal(signum, frame) -> None:
        raise _Stop(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    try:
        worker.start()
        next_report = time.monotonic() + min(5.0, report_every)
        while worker.is_alive():
            worker.join(timeout=0.2)
            if worker.is_alive() and time.monotonic() >= next_report:
                next_report = time.monotonic() + report_every
                _report_waits(instance, say)
    except _Stop as stop:
        _stop(instance, stop.signum, say)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        terminal.close()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def current_run(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """The unfinished run this process executes, if it has been created yet."""
    runs = instance.get_runs(
        dg.RunsFilter(statuses=UNFINISHED, tags={PID_TAG: str(os.getpid())}), limit=1
    )
    return runs[0] if runs else None


def _report_waits(instance: dg.DagsterInstance, say: Callable[[str], None]) -> None:
    run = current_run(instance)
    for wait in pool_waits(instance, run.run_id) if run else []:
        say(f"waiting: {wait}")


def _stop(instance: dg.DagsterInstance, signum: int, say: Callable[[str], None]) -> None:
    """Cancel this process's run, free its slots, end its children, exit 128 + signum."""
    name = signal.Signals(signum).name
    # A second signal during the clean-up must not interrupt it half-way.
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    run = current_run(instance)
    if run is not None:
        message = f"{name} received by pid {os.getpid()}: run canceled, pool slots freed"
        instance.report_run_canceling(run, message=message)
        instance.report_run_canceled(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"{name}: run {run.run_id[:8]} canceled, its pool slots freed")
    else:
        say(f"{name}: stopped before a run started")
    _end_children()
    sys.stdout.flush()
    # The run's thread cannot be stopped from outside; the process ends with it. PostgreSQL
    # rolls back its open transaction, as for any client that goes away.
    os._exit(128 + signum)


def _end_children() -> None:
    """End the run's helper processes (dbt, log mirrors): they would outlive it otherwise. A dbt
    build killed half-way leaves nothing: PostgreSQL rolls back its transaction."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
