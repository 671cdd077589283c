"""What ``simbiosia run`` and ``simbiosia backfill`` show while their Dagster runs execute.

The terminal gets one line per run and a few per step — what is being fetched and for which
hours, how it ended, how long it took — then the summary. Dagster's event stream (every event,
DEBUG included), dbt's output and whatever a step prints go to a log file beside the Dagster
instance whose runs it describes (``$DAGSTER_HOME/logs/``); its path is printed before the first
run. ``--verbose`` streams the same log to the terminal as well.

The capture works on file descriptors 1 and 2, not on ``sys.stdout``: Dagster mirrors each step's
output through a helper process and dbt writes from its own, and both must land in the log too.
The progress lines are written to a copy of the terminal taken before the capture starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

PROGRESS_LOGGER = "simbiosia_progress"
# Ops of dagster-dbt carry tags under this prefix: their own messages (the dbt command line, the
# partial-parse file copied) are for the log; their outcome is shown.
_DBT_TAG_PREFIX = "dagster_dbt/"
# A step's own messages shown per step (what it fetches, how many rows); a step that reports one
# line per day or per hour of a long range would otherwise bury the answer. Warnings all shown.
MESSAGES_PER_STEP = 2


@dataclass
class RunConsole:
    """The terminal of one ``simbiosia`` command and the log file its runs' events go to."""

    log_path: Path
    verbose: bool = False
    terminal: TextIO = field(default_factory=lambda: os.fdopen(os.dup(1), "w", buffering=1))

    @classmethod
    def for_command(cls, command: str, verbose: bool) -> RunConsole:
        """A new log file under ``$DAGSTER_HOME/logs`` (set by ``prepare_dagster_home``)."""
        directory = Path(os.environ["DAGSTER_HOME"]) / "logs"
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return cls(directory / f"{command}-{stamp}-{os.getpid()}.log", verbose)

    def say(self, line: str) -> None:
        sys.stdout.flush()  # what the command printed before keeps its place
        self.terminal.write(line + "\n")
        self.terminal.flush()

    def announce(self) -> None:
        streamed = "streamed here too" if self.verbose else "--verbose streams it"
        self.say(f"Dagster's event log: {self.log_path} ({streamed})")

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        """For its duration, everything written to file descriptors 1 and 2 goes to the log
        (and, with ``verbose``, to the terminal as well)."""
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with self.log_path.open("ab", buffering=0) as log:
            tee = None
            if self.verbose:
                tee = subprocess.Popen(  # noqa: S603
                    ["tee", "-a", str(self.log_path)],  # noqa: S607
                    stdin=subprocess.PIPE,
                    stdout=saved[0],
                )
            target = tee.stdin.fileno() if tee else log.fileno()
            os.dup2(target, 1)
            os.dup2(target, 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                for descriptor in saved:
                    os.close(descriptor)
                if tee is not None:
                    tee.stdin.close()
                    tee.wait()

    def loggers(self, job: dg.JobDefinition) -> tuple[dg.JobDefinition, dict]:
        """``job`` with Dagster's console logger (into the log, every level) and the progress
        logger (onto the terminal), and the run config that turns both on."""
        job = job.with_logger_defs(
            {"console": dg.colored_console_logger, PROGRESS_LOGGER: self._progress_logger()}
        )
        config = {"console": {"config": {"log_level": "DEBUG"}}, PROGRESS_LOGGER: {}}
        return job, {"loggers": config}

    def _progress_logger(self) -> dg.LoggerDefinition:
        console = self

        @dg.logger(description="One line per step of a `simbiosia` command's run, on its terminal")
        def progress(init_context: dg.InitLoggerContext) -> logging.Logger:
            # Dagster logs its events (a step's start, success) at DEBUG: the handler picks.
            logger = logging.Logger(PROGRESS_LOGGER, level=logging.DEBUG)
            logger.addHandler(_StepProgress(console, _dbt_steps(init_context.job_def)))
            return logger

        return progress


def _dbt_steps(job: dg.JobDefinition | None) -> frozenset[str]:
    if job is None:
        return frozenset()
    return frozenset(
        node.name
        for node in job.nodes
        if any(tag.startswith(_DBT_TAG_PREFIX) for tag in node.definition.tags)
    )


class _StepProgress(logging.Handler):
    """Turns a run's events into the lines a person follows: the steps' own messages (what
    they fetch, how many rows), each step's end, retries and failed checks."""

    def __init__(self, console: RunConsole, quiet_steps: frozenset[str]):
        super().__init__(level=logging.DEBUG)
        self.console = console
        self.quiet_steps = quiet_steps
        self.started: dict[str, float] = {}
        self.shown: dict[str, int] = {}
        self.held_back: dict[str, int] = {}
        self.materialized: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        if not meta or not meta.get("step_key"):
            return
        step, event = meta["step_key"], meta.get("dagster_event")
        if event is None:
            if self._shows(step, record.levelno):
                self.console.say(f"  {step}: {meta['orig_message']}")
            return
        if event.is_step_success or event.is_step_failure:
            self._say_held_back(step)
        line = self._describe(step, event)
        if line:
            self.console.say(f"  {line}")

    def _shows(self, step: str, level: int) -> bool:
        if level >= logging.WARNING:
            return True
        if level < logging.INFO or step in self.quiet_steps:
            return False
        if self.shown.get(step, 0) >= MESSAGES_PER_STEP:
            self.held_back[step] = self.held_back.get(step, 0) + 1
            return False
        self.shown[step] = self.shown.get(step, 0) + 1
        return True

    def _say_held_back(self, step: str) -> None:
        if count := self.held_back.pop(step, 0):
            self.console.say(f"  {step}: {count} more line{'s' * (count > 1)} in the log")

    def _describe(self, step: str, event: dg.DagsterEvent) -> str | None:
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.started[step] = time.monotonic()
            return f"{step}: started" if step in self.quiet_steps else None
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.materialized.add(step)
            return None
        seconds = time.monotonic() - self.started.get(step, time.monotonic())
        if kind == dg.DagsterEventType.STEP_SUCCESS:
            # A step that only checks says something only when one fails.
            return f"{step}: ok in {seconds:.1f}s" if step in self.materialized else None
        if kind == dg.DagsterEventType.STEP_FAILURE:
            return f"{step}: FAILED after {seconds:.1f}s: {_first_line(event)}"
        if kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            return f"{step}: retrying ({_first_line(event)})"
        if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                return f"{step}: check {evaluation.check_name} failed ({evaluation.severity.value})"
        return None


def _first_line(event: dg.DagsterEvent) -> str:
    error = getattr(event.event_specific_data, "error", None)
    text = (error.message if error else event.message) or ""
    return text.strip().splitlines()[0] if text.strip() else "see the log"
