"""``ingest_vs_bound_10x``: the run of ``ingest_vs_bound`` on ten times today's traffic (workload
"10×": 30 days at sandbox scale 10, same latency and limits), checked against the sandbox's truth
the same way. One repetition: the run alone takes minutes."""

from __future__ import annotations

from benchmarks import ingest
from benchmarks.report import Result
from benchmarks.workload import Workload, ten_times


def run(workload: Workload, log) -> list[Result]:
    from benchmarks.suite import serving

    ten_x = ten_times(workload)
    with serving(ten_x, log) as bench:
        run = ingest.ingest_once(bench)
    return [
        Result.judged(
            "ingest_vs_bound_10x",
            run.seconds / run.bound,
            "x bound",
            "<=",
            1.1,
            repetitions=1,
            seconds=round(run.seconds, 2),
            bound_seconds=round(run.bound, 2),
            elevenlabs_requests=run.requests.elevenlabs_ok,
            twilio_requests=run.requests.twilio_ok,
            throttled=run.requests.throttled,
            peak_in_flight_elevenlabs=run.requests.peak_elevenlabs,
            peak_rss_mb=round(run.peak_rss_mb),
            records=run.records,
            timeline=run.timeline,
        )
    ]
