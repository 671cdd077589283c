"""The way users work: a partition backfill launched through the webserver's GraphQL API (the
call the UI makes), executed by the daemon, compared with the sandbox's ground truth."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from simbiosia_pipeline.sandbox import (
    WORKSPACES_FILE,
    Sandbox,
    SandboxConfig,
    start_sandbox_server,
)
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.workspaces import load_directory, write_directory
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    sandbox_stats,
)
from simbiosia_testing.dagster_services import GraphQL, dagster_services, pipeline_env
from simbiosia_testing.local_servers import create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
# Two windows more than 24 h apart (attribution looks back 24 h), so each scenario's truth is
# computed from its own records: a multi-day range, and a working day for the failure scenario.
MULTI_DAY = (datetime(2025, 10, 5, 18, tzinfo=UTC), datetime(2025, 10, 7, 2, tzinfo=UTC))
WORKING_DAY = (datetime(2025, 10, 8, 6, tzinfo=UTC), datetime(2025, 10, 8, 14, tzinfo=UTC))
RAW = [["raw", "twilio_calls"], ["raw", "elevenlabs_conversations"]]
# What a user selects in the UI: the raw assets and the hourly models below them.
PIPELINE = [
    *RAW,
    ["staging", "stg_twilio_calls"],
    ["staging", "stg_elevenlabs_conversations"],
    ["public", "twilio_snapshots"],
    ["public", "elevenlabs_snapshots"],
]


@dataclass
class Stack:
    graphql: GraphQL
    sandbox_url: str
    sandbox: Sandbox
    warehouse_url: str
    env: dict[str, str]  # of the webserver and daemon, their DAGSTER_HOME included


def hour_keys(start: datetime, end: datetime) -> list[str]:
    keys, at = [], start
    while at < end:
        keys.append(at.strftime("%Y-%m-%d-%H:%M"))
        at += timedelta(hours=1)
    return keys


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One webserver and one daemon for the module (they take a while to start)."""
    sandbox = Sandbox(SandboxConfig(seed=21, scale=0.5, now=NOW))
    warehouse, dagster_db = create_database(), create_database("simbiosia_dagster")
    with connect(warehouse) as conn:  # the directory is loaded beforehand; not what is tested
        write_directory(conn, load_directory(WORKSPACES_FILE))
    with start_sandbox_server(sandbox) as server:
        env = {
            **pipeline_env(warehouse, dagster_db, server.url),
            "SIMBIOSIA_STEP_RETRIES": "1",
            "SIMBIOSIA_STEP_RETRY_DELAY": "1s",
        }
        home = tmp_path_factory.mktemp("dagster_home")
        with dagster_services(env, home) as graphql:
            yield Stack(graphql, server.url, sandbox, warehouse, {**env, "DAGSTER_HOME": str(home)})
    drop_database(warehouse)
    drop_database(dagster_db)


def assert_window_equals_truth(stack: Stack, window: tuple[datetime, datetime]) -> None:
    with connect(stack.warehouse_url) as conn:
        assert_raw_equals_truth(conn, stack.sandbox, *window)
        assert_snapshots_equal_truth(conn, stack.sandbox, *window)


def test_backfill_from_the_ui_equals_the_ground_truth(stack):
    backfill = stack.graphql.wait_for_backfill(
        stack.graphql.launch_backfill(PIPELINE, hour_keys(*MULTI_DAY))
    )
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    # Single-run backfill policy: the whole range in one run per step of the graph.
    assert len(backfill["runs"]) <= 2
    assert_window_equals_truth(stack, MULTI_DAY)


JOB_PAGE = (datetime(2025, 10, 1, 6, tzinfo=UTC), datetime(2025, 10, 1, 10, tzinfo=UTC))
ASSET_PAGE = (datetime(2025, 10, 3, 6, tzinfo=UTC), datetime(2025, 10, 3, 10, tzinfo=UTC))
CLI = (datetime(2025, 9, 29, 6, tzinfo=UTC), datetime(2025, 9, 29, 10, tzinfo=UTC))


