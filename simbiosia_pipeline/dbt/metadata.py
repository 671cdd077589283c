"""What the cost assets tell the Dagster UI after a build, read back from the warehouse.

- ``twilio_snapshots`` and ``elevenlabs_snapshots``: for each hour of the run, that hour's own
  calls or conversations, minutes and cost, as numbers — one materialization per hour, so the
  asset's plots (Overview → Metadata → Plots, by Partitions) draw cost per hour, and a ranged
  run does not give every hour the window's totals; dbt's own numbers of a ranged build (its
  duration) are the window's, kept as one JSON entry.
- ``workspace_daily_costs``: the latest day's totals per workspace, as a table.

Amounts are exact (NUMERIC) in the warehouse; the UI's plots take floats, so the values here are
those amounts converted once, for display.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
import psycopg

from simbiosia_pipeline.assets.partition_metadata import WINDOW_FIGURES
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.utc import HOUR

# The hours of the run, each with its sums; hours without records report zeros.
_TWILIO_HOURS = """
select hour, coalesce(sum(total_calls), 0) as calls, coalesce(sum(real_minutes), 0) as minutes,
    coalesce(sum(total_cost), 0) as cost_usd, coalesce(sum(unpriced_calls), 0) as unpriced_calls
from unnest(%(hours)s::timestamptz[]) as hour
left join public.twilio_snapshots on snapshot_date = hour
group by hour
"""
_ELEVENLABS_HOURS = """
with usd as (
    select date_trunc('hour', start_time, 'UTC') as hour, sum(cost_usd) as cost_usd
    from staging.stg_elevenlabs_conversations
    where start_time >= %(start)s and start_time < %(end)s
    group by 1
)
select hour, coalesce(sum(total_conversations), 0) as conversations,
    coalesce(sum(total_duration), 0) / 60.0 as minutes,
    coalesce(sum(total_cost), 0) as cost_credits,
    coalesce(min(usd.cost_usd), 0) as cost_usd,
    coalesce(sum(unsettled_conversations), 0) as unsettled_conversations
from unnest(%(hours)s::timestamptz[]) as hour
left join public.elevenlabs_snapshots on snapshot_date = hour
left join usd using (hour)
group by hour
"""
_LATEST_DAY = """
select costs.day, costs.workspace_id, workspaces.name as workspace, costs.calls,
    costs.conversations, costs.billable_minutes, costs.twilio_usd, costs.elevenlabs_credits,
    costs.elevenlabs_usd, costs.total_usd
from public.workspace_daily_costs as costs
left join public.workspaces on workspaces.id = costs.workspace_id
where costs.day = (select max(day) from public.workspace_daily_costs)
order by costs.total_usd desc, costs.workspace_id
"""
_HOURLY_QUERIES = {
    dg.AssetKey(["public", "twilio_snapshots"]): _TWILIO_HOURS,
    dg.AssetKey(["public", "elevenlabs_snapshots"]): _ELEVENLABS_HOURS,
}
DAILY_COSTS = dg.AssetKey(["public", "workspace_daily_costs"])


def with_cost_metadata(
    events: Iterator[Any],
    context: dg.AssetExecutionContext,
    connect: Callable[[], psycopg.Connection],
) -> Iterator[Any]:
    """dbt's events, each cost asset's metadata attached just before its output is recorded
    (Dagster merges what ``add_asset_metadata`` holds into the materializations it makes)."""
    ranged = context.assets_def.partitions_def is not None and len(context.partition_keys) > 1
    for event in events:
        key = _asset_key_of(event, context)
        if ranged and key is not None:
            event = _window_numbers_once(event)
        if key in _HOURLY_QUERIES and context.assets_def.partitions_def is not None:
            with connect() as conn:
                per_hour = hourly_metadata(conn, key, context.partition_keys)
            for partition_key, metadata in per_hour.items():
                context.add_asset_metadata(metadata, asset_key=key, partition_key=partition_key)
        elif key == DAILY_COSTS:
            with connect() as conn:
                context.add_asset_metadata(daily_costs_metadata(conn), asset_key=key)
        yield event


def hourly_metadata(
    conn: psycopg.Connection, key: dg.AssetKey, partition_keys: Sequence[str]
) -> dict[str, dict[str, dg.MetadataValue]]:
    """Each hour's sums of a snapshot table, by partition key."""
    hours = [_hour(partition_key) for partition_key in partition_keys]
    cursor = conn.execute(
        _HOURLY_QUERIES[key], {"hours": hours, "start": min(hours), "end": max(hours) + HOUR}
    )
    columns = [column.name for column in cursor.description]
    return {
        row[0].astimezone(UTC).strftime(PARTITION_KEY_FORMAT): {
            name: _number(value) for name, value in zip(columns[1:], row[1:], strict=True)
        }
        for row in cursor.fetchall()
    }


def daily_costs_metadata(conn: psycopg.Connection) -> dict[str, dg.MetadataValue]:
    """The latest day of ``workspace_daily_costs``: its total, and a table per workspace."""
    cursor = conn.execute(_LATEST_DAY)
    columns = [column.name for column in cursor.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    if not rows:
        return {"day": dg.MetadataValue.text("no costs yet")}
    return {
        "day": dg.MetadataValue.text(rows[0]["day"].isoformat()),
        "total_usd": _number(sum((row["total_usd"] for row in rows), Decimal(0))),
        "workspaces": dg.MetadataValue.int(len(rows)),
        "costs": dg.MetadataValue.md(daily_costs_table(rows)),
    }


def daily_costs_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A markdown table of one day's costs per workspace; money rounded for reading only."""
    lines = [
        "| workspace | calls | conversations | billable minutes | Twilio USD "
        "| ElevenLabs credits | ElevenLabs USD | total USD |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        name = row["workspace"] or "(not in the directory)"
        lines.append(
            f"| {row['workspace_id']} {name} | {row['calls']} | {row['conversations']} "
            f"| {row['billable_minutes']} | {row['twilio_usd']:.2f} "
            f"| {row['elevenlabs_credits']:.0f} | {row['elevenlabs_usd']:.2f} "
            f"| {row['total_usd']:.2f} |"
        )
    return "\n".join(lines)


def _window_numbers_once(output: dg.Output) -> dg.Output:
    """A ranged build's own numbers of a model (dbt's ``Execution Duration``) are the window's:
    kept as one JSON entry (``WINDOW_FIGURES``), not as a number every hour would plot."""
    numbers = {
        label: value.value
        for label, value in output.metadata.items()
        if isinstance(value, dg.FloatMetadataValue | dg.IntMetadataValue)
    }
    if not numbers:
        return output
    others = {label: value for label, value in output.metadata.items() if label not in numbers}
    return output.with_metadata({**others, WINDOW_FIGURES: dg.MetadataValue.json(numbers)})


def _asset_key_of(event: Any, context: dg.AssetExecutionContext) -> dg.AssetKey | None:
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    return None


def _hour(partition_key: str) -> datetime:
    return datetime.strptime(partition_key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)


def _number(value: int | Decimal) -> dg.MetadataValue:
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    return dg.MetadataValue.float(float(value))
