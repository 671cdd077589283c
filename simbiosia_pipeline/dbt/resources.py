"""The dbt CLI resource, and the private directory each dbt invocation runs in.

Each invocation runs in a directory of its own under ``$SIMBIOSIA_HOME/dbt/runs``, removed when
it ends: its environment (``launcher``), dbt's target path (``run_results.json``, compiled SQL,
logs) — so nothing accumulates, however many runs the hourly schedule makes. What is worth
keeping between runs is dbt's partial-parse state: it is carried into the directory before dbt
starts and saved back after, so a run whose models did not change parses nothing again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from simbiosia_pipeline.dbt.environment import DEFAULTS, dbt_environment
from simbiosia_pipeline.dbt.launcher import environment_file
from simbiosia_pipeline.dbt.project import DBT_PROJECT, dbt_executable
from simbiosia_pipeline.pipeline_settings import PipelineSettings

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# A directory left behind by a process that was killed is removed by a later invocation once it
# is this old — far longer than any dbt build of this project takes.
ABANDONED_AFTER_SECONDS = 24 * 3600


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project (resource key ``dbt``)."""
    return DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())


def dbt_state_dir(settings: PipelineSettings) -> Path:
    """Where dbt's state between runs (partial parsing) and the runs' directories live."""
    return settings.home_path / "dbt"


@contextmanager
def dbt_invocation(
    url: str,
    window: dg.TimeWindow | None,
    settings: PipelineSettings,
    state_dir: Path | None = None,
) -> Iterator[Path]:
    """A private directory for one dbt invocation against the warehouse at ``url``; yields the
    target path to give ``DbtCliResource.cli``. Removed afterwards, whatever happened."""
    state_dir = state_dir or dbt_state_dir(settings)
    runs = state_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(runs)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs))  # private: mode 0700
    try:
        target = run_dir / "target"
        target.mkdir()
        _write_environment(target, dbt_environment(url, window, settings))
        saved, used = state_dir / PARTIAL_PARSE_FILE, target / PARTIAL_PARSE_FILE
        carried = _carry(saved, used)
        yield target
        if used.exists() and _mtime(used) != carried:  # dbt parsed something: keep its state
            _carry(used, saved)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _write_environment(target: Path, variables: Mapping[str, str]) -> None:
    """The invocation's environment, readable by its owner only (it holds the password)."""
    path = environment_file(target)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"set": dict(variables), "defaults": DEFAULTS}, file)


def _carry(source: Path, destination: Path) -> float | None:
    """Copy ``source`` over ``destination`` atomically (concurrent runs may save at once);
    return the copy's modification time, or None when there was nothing to copy."""
    if not source.exists():
        return None
    partial = destination.with_name(f".{destination.name}.{os.getpid()}")
    shutil.copy2(source, partial)
    partial.replace(destination)
    return _mtime(destination)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def _remove_abandoned(runs: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for leftover in runs.iterdir():
        if _mtime(leftover) < cutoff:
            shutil.rmtree(leftover, ignore_errors=True)
