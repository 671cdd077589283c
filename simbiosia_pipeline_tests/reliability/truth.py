"""The one assertion every reliability scenario ends with, and the runs the scenarios make.

``verify_against_truth`` compares a window of the warehouse with the sandbox's ground truth:

* raw: the same ids (none lost, none extra, none twice), every payload equal to what the API
  serves, and the Decimal sums of Twilio prices and ElevenLabs credits equal to the cent;
* snapshots: every ``twilio_snapshots`` / ``elevenlabs_snapshots`` row of the window equal to
  the independent reference of ``expected.py`` computed from the same truth, and no other row.

It records the scenario's summary line (``ledger.py``) before it asserts, so a failing scenario
shows in the table with its mismatch count.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

import dagster as dg
from psycopg.types.json import set_json_loads

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.assets.raw import BULK_TAG
from simbiosia_pipeline.assets.transform import dbt_resource, hourly_cost_models
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import WORKSPACES_FILE
from simbiosia_pipeline.sources.records import without_transcript
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import Directory, load_directory
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.reliability import ledger
from simbiosia_pipeline_tests.support import (
    RAW_ASSETS,
    range_tags,
    sandbox_apis,
    stored_sums,
    truth_sums,
)

SANDBOX_DIRECTORY = load_directory(WORKSPACES_FILE)
# One dbt resource for the session: each instance asks `dbt --version` once, which costs seconds.
DBT = dbt_resource()
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
                metadata = materialization.metadata
                for name, kind in (("retries", "http"), ("throttled_429", "429")):
                    if name in metadata:
                        counts[kind] += int(metadata[name].value)
    return dict(counts)


def run_ids(results: Sequence[dg.ExecuteInProcessResult]) -> list[str]:
    return [result.run_id for result in results]


# --- the comparison -------------------------------------------------------------------------


def raw_mismatches(conn, calls: list[dict], conversations: list[dict], start, end) -> list[str]:
    """Differences between the raw tables' window and the records the API serves."""
    problems: list[str] = []
    truth_calls = {call["sid"]: call for call in calls}
    truth_conversations = {
        detail["conversation_id"]: without_transcript(detail) for detail in conversations
    }
    for table, key, column, truth in (
        ("twilio_calls", "sid", "event_time", truth_calls),
        ("elevenlabs_conversations", "conversation_id", "start_time", truth_conversations),
    ):
        rows = conn.execute(
            f"SELECT {key}, payload FROM raw.{table} WHERE {column} >= %s AND {column} < %s",
            (start, end),
        ).fetchall()
        stored_ids = Counter(row[0] for row in rows)
        stored = dict(rows)
        lost, extra = truth.keys() - stored.keys(), stored.keys() - truth.keys()
        problems += [f"raw.{table}: {i} stored {n} times" for i, n in stored_ids.items() if n > 1]
        problems += [f"raw.{table}: {i} lost" for i in sorted(lost)]
        problems += [f"raw.{table}: {i} not in the source" for i in sorted(extra)]
        problems += [
            f"raw.{table}: {i} differs from the source"
            for i in sorted(truth.keys() & stored.keys())
            if stored[i] != truth[i]
        ]
    price_sum, credit_sum = stored_sums(conn, start, end)
    truth_prices, truth_credits = truth_sums(calls, conversations)
    if price_sum != truth_prices:
        problems.append(f"Σ Twilio price {price_sum} != {truth_prices}")
    if credit_sum != truth_credits:
        problems.append(f"Σ ElevenLabs credits {credit_sum} != {truth_credits}")
    return problems


def snapshot_mismatches(
    conn, calls: list[dict], conversations: list[dict], start, end, directory: Directory
) -> tuple[int, list[str]]:
    """Rows compared and differences between the snapshot tables' window and the reference."""
    problems: list[str] = []
    compared = 0
    for table, reference in (
        ("twilio_snapshots", expected.twilio_snapshots(calls, directory)),
        ("elevenlabs_snapshots", expected.elevenlabs_snapshots(conversations, directory)),
    ):
        if not reference:
            fields = ["workspace_id", "snapshot_date"]
        else:
            fields = list(asdict(next(iter(reference.values()))))
        cursor = conn.cursor()
        # llm_usage holds money: JSON numbers as Decimal, compared exactly with the reference
        set_json_loads(lambda text: json.loads(text, parse_float=Decimal), cursor)
        rows = cursor.execute(
            f"SELECT {', '.join(fields)} FROM public.{table}"
            " WHERE snapshot_date >= %s AND snapshot_date < %s",
            (start, end),
        ).fetchall()
        stored = {(row[0], row[1]): dict(zip(fields, row, strict=True)) for row in rows}
        if len(stored) != len(rows):
            problems.append(f"{table}: {len(rows) - len(stored)} duplicated (workspace, hour) rows")
        wanted = {key: asdict(row) for key, row in reference.items()}
        compared += len(wanted.keys() | stored.keys())
        for key in sorted(wanted.keys() | stored.keys()):
            if key not in stored:
                problems.append(f"{table} {key}: missing")
            elif key not in wanted:
                problems.append(f"{table} {key}: not expected ({stored[key]})")
            elif stored[key] != wanted[key]:
                differing = {
                    name: (stored[key][name], wanted[key][name])
                    for name in wanted[key]
                    if stored[key][name] != wanted[key][name]
                }
                problems.append(f"{table} {key}: stored vs expected {differing}")
    return compared, problems


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
        problems = raw_mismatches(conn, calls, conversations, start, end)
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
