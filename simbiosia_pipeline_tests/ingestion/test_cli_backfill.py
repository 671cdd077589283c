"""The headless ways to backfill: `simbiosia backfill` and Dagster's own CLI, as subprocesses."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from simbiosia_pipeline.sandbox import SandboxConfig
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.support import assert_raw_equals_truth

pytestmark = pytest.mark.slow  # backfills as subprocesses, each importing the code location

BIN = Path(sys.executable).parent
NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 7, 22, tzinfo=UTC), datetime(2025, 10, 8, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=5, scale=0.5, now=NOW)


@pytest.fixture
def cli_env(sandbox_server, warehouse_env, tmp_path):
    return {
        **os.environ,
        "SIMBIOSIA_DATABASE_URL": warehouse_env,
        "SIMBIOSIA_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TWILIO_API_BASE_URL": sandbox_server.url,
        "ELEVENLABS_API_BASE_URL": sandbox_server.url,
    }


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def test_simbiosia_backfill_shows_progress_and_a_summary(cli_env, sandbox, warehouse_env):
    done = run(
        [str(BIN / "simbiosia"), "backfill", "2025-10-07T22:00", "2025-10-08T02:00",
         "--chunk-hours", "2", "--select", "group:raw", "--full-refetch"],
        cli_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[1/2]" in done.stdout and "[2/2]" in done.stdout
    assert "2/2 runs succeeded" in done.stdout
    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, START, END)
        stored = conn.execute("SELECT count(*) FROM raw.twilio_calls").fetchone()[0]
    # the hours' own row counts, summed over the range
    assert f"raw/twilio_calls: {stored} rows" in done.stdout
    # Each run names its target (the UI's Target column), as a run launched from the UI does.
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
    assert len(runs) == 2
    assert {frozenset(key.to_user_string() for key in r.asset_selection) for r in runs} == {
        frozenset({"raw/twilio_calls", "raw/elevenlabs_conversations"})
    }
    assert [r.tags.get("simbiosia/full_refetch") for r in runs] == ["true", "true"]


def test_dagster_cli_partition_range(cli_env, sandbox, warehouse_env):
    done = run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "simbiosia_pipeline.definitions",
         "--select", "raw/twilio_calls,raw/elevenlabs_conversations",
         "--partition-range", "2025-10-07-22:00...2025-10-08-01:00"],
        cli_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, START, END)


def test_bad_range_is_a_clear_error(cli_env):
    done = run([str(BIN / "simbiosia"), "backfill", "2025-10-07T22:30", "tomorrow"], cli_env)
    assert done.returncode == 2
    assert "not on the hour" in done.stderr
