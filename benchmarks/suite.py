"""Runs the selected figures in one go, side by side, and collects their results."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from benchmarks.infra import SandboxProcess
from benchmarks.report import Result
from benchmarks.workload import Workload
from simbiosia_pipeline.sandbox import Sandbox
from simbiosia_testing.truth import WindowTruth

TARGETS = {
    "ingest_vs_bound": ("x bound", "<= 1.3"),
    "ingest_vs_bound_10x": ("x bound", "<= 1.1"),
    "seed_strategy_vs_ours": ("x ours", "report"),
    "peer_vs_ours": ("x ours", ">= 2"),
    "dagster_backfill_overhead": ("x in-process", "<= 1.15"),
    "load_vs_copy": ("x COPY", ">= 0.5"),
    "hour_refresh_flatness": ("x", "<= 2"),
    "snapshot_query_speedup": ("x", ">= 100"),
    "backoffice_query_ms": ("ms", "<= 200"),
    "peak_rss_mb": ("MB", "<= 500"),
    "steady_state_requests_per_necessary": ("x necessary", "<= 1.2"),
}


@dataclass
class Bench:
    """What the figures share: the workload, the sandbox process, the same sandbox in this
    process (``served``) and its truth of the workload's window, our own runs."""

    workload: Workload
    sandbox: SandboxProcess
    served: Sandbox
    truth: WindowTruth
    log: Callable[[str], None]
    ours: list = field(default_factory=list)  # IngestRun of ingest_vs_bound

    @property
    def ours_seconds(self) -> float:
        from benchmarks.infra import median

        return median(run.seconds for run in self.ours)


@contextmanager
def serving(workload: Workload, log) -> Iterator[Bench]:
    """The workload's sandbox served in a process of its own, with its ground truth."""
    with SandboxProcess(workload) as sandbox:
        served = sandbox.truth()
        truth = WindowTruth.of(served, workload.start, workload.end)
        log(f"{workload.name}: sandbox serving on {sandbox.url}; ground truth computed")
        log(
            f"truth: {len(truth.calls)} Twilio calls, "
            f"{len(truth.conversations)} ElevenLabs conversations"
        )
        yield Bench(workload, sandbox, served, truth, log)


def run_suite(workload: Workload, wanted: set[str], log) -> list[Result]:

    results: dict[str, Result] = {}

    def attempt(names: tuple[str, ...], fn) -> None:
        try:
            for result in fn():
                results[result.name] = result
        except Exception as exc:
            log(f"{'/'.join(names)} failed: {exc}")
            traceback.print_exc()
            for name in names:
                unit, target = TARGETS[name]
                results[name] = Result.failed(name, unit, target, f"{type(exc).__name__}: {exc}")

    with serving(workload, log) as bench:
        side_by_side = wanted & {
            "ingest_vs_bound",
            "peak_rss_mb",
            "seed_strategy_vs_ours",
            "peer_vs_ours",
            "dagster_backfill_overhead",
        }
        if side_by_side:
            attempt(
                ("ingest_vs_bound", "peak_rss_mb", "peer_vs_ours", "dagster_backfill_overhead"),
                lambda: _side_by_side(bench, wanted),
            )
        if bench.ours and "seed_strategy_vs_ours" in wanted:
            from benchmarks import seed_strategy

            attempt(("seed_strategy_vs_ours",), lambda: seed_strategy.run(bench))

        if "load_vs_copy" in wanted:
            from benchmarks import load_copy

            attempt(("load_vs_copy",), lambda: load_copy.run(bench))

    if "ingest_vs_bound_10x" in wanted:
        from benchmarks import ingest_10x

        attempt(("ingest_vs_bound_10x",), lambda: ingest_10x.run(workload, log))

    if wanted & {"hour_refresh_flatness", "snapshot_query_speedup", "backoffice_query_ms"}:
        from benchmarks import warehouse_scale

        if "hour_refresh_flatness" in wanted:
            attempt(("hour_refresh_flatness",), lambda: warehouse_scale.hour_refresh(workload, log))
        if "snapshot_query_speedup" in wanted:
            attempt(
                ("snapshot_query_speedup",), lambda: warehouse_scale.snapshot_queries(workload, log)
            )
        if "backoffice_query_ms" in wanted:
            attempt(
                ("backoffice_query_ms",), lambda: warehouse_scale.backoffice_queries(workload, log)
            )

    if "steady_state_requests_per_necessary" in wanted:
        from benchmarks import steady_state

        attempt(("steady_state_requests_per_necessary",), lambda: steady_state.run(workload, log))

    order = list(TARGETS)
    results = {name: r for name, r in results.items() if name in wanted}
    return [results[name] for name in order if name in results and name in wanted] + [
        r for name, r in results.items() if name not in wanted
    ]


def _side_by_side(bench: Bench, wanted: set[str]) -> list[Result]:
    """Ours, dlt's and the daemon's runs of the same workload, taking turns in each repetition,
    so that a ratio compares runs made under the same conditions."""
    from contextlib import ExitStack

    from benchmarks import daemon_backfill, ingest, peer_dlt

    peers, daemons = [], []
    with ExitStack() as stack:
        services = None
        if "dagster_backfill_overhead" in wanted:
            bench.log("starting dagster-webserver and dagster-daemon")
            services = stack.enter_context(daemon_backfill.Services(bench).running())
        for repetition in range(1, bench.workload.repeats + 1):
            bench.ours.append(ingest.ingest_once(bench, repetition))
            if "peer_vs_ours" in wanted:
                peer = peer_dlt.once(bench)
                bench.log(
                    f"dlt #{repetition}: {peer.seconds:.1f}s, "
                    f"{peer.requests.elevenlabs_total + peer.requests.twilio_total} requests, "
                    f"{peer.requests.throttled} throttled, peak RSS {peer.peak_rss_mb:.0f} MB"
                )
                peers.append(peer)
            if services is not None:
                run = services.backfill_once()
                bench.log(
                    f"daemon backfill #{repetition}: {run.seconds:.1f}s to the end of its run "
                    f"(run created after {run.run_created_after:.1f}s, started after "
                    f"{run.run_started_after:.1f}s; backfill marked complete after "
                    f"{run.backfill_seconds:.1f}s)"
                )
                daemons.append(run)
    results = ingest.results(bench, bench.ours)
    if peers:
        results.append(peer_dlt.result(bench, bench.ours, peers))
    if daemons:
        results.append(daemon_backfill.result(bench, bench.ours, daemons))
    return results
