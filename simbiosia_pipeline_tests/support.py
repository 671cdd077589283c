"""Helpers shared by the end-to-end tests: run the assets, compare with the sandbox's truth
(the raw tables through ``simbiosia_testing.truth``, the snapshots with ``expected.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

import dagster as dg
import httpx
from psycopg.types.json import set_json_loads

from simbiosia_pipeline.assets.raw import BULK_TAG
from simbiosia_pipeline.dbt.resources import dbt_resource
from simbiosia_pipeline.definitions import elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.partitions import hour_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import WORKSPACES_FILE
from simbiosia_pipeline.sandbox.resource import SandboxApis
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import Directory, load_directory
from simbiosia_pipeline_tests import expected
from simbiosia_testing.truth import WindowTruth, exact_json, raw_mismatches, stored_records

RAW_ASSETS = (twilio_calls, elevenlabs_conversations)

# One in-memory instance for the helpers' runs, alive for the whole session: materialize()'s own
# throwaway instance is only weakly referenced and can be collected while a run still uses it.
TEST_INSTANCE = dg.DagsterInstance.ephemeral()
# One dbt resource for the session: each instance asks `dbt --version` once, which costs seconds.
DBT = dbt_resource()


def range_tags(start: datetime, end: datetime) -> dict[str, str]:
    """Run tags for a ranged run over the hours of ``[start, end)``."""
    return hour_range_tags(Window(start, end))


def sandbox_apis(url: str, **overrides) -> SandboxApis:
    return SandboxApis(
        twilio_base_url=url,
        elevenlabs_base_url=url,
        **{"elevenlabs_concurrency": 4, "request_timeout_seconds": 5.0, **overrides},
    )


def materialize_raw(
    url: str,
    start: datetime,
    end: datetime,
    assets: Sequence = RAW_ASSETS,
    raise_on_error: bool = True,
    bulk: bool = True,
    settings: PipelineSettings | None = None,
    tags: dict[str, str] | None = None,
    **api_overrides,
) -> dg.ExecuteInProcessResult:
    """A ranged run of the raw assets against the sandbox at ``url`` (a backfill by default),
    with ``settings`` (default: the environment's, read now) and more run ``tags``."""
    return dg.materialize(
        list(assets),
        instance=TEST_INSTANCE,
        resources={
            "apis": sandbox_apis(url, **api_overrides),
            "warehouse": WarehouseResource(),
            "settings": settings or PipelineSettings.from_env(),
        },
        tags={**range_tags(start, end), **({BULK_TAG: "true"} if bulk else {}), **(tags or {})},
        raise_on_error=raise_on_error,
    )


def sandbox_stats(url: str) -> dict:
    return httpx.get(f"{url}/_sandbox/stats", timeout=5).json()


def stored_calls(conn, start: datetime, end: datetime) -> dict[str, dict]:
    return dict(stored_records(conn, "calls", start, end))


def stored_conversations(conn, start: datetime, end: datetime) -> dict[str, dict]:
    return dict(stored_records(conn, "conversations", start, end))


def assert_raw_equals_truth(conn, sandbox, start: datetime, end: datetime) -> int:
    """Exactly the sandbox's records of the window — ids, whole payloads, Decimal sums
    (``simbiosia_testing.truth``); the number of records compared."""
    truth = WindowTruth.of(sandbox, start, end)
    assert raw_mismatches(conn, truth) == []
    return truth.records


def materialize_pipeline(
    url: str, start: datetime, end: datetime, steps=("directory", "hours", "views"), **api_overrides
) -> None:
    """The whole graph as `simbiosia run` does it: directory, hourly job over the range, views
    (``steps`` picks some of them: ``("hours",)`` is what the hourly and settlement runs do)."""
    from simbiosia_pipeline.assets.directory import workspace_directory
    from simbiosia_pipeline.dbt.assets import cost_views, hourly_cost_models

    assets = [*RAW_ASSETS, workspace_directory, hourly_cost_models, cost_views]
    resources = {
        "apis": sandbox_apis(url, **api_overrides),
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
        "dbt": DBT,
    }
    runs = {
        "directory": (dg.AssetSelection.assets(workspace_directory), {}),
        "hours": (
            dg.AssetSelection.assets(*RAW_ASSETS, hourly_cost_models),
            {**range_tags(start, end), BULK_TAG: "true"},
        ),
        "views": (dg.AssetSelection.assets(cost_views), {}),
    }
    for selection, tags in (runs[step] for step in steps):
        dg.materialize(
            assets, selection=selection, resources=resources, tags=tags, instance=TEST_INSTANCE
        )


def snapshot_mismatches(
    conn, calls: list[dict], conversations: list[dict], start, end, directory: Directory
) -> tuple[int, list[str]]:
    """Rows compared, and every difference between the snapshot tables' window and the
    independent reference of ``expected.py`` computed from the served records."""
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
        set_json_loads(exact_json, cursor)  # llm_usage holds money: compared exactly
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


def assert_snapshots_equal_truth(
    conn, sandbox, start: datetime, end: datetime, workspaces_file=None
) -> int:
    """Every snapshot row of the window equals the reference computed from the sandbox's truth,
    and no other row is there; the number of rows compared."""
    directory = load_directory(workspaces_file or WORKSPACES_FILE)
    compared, problems = snapshot_mismatches(
        conn, sandbox.twilio_calls(start, end), sandbox.conversations(start, end), start, end,
        directory,
    )  # fmt: skip
    assert problems == []
    return compared
