"""Helpers shared by the end-to-end tests: run the assets, compare with the sandbox's truth."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import dagster as dg
import httpx

from simbiosia_pipeline.assets.raw import BULK_TAG, elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox.resource import SandboxApis
from simbiosia_pipeline.sources.records import without_transcript
from simbiosia_pipeline.warehouse.resource import WarehouseResource

RAW_ASSETS = (twilio_calls, elevenlabs_conversations)

# One in-memory instance for the helpers' runs, alive for the whole session: materialize()'s own
# throwaway instance is only weakly referenced and can be collected while a run still uses it.
TEST_INSTANCE = dg.DagsterInstance.ephemeral()


def range_tags(start: datetime, end: datetime) -> dict[str, str]:
    """Run tags for a ranged run over ``[start, end)`` (hour keys, end inclusive for Dagster)."""
    return {
        "dagster/asset_partition_range_start": start.strftime(PARTITION_KEY_FORMAT),
        "dagster/asset_partition_range_end": (end - timedelta(hours=1)).strftime(
            PARTITION_KEY_FORMAT
        ),
    }


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
    **api_overrides,
) -> dg.ExecuteInProcessResult:
    """A ranged run of the raw assets against the sandbox at ``url`` (a backfill by default),
    with ``settings`` (default: the environment's, read now)."""
    return dg.materialize(
        list(assets),
        instance=TEST_INSTANCE,
        resources={
            "apis": sandbox_apis(url, **api_overrides),
            "warehouse": WarehouseResource(),
            "settings": settings or PipelineSettings.from_env(),
        },
        tags={**range_tags(start, end), **({BULK_TAG: "true"} if bulk else {})},
        raise_on_error=raise_on_error,
    )


def sandbox_stats(url: str) -> dict:
    return httpx.get(f"{url}/_sandbox/stats", timeout=5).json()


def stored_calls(conn, start: datetime, end: datetime) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT sid, payload FROM raw.twilio_calls WHERE event_time >= %s AND event_time < %s",
        (start, end),
    ).fetchall()
    return dict(rows)


def stored_conversations(conn, start: datetime, end: datetime) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT conversation_id, payload FROM raw.elevenlabs_conversations"
        " WHERE start_time >= %s AND start_time < %s",
        (start, end),
    ).fetchall()
    return dict(rows)


def assert_raw_equals_truth(conn, sandbox, start: datetime, end: datetime) -> int:
    """Exactly the sandbox's records of the window — ids, whole payloads, Decimal sums."""
    truth_calls = {call["sid"]: call for call in sandbox.twilio_calls(start, end)}
    truth_conversations = {
        detail["conversation_id"]: without_transcript(detail)
        for detail in sandbox.conversations(start, end)
    }
    calls = stored_calls(conn, start, end)
    conversations = stored_conversations(conn, start, end)
    assert calls.keys() == truth_calls.keys()
    assert calls == truth_calls
    assert conversations.keys() == truth_conversations.keys()
    assert conversations == truth_conversations

    assert stored_sums(conn, start, end) == truth_sums(
        truth_calls.values(), truth_conversations.values()
    )
    return len(calls) + len(conversations)


def stored_sums(conn, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
    """Σ Twilio price (USD) and Σ ElevenLabs cost (credits) of the raw tables' window."""
    return conn.execute(
        """SELECT (SELECT coalesce(sum(price), 0) FROM raw.twilio_calls
                    WHERE event_time >= %(s)s AND event_time < %(e)s),
                  (SELECT coalesce(sum(cost), 0) FROM raw.elevenlabs_conversations
                    WHERE start_time >= %(s)s AND start_time < %(e)s)""",
        {"s": start, "e": end},
    ).fetchone()


def truth_sums(calls: Iterable[dict], conversations: Iterable[dict]) -> tuple[Decimal, Decimal]:
    """The same sums of the records the API serves, exactly (Decimal)."""
    prices = sum(
        (Decimal(str(c["price"])) for c in calls if c.get("price") is not None), Decimal(0)
    )
    credits = sum(
        (
            Decimal(str(d["metadata"]["cost"]))
            for d in conversations
            if d["metadata"].get("cost") is not None
        ),
        Decimal(0),
    )
    return prices, credits


def materialize_pipeline(
    url: str, start: datetime, end: datetime, steps=("directory", "hours", "views"), **api_overrides
) -> None:
    """The whole graph as `simbiosia run` does it: directory, hourly job over the range, views
    (``steps`` picks some of them: ``("hours",)`` is what the hourly and settlement runs do)."""
    from simbiosia_pipeline.assets.directory import workspace_directory
    from simbiosia_pipeline.assets.transform import cost_views, dbt_resource, hourly_cost_models

    assets = [*RAW_ASSETS, workspace_directory, hourly_cost_models, cost_views]
    resources = {
        "apis": sandbox_apis(url, **api_overrides),
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
        "dbt": dbt_resource(),
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


def assert_snapshots_equal_truth(
    conn, sandbox, start: datetime, end: datetime, workspaces_file=None
) -> int:
    """Every snapshot row of the window equals the reference computed from the sandbox's truth."""
    from dataclasses import asdict

    from simbiosia_pipeline.sandbox import WORKSPACES_FILE
    from simbiosia_pipeline.workspaces import load_directory
    from simbiosia_pipeline_tests import expected

    directory = load_directory(workspaces_file or WORKSPACES_FILE)
    checked = 0
    for table, reference in (
        (
            "twilio_snapshots",
            expected.twilio_snapshots(sandbox.twilio_calls(start, end), directory),
        ),
        (
            "elevenlabs_snapshots",
            expected.elevenlabs_snapshots(sandbox.conversations(start, end), directory),
        ),
    ):
        fields = list(asdict(next(iter(reference.values()))))
        cursor = conn.execute(
            f"SELECT {', '.join(fields)} FROM public.{table}"
            " WHERE snapshot_date >= %s AND snapshot_date < %s",
            (start, end),
        )
        stored = {
            (row[0], row[1]): {f: _exact(v) for f, v in zip(fields, row, strict=True)}
            for row in cursor
        }
        assert stored == {key: asdict(row) for key, row in reference.items()}, table
        checked += len(stored)
    return checked


def _exact(value):
    """JSON numbers as Decimal (psycopg loads jsonb numbers as float) for exact comparisons."""
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value
