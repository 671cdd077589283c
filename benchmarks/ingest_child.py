"""Child process of ``ingest_vs_bound``: the two raw assets over a range of hours, run exactly as
a single-run backfill runs them — one run of the project's code location with its own executor
(multiprocess: Twilio and ElevenLabs side by side, each step in a process of its own) and the
definitions' resources — but launched directly from this process (``execute_job``) instead of
through the daemon, on a Dagster instance with PostgreSQL storage as in production."""

from __future__ import annotations

import os
import resource
import time


def run(payload: dict) -> dict:
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from simbiosia_pipeline.partitions import partition_range_tags

    keys = {dg.AssetKey(["raw", "twilio_calls"]), dg.AssetKey(["raw", "elevenlabs_conversations"])}
    repository = ReconstructableRepository.for_module(
        "simbiosia_pipeline.definitions", "defs", working_directory=os.getcwd()
    )
    definitions = repository.get_definition()
    job = definitions.get_implicit_job_def_for_assets(keys)
    with dg.DagsterInstance.get() as instance:
        began = time.perf_counter()
        result = dg.execute_job(
            repository.get_reconstructable_job(job.name),
            instance,
            # The same selection as the UI's backfill of the two assets: they and their checks.
            asset_selection=sorted(keys),
            tags={
                **partition_range_tags(payload["first_hour"], payload["last_hour"]),
                "simbiosia/bulk": "true",  # what a backfill is: the bulk share of the budget
            },
        )
        seconds = time.perf_counter() - began
        own = _peak_rss_mb()
        # The largest step process (ru_maxrss of the waited-for children, in KiB).
        steps = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        failures = [
            str(event.step_failure_data.error.message)
            for event in result.all_events
            if event.is_step_failure
        ]
        timeline = _timeline(instance, result.run_id, began)
    return {
        "success": result.success,
        "failures": failures,
        "seconds": seconds,
        "peak_rss_mb": max(own, steps),
        "peak_rss_run_process_mb": own,
        "peak_rss_largest_step_mb": steps,
        "timeline": timeline,
    }


def _peak_rss_mb() -> float:
    """VmHWM, the high-water mark of this process's memory. Not ``getrusage``'s ru_maxrss: on
    Linux that survives ``exec`` and would report the harness's own peak (it holds the truth)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _timeline(instance, run_id: str, began_perf: float) -> dict:
    """When each phase of the run happened, in seconds from the call: where the time goes."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.STEP_WORKER_STARTING,
        dg.DagsterEventType.STEP_WORKER_STARTED,
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.RUN_SUCCESS,
        dg.DagsterEventType.RUN_FAILURE,
    }
    records = instance.all_logs(run_id, of_type=kinds)
    offset = time.time() - (time.perf_counter() - began_perf)  # wall clock of `began`
    marks: dict[str, float] = {}
    for record in records:
        event = record.dagster_event
        kind = event.event_type_value if event else "log"
        label = f"{kind} {record.step_key or ''}".strip()
        moment = round(record.timestamp - offset, 2)
        marks.setdefault("first " + label, moment)
        marks["last " + label] = moment
    return dict(sorted(marks.items(), key=lambda item: item[1]))


if __name__ == "__main__":
    from benchmarks.infra import child_main

    child_main(run)