def backfill_from_the_cli(stack: Stack, window: tuple[datetime, datetime]) -> str:
    """``simbiosia backfill`` on the instance of the webserver and daemon (which it does not
    use): its run fails, and it names the Dagster backfill it recorded."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "simbiosia"), "backfill",
         *(moment.strftime("%Y-%m-%dT%H:%M") for moment in window)],
        env={**os.environ, **stack.env}, cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=1200,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return re.search(r"recorded as Dagster backfill (\w+)", done.stdout).group(1)


# Every way a backfill of the pipeline is launched: the call the UI sends (or the command),
# and its window.
LAUNCHES = {
    "asset graph selection": (
        lambda stack, window: stack.graphql.launch_backfill(PIPELINE, hour_keys(*window)),
        WORKING_DAY,
    ),
    # a job backfill of partition ranges (single-run policy): what made Dagster 1.13's daemon
    # fail on re-execution from failure (simbiosia_pipeline/daemon.py)
    "job page": (
        lambda stack, window: stack.graphql.launch_job_backfill(
            "hourly_pipeline_job", PIPELINE, hour_keys(*window)
        ),
        JOB_PAGE,
    ),
    "asset page": (
        lambda stack, window: stack.graphql.launch_asset_range_backfill(
            PIPELINE, hour_keys(*window)[0], hour_keys(*window)[-1]
        ),
        ASSET_PAGE,
    ),
    # headless, in the command's own process: the recorded backfill is what is re-executed
    "simbiosia backfill": (backfill_from_the_cli, CLI),
}


# Two classes, two stacks: pytest-xdist's loadscope gives each class a worker of its own, so the
# four daemon round trips (each waits for the daemon's 30 s backfill loop twice) run two at a time.
class TestResumeFromFailureFromTheJobAndTheCommand:
    @pytest.mark.parametrize("launched_from", ["job page", "simbiosia backfill"])
    def test_only_the_failed_steps_run_again(self, stack, launched_from):
        resume_from_failure(stack, launched_from)


class TestResumeFromFailureFromTheAssetViews:
    @pytest.mark.parametrize("launched_from", ["asset page", "asset graph selection"])
    def test_only_the_failed_steps_run_again(self, stack, launched_from):
        resume_from_failure(stack, launched_from)


def resume_from_failure(stack: Stack, launched_from: str) -> None:
    """A backfill launched this way fails on ElevenLabs; re-executed from failure, only the
    failed steps run again and the window equals the truth."""
    launch, window = LAUNCHES[launched_from]
    faults = f"{stack.sandbox_url}/_sandbox/faults"
    # Every conversation detail is refused (longer than the in-run retries last): the
    # ElevenLabs step fails, Twilio succeeds, the snapshots are not built from a partial load.
    httpx.put(faults, json={"missing_detail_rate": 1.0}, timeout=5).raise_for_status()
    failed = stack.graphql.wait_for_backfill(launch(stack, window))
    assert failed["status"] in ("COMPLETED_FAILED", "FAILED"), failed
    assert failed["runs"], failed

    httpx.put(faults, json={}, timeout=5).raise_for_status()
    twilio_requests_before = sandbox_stats(stack.sandbox_url)["requests"]["twilio"]
    resumed = stack.graphql.wait_for_backfill(stack.graphql.reexecute_from_failure(failed["id"]))
    assert resumed["status"] == "COMPLETED_SUCCESS", resumed
    assert resumed["runs"], resumed
    # Only the failed steps (and what they hold back) ran again: Twilio was not fetched again.
    executed = {}
    for run in resumed["runs"]:
        executed.update(stack.graphql.run_steps(run["id"]))
    assert "raw__twilio_calls" not in executed, executed
    assert executed.get("raw__elevenlabs_conversations") == "SUCCESS", executed
    assert sandbox_stats(stack.sandbox_url)["requests"]["twilio"] == twilio_requests_before
    assert_window_equals_truth(stack, window)
