"""The one assertion every reliability scenario ends with, and the runs the scenarios make.

``verify_against_truth`` compares a window of the warehouse with the sandbox's ground truth:

* raw: the same ids (none lost, none extra, none twice), every payload equal to what the API
  serves, and the Decimal sums of Twilio prices and ElevenLabs credits equal to the cent
  (``simbiosia_testing.truth``, the comparison the benchmarks make too);
* snapshots: every ``twilio_snapshots`` / ``elevenlabs_snapshots`` row of the window equal to
  the independent reference of ``expected.py`` computed from the same truth, and no other row
  (``support.snapshot_mismatches``).

It records the scenario's summary line (``ledger.py``) before it asserts, so a failing scenario
shows in the table with its mismatch count.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

import dagster as dg

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.assets.partition_metadata import WINDOW_FIGURES
from simbiosia_pipeline.assets.raw import BULK_TAG
from simbiosia_pipeline.dbt.assets import hourly_cost_models
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import WORKSPACES_FILE
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import Directory, load_directory
from simbiosia_pipeline_tests.reliability import ledger
from simbiosia_pipeline_tests.support import (
    DBT,
    RAW_ASSETS,
    range_tags,
    sandbox_apis,
    snapshot_mismatches,
)
from simbiosia_testing.truth import WindowTruth, raw_mismatches

SANDBOX_DIRECTORY = load_directory(WORKSPACES_FILE)
SHOWN_MISMATCHES = 20

# --- runs -----------------------------------------------------------------------------------


def pipeline_resources(sandbox_url: str | None = None, **api_overrides) -> dict:
    resources = {
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
        "dbt": DBT,
    }
    if sandbox_url:
        resources["apis"] = sandbox_apis(sandbox_url, **api_overrides)
    return resources


def materialize_window(
    sandbox_url: str,
    start: datetime,
    end: datetime,
    *,
    instance: dg.DagsterInstance,
    raw: bool = True,
    snapshots: bool = True,
    raise_on_error: bool = True,
    **api_overrides,
) -> dg.ExecuteInProcessResult:
    """One ranged run over ``[start, end)``, as a backfill makes it: the raw assets and/or the
    hourly dbt models (attribution + snapshots), in Dagster's own execution."""
    selected = [*(RAW_ASSETS if raw else ()), *((hourly_cost_models,) if snapshots else ())]
    return dg.materialize(
        selected,
        resources=pipeline_resources(sandbox_url if raw else None, **api_overrides),
        tags={**range_tags(start, end), BULK_TAG: "true"},
        instance=instance,
        raise_on_error=raise_on_error,
    )


def build_snapshots(
    start: datetime, end: datetime, *, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Load the directory, then rebuild attribution and snapshots of ``[start, end)`` from the
    raw tables as they are (no API call): what every scenario checks at its end."""
    load_directory_asset(instance)
    return materialize_window("", start, end, instance=instance, raw=False)


def load_directory_asset(instance: dg.DagsterInstance, raise_on_error: bool = True):
    """Materialize ``workspace_directory`` (the file of SIMBIOSIA_WORKSPACES_FILE)."""
    return dg.materialize(
        [workspace_directory],
        resources=pipeline_resources(),
        instance=instance,
        raise_on_error=raise_on_error,
    )


# --- what the runs say about themselves ------------------------------------------------------


def retries_seen(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> dict[str, int]:
    """HTTP retries and 429s the raw assets counted, and Dagster step retries, over runs."""
    counts: Counter[str] = Counter()
    for run_id in run_ids:
        seen_assets = set()
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
                counts["step"] += 1
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                # a ranged run reports the same metadata once per hour: count each asset once
                if materialization.asset_key in seen_assets:
                    continue
                seen_assets.add(materialization.asset_key)
                metadata = {name: value.value for name, value in materialization.metadata.items()}
                figures = metadata.get(WINDOW_FIGURES, metadata)  # a range's, or one hour's
                for name, kind in (("retries", "http"), ("throttled_429", "429")):
                    if name in figures:
                        counts[kind] += int(figures[name])
    return dict(counts)


def run_ids(results: Sequence[dg.ExecuteInProcessResult]) -> list[str]:
    return [result.run_id for result in results]


# --- the comparison -------------------------------------------------------------------------


def verify_against_truth(
    database_url: str,
    sandbox,
    start: datetime,
    end: datetime,
    *,
    scenario: str,
    faults: dict[str, int] | str,
    retries: dict[str, int] | str,
    directory: Directory = SANDBOX_DIRECTORY,
    snapshots: bool = True,
    started: float | None = None,
) -> ledger.ScenarioResult:
    """Raw tables and snapshots of ``[start, end)`` equal the sandbox's ground truth, exactly.

    Records the scenario's summary line, then fails listing the first differences if any.
    ``started`` (``time.monotonic()``) times a scenario spread over several tests; by default
    the time is the current test's.
    """
    calls = sandbox.twilio_calls(start, end)
    conversations = sandbox.conversations(start, end)
    with connect(database_url) as conn:
        problems = raw_mismatches(conn, WindowTruth.served(start, end, calls, conversations))
        rows = 0
        if snapshots:
            rows, snapshot_problems = snapshot_mismatches(
                conn, calls, conversations, start, end, directory
            )
            problems += snapshot_problems
    result = ledger.ScenarioResult(
        name=scenario,
        faults=faults if isinstance(faults, str) else ledger.describe_counts(faults),
        retries=retries if isinstance(retries, str) else ledger.describe_counts(retries),
        records_checked=len(calls) + len(conversations) + rows,
        mismatches=len(problems),
        seconds=time.monotonic() - started
        if started is not None
        else ledger.seconds_since_start(ledger.CURRENT.get("test")),
    )
    ledger.RESULTS.append(result)
    print(result.line())
    assert not problems, "\n".join(problems[:SHOWN_MISMATCHES])
    assert calls or conversations, "the window holds no records: the scenario proves nothing"
    return result


# --- what a failed run says ------------------------------------------------------------------


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Everything a failed run says about why: step errors with their causes."""
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            texts.append(data.error.to_string() if data.error else "")
            if data.user_failure_data and data.user_failure_data.description:
                texts.append(data.user_failure_data.description)
    return "\n".join(texts)


def step_retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(
        event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for event in result.all_events
    )
