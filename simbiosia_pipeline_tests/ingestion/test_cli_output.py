"""What `simbiosia run` and `simbiosia backfill` print: a few lines per run and step, then the
answer; Dagster's event stream in a log file whose path is printed (``--verbose`` streams it)."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.utc import HOUR

BIN = Path(sys.executable).parent
LINES_BEFORE_THE_TABLE = 30
LOG_LINE = re.compile(r"^Dagster's event log: (\S+) \(", re.MULTILINE)


def simbiosia(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(BIN / "simbiosia"), *arguments], env={**os.environ, **env}, cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def event_log(output: str) -> str:
    (path,) = LOG_LINE.findall(output)
    return Path(path).read_text()


def test_run_prints_progress_then_the_table_and_logs_the_events(warehouse_env, tmp_path):
    done = simbiosia("run", "--days", "1", env={"DAGSTER_HOME": str(tmp_path / "dagster")})
    assert done.returncode == 0, done.stderr[-3000:]
    before_the_table = done.stdout.split("Costs per workspace")[0].splitlines()
    assert len(before_the_table) <= LINES_BEFORE_THE_TABLE, done.stdout
    assert "all workspaces" in done.stdout.split("Costs per workspace")[1]
    assert "raw__twilio_calls: fetching raw.twilio_calls for" in done.stdout
    assert "hourly_cost_models: ok in" in done.stdout
    # Nothing a user cannot act on: no Dagster events, no dbt chatter, no warnings.
    for noise in (" - DEBUG - ", "STEP_START", "Warning", "dbt build", "1 of "):
        assert noise not in done.stdout + done.stderr, noise
    log = event_log(done.stdout)
    assert log.count("RUN_SUCCESS") == 4  # directory, hours, views, provider days
    for event in ("STEP_START", "STEP_SUCCESS", "ASSET_MATERIALIZATION", "Running dbt command"):
        assert event in log, event


def test_verbose_streams_the_event_log_too(warehouse_env, tmp_path):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = now - 2 * HOUR, now - HOUR
    sandbox = Sandbox(SandboxConfig(seed=11, scale=0.2, now=now))
    with start_sandbox_server(sandbox) as server:
        env = {
            "DAGSTER_HOME": str(tmp_path / "dagster"),
            "TWILIO_API_BASE_URL": server.url,
            "ELEVENLABS_API_BASE_URL": server.url,
        }
        arguments = [f"{start:%Y-%m-%dT%H:00}", f"{end:%Y-%m-%dT%H:00}"]
        done = simbiosia("backfill", *arguments, "--select", "group:raw", "--verbose", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1/1 runs succeeded" in done.stdout
    log = event_log(done.stdout)
    assert "STEP_SUCCESS" in log and "STEP_SUCCESS" in done.stdout + done.stderr
