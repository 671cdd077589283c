"""``ingest_vs_bound`` and ``peak_rss_mb``: the 90-day ingestion through Dagster, against the
physical bound set by the APIs' latency and concurrency limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from benchmarks.infra import (
    Requests,
    dagster_home,
    median,
    pipeline_env,
    run_child,
    scratch_database,
)
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError, check_raw_tables
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.warehouse.connection import connect


@dataclass
class IngestRun:
    seconds: float
    bound: float
    requests: Requests
    peak_rss_mb: float
    records: int
    timeline: dict


def hour_range(workload) -> dict[str, str]:
    return {
        "first_hour": workload.start.strftime(PARTITION_KEY_FORMAT),
        "last_hour": (workload.end - timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT),
    }


def ingest_once(bench, repetition: int = 1) -> IngestRun:
    with scratch_database() as url, dagster_home() as (home, dagster_url):
        bench.sandbox.reset_stats()
        outcome = run_child(
            "benchmarks.ingest_child",
            hour_range(bench.workload),
            env=pipeline_env(bench.workload, bench.sandbox.url, url, home, dagster_url),
        )
        requests = Requests.from_stats(bench.sandbox.stats())
        if not outcome["success"]:
            raise BenchmarkError(f"ingestion run failed: {outcome['failures'][:3]}")
        with connect(url) as conn:
            records = check_raw_tables(conn, bench.truth)
    run = IngestRun(
        seconds=outcome["seconds"],
        bound=requests.bound_seconds(bench.workload),
        requests=requests,
        peak_rss_mb=outcome["peak_rss_mb"],
        records=records,
        timeline=outcome["timeline"],
    )
    bench.log(
        f"ours #{repetition}: {run.seconds:.1f}s, bound {run.bound:.1f}s "
        f"(ratio {run.seconds / run.bound:.2f}), {run.requests.elevenlabs_ok} EL + "
        f"{run.requests.twilio_ok} Twilio requests, {run.requests.throttled} throttled, "
        f"peak RSS {run.peak_rss_mb:.0f} MB, {run.records} records checked"
    )
    bench.log("  " + ", ".join(f"{k}: {v}" for k, v in run.timeline.items()))
    return run


def results(bench, runs: list[IngestRun]) -> list[Result]:
    ratio = median(run.seconds / run.bound for run in runs)
    first = runs[0].requests
    return [
        Result.judged(
            "ingest_vs_bound",
            ratio,
            "x bound",
            "<=",
            1.3,
            seconds=[round(r.seconds, 2) for r in runs],
            bound_seconds=[round(r.bound, 2) for r in runs],
            elevenlabs_requests=first.elevenlabs_ok,
            twilio_requests=first.twilio_ok,
            throttled=[r.requests.throttled for r in runs],
            peak_in_flight_elevenlabs=[r.requests.peak_elevenlabs for r in runs],
            records=runs[0].records,
            timelines=[r.timeline for r in runs],
        ),
        Result.judged(
            "peak_rss_mb",
            max(run.peak_rss_mb for run in runs),
            "MB",
            "<=",
            500,
            per_run=[round(r.peak_rss_mb) for r in runs],
        ),
    ]
