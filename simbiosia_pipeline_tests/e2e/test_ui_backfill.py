"""The way users work: a partition backfill launched through the webserver's GraphQL API (the
call the UI makes), executed by the daemon, compared with the sandbox's ground truth."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.conftest import create_database, drop_database
from simbiosia_pipeline_tests.e2e.dagster_services import dagster_services
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    sandbox_stats,
)

pytestmark = pytest.mark.slow

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 6, 22, tzinfo=UTC), datetime(2025, 10, 8, 2, tzinfo=UTC)
RAW = [["raw", "twilio_calls"], ["raw", "elevenlabs_conversations"]]
# What a user selects in the UI: the directory, the raw assets and the hourly models below them.
PIPELINE = [
    ["workspace_directory"],
    *RAW,
    ["staging", "stg_twilio_calls"],
    ["staging", "stg_elevenlabs_conversations"],
    ["public", "twilio_snapshots"],
    ["public", "elevenlabs_snapshots"],
]


def hour_keys(start: datetime, end: datetime) -> list[str]:
    keys, at = [], start
    while at < end:
        keys.append(at.strftime("%Y-%m-%d-%H:%M"))
        at += timedelta(hours=1)
    return keys


@pytest.fixture
def sandbox():
    return Sandbox(SandboxConfig(seed=21, scale=0.5, now=NOW))


@pytest.fixture
def services(sandbox, warehouse_env, tmp_path):
    dagster_db = create_database("simbiosia_dagster")
    with start_sandbox_server(sandbox) as server:
        env = {
            "SIMBIOSIA_DATABASE_URL": warehouse_env,
            "DAGSTER_PG_URL": dagster_db.replace("postgresql://", "postgresql+psycopg2://"),
            "TWILIO_API_BASE_URL": server.url,
            "ELEVENLABS_API_BASE_URL": server.url,
            "SIMBIOSIA_AUTOMATION": "off",
            "SIMBIOSIA_STEP_RETRIES": "1",
            "SIMBIOSIA_STEP_RETRY_DELAY": "1s",
        }
        with dagster_services(env, tmp_path / "dagster_home") as graphql:
            yield graphql, server
    drop_database(dagster_db)


def test_backfill_from_the_ui_equals_the_ground_truth(services, sandbox, warehouse_env):
    graphql, _server = services
    backfill_id = graphql.launch_backfill(PIPELINE, hour_keys(START, END))
    backfill = graphql.wait_for_backfill(backfill_id)
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    # Single-run backfill policy: the directory, then the whole range in one run.
    assert len(backfill["runs"]) <= 2
    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, START, END)
        assert_snapshots_equal_truth(conn, sandbox, START, END)


def test_a_failed_backfill_resumes_from_failure_without_refetching(
    services, sandbox, warehouse_env
):
    graphql, server = services
    # Every conversation detail is refused for good: the ElevenLabs step fails after its
    # retries, Twilio succeeds.
    httpx.put(f"{server.url}/_sandbox/faults", json={"missing_detail_rate": 1.0}, timeout=5)
    failed = graphql.wait_for_backfill(graphql.launch_backfill(PIPELINE, hour_keys(START, END)))
    assert failed["status"] in ("COMPLETED_FAILED", "FAILED"), failed

    httpx.put(f"{server.url}/_sandbox/faults", json={}, timeout=5)
    twilio_requests_before = sandbox_stats(server.url)["requests"]["twilio"]
    resumed = graphql.wait_for_backfill(graphql.reexecute_from_failure(failed["id"]))
    assert resumed["status"] == "COMPLETED_SUCCESS", resumed
    assert sandbox_stats(server.url)["requests"]["twilio"] == twilio_requests_before
    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, START, END)
        assert_snapshots_equal_truth(conn, sandbox, START, END)
