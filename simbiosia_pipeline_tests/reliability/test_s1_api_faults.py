"""Scenario 1: a multi-day backfill through every API fault, and the tables are still exact.

Two ranged runs of the raw assets over 30 hours that touch three UTC days (the second a
re-run of the same window, as a retried backfill is), then the snapshots of the window:

1. 500s and 503s, connection resets mid-body, responses that hang past the client's timeout,
   200s with truncated JSON, Twilio pages that repeat records of the previous page (small
   pages, so there are many), ElevenLabs cursors that expire mid-listing, and a 429 storm
   without ``Retry-After`` (the ElevenLabs concurrency limit below the client's);
2. a 429 storm on both APIs with ``Retry-After`` (one request at a time allowed).

The faults are drawn deterministically from the requests, so the same run meets the same faults.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simbiosia_pipeline.sandbox import SandboxConfig, start_sandbox_server
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.truth import (
    build_snapshots,
    materialize_window,
    retries_seen,
    run_ids,
    verify_against_truth,
)

pytestmark = pytest.mark.slow  # a 30-hour backfill through every fault, then a storm

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 7, 20, tzinfo=UTC), datetime(2025, 10, 9, 2, tzinfo=UTC)

EVERY_FAULT_WITHOUT_RETRY_AFTER = {
    "error_rate": 0.08,
    "reset_rate": 0.04,
    "truncate_rate": 0.05,
    "hang_rate": 0.03,
    "hang_seconds": 2.5,  # past the client's 1 s timeout
    "duplicate_rate": 0.6,
    "cursor_expiry_rate": 0.35,
    "elevenlabs_max_concurrency": 2,  # the client runs 4: a 429 storm
    "retry_after": False,
    "latency_ms": 2,
}
STORM_WITH_RETRY_AFTER = {
    "twilio_max_concurrency": 1,
    "elevenlabs_max_concurrency": 1,
    "retry_after": True,
    "retry_after_s": 1,
    "latency_ms": 3,
}
# Faults the first run must have met for the scenario to prove anything.
REQUIRED = {"500", "503", "reset", "truncate", "hang", "duplicate", "cursor_expiry", "429"}


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=31, scale=0.4, now=NOW)


def test_backfill_through_every_api_fault_equals_the_truth(sandbox, warehouse_env, instance):
    runs = []
    with start_sandbox_server(sandbox) as server:
        control = SandboxControl(server.url)
        control.set_faults(**EVERY_FAULT_WITHOUT_RETRY_AFTER)
        runs.append(
            materialize_window(
                server.url,
                START,
                END,
                instance=instance,
                snapshots=False,
                request_timeout_seconds=1.0,
                twilio_page_size=50,
            )
        )
        first = control.collect("no Retry-After")
        met = {kind.split(" ")[0] for kind, count in first.items() if count}
        assert met >= REQUIRED, f"faults met: {dict(first)}"

        control.set_faults(**STORM_WITH_RETRY_AFTER)
        runs.append(materialize_window(server.url, START, END, instance=instance, snapshots=False))
        storm = control.collect("with Retry-After")
        assert storm["429 with Retry-After"] > 0, dict(storm)
        control.close()

    runs.append(build_snapshots(START, END, instance=instance))
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S1 API faults during a 30-hour backfill",
        faults=dict(control.injected),
        retries=retries_seen(instance, run_ids(runs)),
    )
