"""The daily usage assets and the reconciliation sit in the code location's one lineage graph,
next to the hourly snapshots, on UTC days of their own; the schedule re-reads the last days."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.automation.schedules import reconciliation_request
from simbiosia_pipeline.definitions import defs
from simbiosia_pipeline.partitions import DAILY, HOURLY
from simbiosia_pipeline.settings import Settings

KEY = dg.AssetKey.from_user_string


def ancestors(graph, key: str) -> set[str]:
    seen, todo = set(), [KEY(key)]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent.to_user_string() not in seen:
                seen.add(parent.to_user_string())
                todo.append(parent)
    return seen


def test_the_daily_assets_and_the_reconciliation_share_the_snapshots_lineage_graph():
    graph = defs.resolve_asset_graph()
    assert {
        "raw/twilio_usage_records",
        "raw/elevenlabs_usage",
        "public/billing_reconciliation",
        "staging/stg_twilio_calls",
        "staging/stg_elevenlabs_conversations",
        "raw/twilio_calls",
        "raw/elevenlabs_conversations",
        "workspace_directory",
    } <= ancestors(graph, "reconciliation/billing_days")
    # the snapshots hang off the same staging models
    assert "staging/stg_twilio_calls" in ancestors(graph, "public/twilio_snapshots")
    for key in ("raw/twilio_usage_records", "raw/elevenlabs_usage", "reconciliation/billing_days"):
        assert graph.get(KEY(key)).partitions_def == DAILY
    assert graph.get(KEY("raw/twilio_calls")).partitions_def == HOURLY
    assert DAILY.timezone == "UTC"
    checks = {key.name for key in graph.get(KEY("reconciliation/billing_days")).check_keys}
    assert checks == {"matches_provider_bills", "provider_days_final_in_time"}
    assert defs.resolve_job_def("daily_reconciliation_job")
    assert defs.resolve_schedule_def("daily_reconciliation_schedule")


def test_the_daily_schedule_re_reads_every_day_that_may_not_be_final_yet():
    request = reconciliation_request(
        datetime(2026, 3, 10, 5, tzinfo=UTC), Settings.from_env({}).reconcile_final_after
    )
    # final 96 h after a day ends: the four days before yesterday may still change, and one more
    assert request.tags["dagster/asset_partition_range_start"] == "2026-03-05"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-09"
    assert request.run_key == "reconcile-2026-03-10"
    shorter = Settings.from_env({"SIMBIOSIA_RECONCILE_FINAL_AFTER": "20h"}).reconcile_final_after
    request = reconciliation_request(datetime(2026, 3, 10, 5, tzinfo=UTC), shorter)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-03-08"
