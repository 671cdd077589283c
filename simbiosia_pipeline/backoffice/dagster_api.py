"""The Dagster webserver's GraphQL API, as the backoffice uses it: is it there, launch the hourly
job for an hour, a run's status, the last runs — and the UI's page of a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from simbiosia_pipeline.automation.jobs import HOURLY_PIPELINE_JOB
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT, RANGE_END_TAG, RANGE_START_TAG

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

JOBS_QUERY = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message } } }"""

LAUNCH_RUN = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}"""

RUN_STATUS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime tags { key value } }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}"""

RECENT_RUNS = """
query Runs($limit: Int) {
  runsOrError(limit: $limit) {
    __typename
    ... on Runs { results { runId status jobName startTime endTime tags { key value } } }
    ... on PythonError { message }
  }
}"""


class DagsterUnavailableError(RuntimeError):
    """No Dagster webserver answered at the configured URL, or it refused the request."""


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    job_name: str
    partition: str | None
    started: datetime | None
    ended: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def latest_closed_hour(now: datetime) -> str:
    """The partition key of the last hour that has ended."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return hour.strftime(PARTITION_KEY_FORMAT)


class DagsterClient:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def run_url(self, run_id: str) -> str:
        return f"{self.base_url}/runs/{run_id}"

    def answers(self) -> bool:
        try:
            return self.http.get("/server_info", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _query(self, document: str, **variables) -> dict:
        try:
            response = self.http.post("/graphql", json={"query": document, "variables": variables})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DagsterUnavailableError(
                f"the Dagster webserver at {self.base_url} did not answer ({type(exc).__name__})"
            ) from None
        body = response.json()
        if body.get("errors"):
            raise DagsterUnavailableError(f"Dagster refused the request: {body['errors'][0]}")
        return body["data"]

    def _hourly_job_selector(self) -> dict:
        repositories = self._query(JOBS_QUERY)["repositoriesOrError"]
        for repository in repositories.get("nodes", []):
            if any(job["name"] == HOURLY_PIPELINE_JOB for job in repository["jobs"]):
                return {
                    "repositoryLocationName": repository["location"]["name"],
                    "repositoryName": repository["name"],
                    "jobName": HOURLY_PIPELINE_JOB,
                }
        raise DagsterUnavailableError(f"no code location of this Dagster has {HOURLY_PIPELINE_JOB}")

    def launch_hourly(self, partition: str) -> str:
        """Launch the hourly job for ``partition``; its run id."""
        result = self._query(
            LAUNCH_RUN,
            executionParams={
                "selector": self._hourly_job_selector(),
                "runConfigData": {},
                "executionMetadata": {
                    "tags": [
                        {"key": "dagster/partition", "value": partition},
                        {"key": "simbiosia/launched_by", "value": "backoffice"},
                    ]
                },
            },
        )["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterUnavailableError(
                f"Dagster did not launch the run: {result.get('message') or result['__typename']}"
            )
        return result["run"]["runId"]

    def run(self, run_id: str) -> Run:
        result = self._query(RUN_STATUS, runId=run_id)["runOrError"]
        if result["__typename"] != "Run":
            raise DagsterUnavailableError(result.get("message") or result["__typename"])
        return _run(result)

    def recent_runs(self, limit: int = 15) -> list[Run]:
        result = self._query(RECENT_RUNS, limit=limit)["runsOrError"]
        if result["__typename"] != "Runs":
            raise DagsterUnavailableError(result.get("message") or result["__typename"])
        return [_run(item) for item in result["results"]]


def _run(item: dict) -> Run:
    tags = {tag["key"]: tag["value"] for tag in item.get("tags") or []}
    partition = tags.get("dagster/partition") or (
        f"{tags[RANGE_START_TAG]}…{tags[RANGE_END_TAG]}" if RANGE_START_TAG in tags else None
    )
    return Run(
        run_id=item["runId"],
        status=item["status"],
        job_name=item["jobName"],
        partition=partition,
        started=_epoch(item.get("startTime")),
        ended=_epoch(item.get("endTime")),
    )


def _epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)
