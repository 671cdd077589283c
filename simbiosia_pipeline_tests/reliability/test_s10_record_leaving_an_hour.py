"""Scenario 10: a call that leaves an hour restates the hour it left.

Twilio places a call that has not started yet by its creation time. The sandbox holds such a
call for real (seed 7): created at 15:59:59, still ``queued`` at 16:00:00, ringing from 16:00:01.

1. At 16:00:00 hour 15 is ingested and built: the queued call is stored in hour 15 (72 calls).
2. At 16:00:01 hour 16 is ingested and built: the call started, so it is stored in hour 16 and
   removed from hour 15 (71 calls) — by hour 16's run, which rebuilds hour 16 only. Hour 15's
   snapshots still count 72; no schedule or settlement run will come back to hour 15.
3. The raw write reports hour 15 among the hours whose records changed (``hours_changed``),
   and the lookback sensor asks for hour 15 to be restated (models only).

Then raw and snapshots of both hours equal the ground truth. Only Twilio is ingested: the
scenario is about calls (conversations cannot change hour: their start time is fixed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from simbiosia_pipeline.assets.raw import BULK_TAG, HOURS_CHANGED
from simbiosia_pipeline.automation.lookback import lookback_restatement_sensor
from simbiosia_pipeline.dbt.assets import hourly_cost_models
from simbiosia_pipeline.definitions import RESTATE_JOB, twilio_calls
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.reliability.truth import (
    SANDBOX_DIRECTORY,
    load_directory_asset,
    pipeline_resources,
    verify_against_truth,
)
from simbiosia_pipeline_tests.support import range_tags, snapshot_mismatches

pytestmark = pytest.mark.slow  # two hours ingested and built, then restated

SID = "CA7dbff2aa0cb6e44e4418830637b4a6ff"
H15 = datetime(2025, 8, 11, 15, tzinfo=UTC)
H16, H17 = H15 + timedelta(hours=1), H15 + timedelta(hours=2)
QUEUED_AT, STARTED_AT = H16, H16 + timedelta(seconds=1)


class CallsOnly:
    """The sandbox's truth of the Twilio calls; no conversation is ingested here."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def twilio_calls(self, start, end):
        return self.sandbox.twilio_calls(start, end)

    def conversations(self, start, end):
        return []


def ingest_and_build(url: str, start: datetime, end: datetime, instance) -> dg.AssetMaterialization:
    result = dg.materialize(
        [twilio_calls, hourly_cost_models],
        selection=dg.AssetSelection.assets(twilio_calls, hourly_cost_models),
        resources=pipeline_resources(url),
        tags={**range_tags(start, end), BULK_TAG: "true"},
        instance=instance,
    )
    [written, *_] = result.asset_materializations_for_node("raw__twilio_calls")
    return written


def stored_hour(url: str, sid: str) -> datetime | None:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT date_trunc('hour', event_time) FROM raw.twilio_calls WHERE sid = %s", (sid,)
        ).fetchone()
    return row[0] if row else None


def test_a_call_that_starts_in_the_next_hour_restates_the_hour_it_left(warehouse_env, instance):
    sandbox = Sandbox(SandboxConfig(seed=7, scale=1.0, now=QUEUED_AT))
    [queued] = [c for c in sandbox.twilio_calls(H15, H16) if c["sid"] == SID]
    assert (queued["status"], queued["start_time"]) == ("queued", None)
    load_directory_asset(instance)
    with start_sandbox_server(sandbox) as server:
        ingest_and_build(server.url, H15, H16, instance)
        assert stored_hour(warehouse_env, SID) == H15
        sandbox.set_now(STARTED_AT)
        written = ingest_and_build(server.url, H16, H17, instance)
    assert stored_hour(warehouse_env, SID) == H16
    changed = json.loads(json.dumps(written.metadata[HOURS_CHANGED].value))
    assert [H15.isoformat(), H17.isoformat()] in changed, changed

    truth = CallsOnly(sandbox)
    with connect(warehouse_env) as conn:
        _, stale = snapshot_mismatches(
            conn, truth.twilio_calls(H15, H16), [], H15, H16, SANDBOX_DIRECTORY
        )
    assert stale, "hour 15's snapshots already right: the scenario proves nothing"

    sensor = lookback_restatement_sensor(RESTATE_JOB)
    requests = sensor.evaluate_tick(dg.build_sensor_context(instance)).run_requests
    [request] = [r for r in requests if "twilio_calls" in r.run_key]
    assert request.tags["dagster/asset_partition_range_start"] == "2025-08-11-15:00"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-08-11-15:00"
    dg.materialize(
        [hourly_cost_models], resources=pipeline_resources(), tags=request.tags, instance=instance
    )

    verify_against_truth(
        warehouse_env,
        truth,
        H15,
        H17,
        scenario="S10 a queued call that starts in the next hour",
        faults=f"a call stored queued in hour 15, started in hour 16; hour 15 restated by the "
        f"lookback sensor ({len(stale)} stale snapshot rows before)",
        retries="none",
    )
