"""`dagster-webserver` and `dagster-daemon` as subprocesses, and the GraphQL calls the UI makes.

Used by the end-to-end tests and by the benchmark of a backfill launched as from the UI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_testing.local_servers import free_port

BIN = Path(sys.executable).parent
SERVICES = ("webserver", "daemon")
BACKFILL_DONE = {"COMPLETED", "FAILED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "CANCELED"}

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}"""

REEXECUTE_BACKFILL = """
mutation Reexecute($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""

BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status numPartitions
      runs(limit: 50) { id status creationTime startTime endTime }
    }
    ... on PythonError { message }
  }
}"""


RUN_STEPS = """
query Steps($id: ID!) {
  runOrError(runId: $id) {
    ... on Run { stepStats { stepKey status } }
  }
}"""


def pipeline_env(warehouse: str, dagster_db: str, sandbox_url: str) -> dict[str, str]:
    """The environment of a webserver + daemon (and of commands beside them) running the
    pipeline on ``warehouse`` against the sandbox at ``sandbox_url``, with their instance in
    ``dagster_db``; automation off, so that only what a test launches runs."""
    return {
        "SIMBIOSIA_DATABASE_URL": warehouse,
        "DAGSTER_PG_URL": dagster_db.replace("postgresql://", "postgresql+psycopg2://"),
        "TWILIO_API_BASE_URL": sandbox_url,
        "ELEVENLABS_API_BASE_URL": sandbox_url,
        "SIMBIOSIA_AUTOMATION": "off",
    }


@contextmanager
def dagster_services(env: dict[str, str], home: Path):
    """Webserver on 127.0.0.1 and the daemon, sharing ``home`` (DAGSTER_HOME) and ``env``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
    port = free_port()
    workspace = ["-w", str(PROJECT_DIR / "workspace.yaml")]
    logs = {name: open(home / f"{name}.log", "w") for name in SERVICES}  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)],
            env=env, cwd=PROJECT_DIR, stdout=logs["webserver"], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(  # the project's daemon: dagster-daemon with its re-execution fix
            [sys.executable, "-m", "simbiosia_pipeline.daemon", "run", *workspace],
            env=env, cwd=PROJECT_DIR, stdout=logs["daemon"], stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    client = GraphQL(f"http://127.0.0.1:{port}")
    try:
        client.wait_until_ready(processes, home)
        yield client
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


class GraphQL:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def wait_until_ready(self, processes, home: Path, timeout: float = 300) -> None:
        """Until the webserver answers and the daemon's backfill loop reports healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                logs = "".join((home / f"{name}.log").read_text()[-2000:] for name in SERVICES)
                raise RuntimeError(f"a dagster service exited at start-up:\n{logs}")
            try:
                if self.http.get("/server_info").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise TimeoutError("dagster-webserver did not come up")
        while time.monotonic() < deadline:
            if self._backfill_daemon_healthy():
                return
            time.sleep(1)
        raise TimeoutError("dagster-daemon did not report healthy")

    def _backfill_daemon_healthy(self) -> bool:
        data = self.query(
            "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
        )
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return any(s["daemonType"] == "BACKFILL" and s["healthy"] for s in statuses)

    def query(self, document: str, **variables) -> dict:
        response = self.http.post("/graphql", json={"query": document, "variables": variables})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_backfill(
        self, asset_paths: list[list[str]], partitions: list[str], title: str = "e2e test backfill"
    ) -> str:
        """As the asset graph does: a selection of assets, and the partitions picked."""
        return self._launch(
            {
                "assetSelection": [{"path": path} for path in asset_paths],
                "partitionNames": partitions,
                "title": title,
            }
        )

    def launch_asset_range_backfill(self, asset_paths: list[list[str]], start: str, end: str):
        """As an asset's page does: each asset with its range of partitions."""
        return self._launch(
            {
                "partitionsByAssets": [
                    {
                        "assetKey": {"path": path},
                        "partitions": {"range": {"start": start, "end": end}},
                    }
                    for path in asset_paths
                ],
                "title": "e2e asset page backfill",
            }
        )

    def launch_job_backfill(
        self, job_name: str, asset_paths: list[list[str]], partitions: list[str]
    ) -> str:
        """As a job's page does: the job's partition set, its assets, the partitions picked."""
        return self._launch(
            {
                "assetSelection": [{"path": path} for path in asset_paths],
                "fromFailure": False,
                "selector": {
                    "partitionSetName": f"{job_name}_partition_set",
                    "repositorySelector": {
                        "repositoryLocationName": "simbiosia_pipeline",
                        "repositoryName": "__repository__",
                    },
                },
                "partitionNames": partitions,
                "title": "e2e job page backfill",
            }
        )

    def _launch(self, params: dict) -> str:
        result = self.query(LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {result}")
        return result["backfillId"]

    def run_steps(self, run_id: str) -> dict[str, str]:
        """Each step of a run that executed, by key: its status."""
        data = self.query(RUN_STEPS, id=run_id)["runOrError"]
        return {step["stepKey"]: step["status"] for step in data["stepStats"]}

    def reexecute_from_failure(self, backfill_id: str) -> str:
        result = self.query(
            REEXECUTE_BACKFILL, params={"parentRunId": backfill_id, "strategy": "FROM_FAILURE"}
        )["reexecutePartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not re-executed: {result}")
        return result["backfillId"]

    def wait_for_backfill(
        self, backfill_id: str, timeout: float = 1200, poll_seconds: float = 2
    ) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            backfill = self.query(BACKFILL_STATUS, id=backfill_id)["partitionBackfillOrError"]
            if backfill["status"] in BACKFILL_DONE:
                return backfill
            time.sleep(poll_seconds)
        raise TimeoutError(f"backfill {backfill_id} still running after {timeout}s")
