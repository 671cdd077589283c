"""``python -m benchmarks [--smoke] [--only NAME,...] [--repeats N]``: see benchmarks/README.md.

Exits non-zero when a benchmark could not run or its run was incorrect (lost or altered
records); a figure that misses its target is reported in the table, not as a failure.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import report
from benchmarks.workload import SEED_SCALE, SMOKE, ten_times

FIGURES = (
    "ingest_vs_bound",
    "ingest_vs_bound_10x",
    "seed_strategy_vs_ours",
    "peer_vs_ours",
    "dagster_backfill_overhead",
    "load_vs_copy",
    "hour_refresh_flatness",
    "snapshot_query_speedup",
    "backoffice_query_ms",
    "peak_rss_mb",
    "steady_state_requests_per_necessary",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny workload, no targets (CI)")
    parser.add_argument("--only", help=f"comma-separated figures, of: {', '.join(FIGURES)}")
    parser.add_argument("--repeats", type=int, help="repetitions per figure (median reported)")
    parser.add_argument("--days", type=int, help="shorten the workload (trying things out)")
    parser.add_argument("--output", help="where to write the JSON (default results/latest.json)")
    args = parser.parse_args(argv)

    workload = SMOKE if args.smoke else SEED_SCALE
    if args.repeats:
        workload = workload.with_(repeats=args.repeats)
    if args.days:
        workload = workload.with_(days=args.days)
    wanted = set(args.only.split(",")) if args.only else set(FIGURES)
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")

    from benchmarks.suite import run_suite

    started = datetime.now(UTC)
    began = time.perf_counter()
    results = run_suite(workload, wanted, log=_log(began))
    path = report.write(results, workload, started, path=Path(args.output) if args.output else None)
    print()
    print(
        f"workload {workload.name}: {workload.days} days at scale {workload.scale}, "
        f"latency {workload.latency_ms:g} ms, limits EL {workload.elevenlabs_limit} / "
        f"Twilio {workload.twilio_limit}, median of {workload.repeats}"
    )
    if "ingest_vs_bound_10x" in wanted:
        ten_x = ten_times(workload)
        print(
            f"ingest_vs_bound_10x: workload {ten_x.name}, {ten_x.days} days at scale "
            f"{ten_x.scale}, same latency and limits, one repetition"
        )
    print(report.table(results, workload.smoke))
    print(f"\nwritten to {path} ({time.perf_counter() - began:.0f}s)")
    errors = [r for r in results if r.value is None]
    for r in errors:
        print(f"\n{r.name} FAILED: {r.detail.get('error')}", file=sys.stderr)
    return 1 if errors else 0


def _log(began: float):
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", flush=True)

    return log


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwind: stop the sandbox, drop the scratch databases


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.exit(130)
