""" "Sync now" against a real Dagster: webserver and daemon started here on the warehouse of the
backoffice tests, the sandbox serving the APIs. The button launches exactly one run of the
hourly job for the latest closed hour, the page follows it to its end, and the data-health page
lists it with the link to its page in the Dagster UI."""

from __future__ import annotations

import time

import pytest

from simbiosia_pipeline.automation.jobs import HOURLY_PIPELINE_JOB
from simbiosia_pipeline.backoffice.dagster_api import RECENT_RUNS
from simbiosia_pipeline.sandbox import Sandbox, start_sandbox_server
from simbiosia_pipeline_tests.backoffice.conftest import SANDBOX
from simbiosia_pipeline_tests.backoffice.test_pages import on_page, open_app
from simbiosia_testing.dagster_services import dagster_services
from simbiosia_testing.local_servers import create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
LATEST_CLOSED_HOUR = "2025-11-01-15:00"  # the sandbox's clock stands at 16:10 UTC


def test_sync_now_launches_one_run_and_follows_it(backoffice_env, monkeypatch, tmp_path):
    dagster_storage = create_database("simbiosia_dagster")
    try:
        with start_sandbox_server(Sandbox(SANDBOX)) as server:
            env = {
                "SIMBIOSIA_DATABASE_URL": backoffice_env.owner_url,
                "DAGSTER_PG_URL": dagster_storage.replace(
                    "postgresql://", "postgresql+psycopg2://"
                ),
                "TWILIO_API_BASE_URL": server.url,
                "ELEVENLABS_API_BASE_URL": server.url,
                "SIMBIOSIA_AUTOMATION": "off",
            }
            with dagster_services(env, tmp_path / "dagster_home") as graphql:
                monkeypatch.setenv("SIMBIOSIA_DAGSTER_URL", graphql.base_url)
                app = on_page(open_app(), "sync")
                assert not app.warning
                assert LATEST_CLOSED_HOUR in app.markdown[0].value
                app.button(key="sync_button").click().run()
                status = _follow(app)
                assert f"for {LATEST_CLOSED_HOUR}: **SUCCESS**" in status

                runs = graphql.query(RECENT_RUNS, limit=10)["runsOrError"]["results"]
                assert len(runs) == 1  # one click, one run
                (run,) = runs
                tags = {tag["key"]: tag["value"] for tag in run["tags"]}
                assert run["jobName"] == HOURLY_PIPELINE_JOB
                assert tags["dagster/partition"] == LATEST_CLOSED_HOUR
                assert tags["simbiosia/launched_by"] == "backoffice"
                assert f"{graphql.base_url}/runs/{run['runId']}" in status

                on_page(app, "health")
                listed = app.dataframe[-1].value
                assert list(listed["Run"]) == [f"{graphql.base_url}/runs/{run['runId']}"]
                assert list(listed["Status"]) == ["SUCCESS"]
    finally:
        drop_database(dagster_storage)


def _follow(app, timeout: float = 600) -> str:
    """Rerun the page until the run's status line says it ended; that line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        lines = [m.value for m in app.markdown if m.value.startswith("Run [")]
        if lines and any(end in lines[0] for end in ("SUCCESS", "FAILURE", "CANCELED")):
            return lines[0]
        time.sleep(2)
    raise TimeoutError("the run did not end")
