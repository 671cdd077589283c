"""``steady_state_requests_per_necessary``: what one day of routine runs asks the APIs for, against
what it needs.

One simulated UTC day (90 minutes for the smoke workload) of the automation, on a warehouse that
already holds the three days before it, against the sandbox's clock moved in 5-minute ticks:

* ``hourly_pipeline_schedule``: at :10, the hour that just closed (the hourly partition that
  ended last, as ``build_schedule_from_partitioned_job`` asks for it);
* ``settlement_sensor``: every tick (its 5-minute interval), the project's own sensor with the
  sandbox's clock, its cursor carried from tick to tick;
* ``daily_catch_up_schedule``: at 03:30, its own request (the last 48 hours).

Each requested run executes the two raw assets over its window in process (``dg.materialize``,
the routine share of the ElevenLabs budget), at the clock of its tick; the hourly models it would
also rebuild ask the APIs for nothing. Requests made are what the sandbox counted (every
request, retries included). Requests necessary are the list pages the runs made, plus one
ElevenLabs detail per (conversation, status) the runs' listings saw: one per conversation, and
one more per status change a run could see (computed from the sandbox's ground truth at each
run's clock). Twilio lists whole records, so its pages are all it needs.

The same day is simulated twice, on the same data: as the pipeline runs (details only of new,
unfinished or changed conversations) and with ``simbiosia/full_refetch`` on every run — every
detail of every window again, what the pipeline did before (the "before" of the details).
The warehouse's conversations are then checked against the ground truth of the whole span.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta

from benchmarks.infra import SandboxProcess, run_child, scratch_database
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError
from simbiosia_pipeline.sandbox.config import DEFAULT_HISTORY_START

NAME = "steady_state_requests_per_necessary"
TARGET = 1.2
TICK = timedelta(minutes=5)
HISTORY = timedelta(days=3)  # preloaded: the catch-up reads 48 h back, settlement as far


def simulated_span(workload) -> tuple:
    """The UTC day before the workload's clock; smoke-testing, 03:00-04:30 of it (two hourly
    runs, the catch-up, settlement)."""
    day = workload.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    if workload.smoke:
        return day + timedelta(hours=3), day + timedelta(hours=4, minutes=30)
    return day, day + timedelta(days=1)


MODES = ("incremental", "full_refetch")


def run(workload, log) -> list[Result]:
    start, end = simulated_span(workload)
    outcomes = {}
    with (
        SandboxProcess(workload) as sandbox,
        scratch_database() as incremental,
        scratch_database() as full,
    ):
        for mode, url in zip(MODES, (incremental, full), strict=True):
            with tempfile.TemporaryDirectory() as home:
                outcome = run_child(
                    "benchmarks.steady_state",
                    {
                        "mode": mode,
                        "start": start,
                        "end": end,
                        "sandbox_url": sandbox.url,
                        "seed": workload.seed,
                        "scale": workload.scale,
                    },
                    env=_environment(url, home),
                )
            outcomes[mode] = outcome
            log(
                f"steady state ({mode}): {outcome['runs']} runs, "
                f"{outcome['made']} requests made, {outcome['necessary']} necessary "
                f"({outcome['ratio']:.3f}); ElevenLabs {outcome['elevenlabs_made']} / "
                f"{outcome['elevenlabs_necessary']} ({outcome['elevenlabs_ratio']:.3f})"
            )
        checked = _same_records(incremental, full)
        log(f"steady state: {checked} records checked, the same after both days")
    ours = outcomes["incremental"]
    return [
        Result.judged(
            NAME,
            ours["ratio"],
            "x necessary",
            "<=",
            TARGET,
            simulated=[start.isoformat(), end.isoformat()],
            records_checked=checked,
            **outcomes,
        )
    ]


def _same_records(incremental_url: str, full_url: str) -> int:
    """Both days leave the same records (ids and payloads, every hour): re-fetching only what
    may have changed changes nothing in the result. The number of records compared."""
    from simbiosia_pipeline.warehouse.connection import connect
    from simbiosia_testing.truth import RAW_TABLES

    def records(url: str) -> dict:
        with connect(url) as conn:
            return {
                (table, key): payload
                for table, key_column, _ in RAW_TABLES.values()
                for key, payload in conn.execute(f"SELECT {key_column}, payload::text FROM {table}")
            }

    ours, full = records(incremental_url), records(full_url)
    differing = sorted(key for key in ours.keys() | full.keys() if ours.get(key) != full.get(key))
    if differing:
        shown = differing[:5]
        raise BenchmarkError(f"{len(differing)} records differ after a full re-fetch: {shown}")
    return len(ours)


def _environment(database_url: str, home: str) -> dict[str, str]:
    return {
        "SIMBIOSIA_SOURCE": "sandbox",
        "SIMBIOSIA_DATABASE_URL": database_url,
        "SIMBIOSIA_HOME": home,
        # the sandbox's first day: every hour the simulation reaches back to is a partition
        "SIMBIOSIA_START_DATE": DEFAULT_HISTORY_START.date().isoformat(),
        "SIMBIOSIA_AUTOMATION": "false",
    }


# --- the child process: the simulated day --------------------------------------------------------


def simulate(payload: dict) -> dict:
    from datetime import datetime

    start = datetime.fromisoformat(payload["start"])
    end = datetime.fromisoformat(payload["end"])
    from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig

    truth = Sandbox(SandboxConfig(seed=payload["seed"], scale=payload["scale"], now=start))
    day = _Day(payload["sandbox_url"], truth, full_refetch=payload["mode"] == "full_refetch")
    day.preload(start - HISTORY, start)
    day.sandbox.reset_stats()
    moment = start
    while moment < end:
        day.tick(moment)
        moment += TICK
    return day.outcome()


class _Day:
    """The automation's decisions, tick by tick, and the runs they request."""

    def __init__(self, sandbox_url: str, truth, *, full_refetch: bool):
        import dagster as dg

        from simbiosia_pipeline.automation.settlement import settlement_sensor
        from simbiosia_pipeline.definitions import HOURLY_JOB

        self.url = sandbox_url
        self.sandbox = _Served(sandbox_url)
        self.truth = truth  # the same sandbox in this process, its clock moved alike
        self.full_refetch = full_refetch
        self.instance = dg.DagsterInstance.ephemeral()
        self.now = None
        self.sensor = settlement_sensor(HOURLY_JOB, clock=lambda: self.now)
        self.cursor: str | None = None
        self.runs = 0
        self.list_pages = 0
        self.seen: set[tuple[str, str]] = set()  # (conversation, status) the listings saw
        self.known = 0  # of which, seen by the preload: their details are stored already

    def preload(self, start, end) -> None:
        from simbiosia_pipeline.sources.windows import Window

        self._set_clock(end)
        self._observe(Window(start, end))
        self.known = len(self.seen)
        self._run(Window(start, end), bulk=True)

    def tick(self, moment) -> None:
        from simbiosia_pipeline.automation.schedules import (
            HOURLY_MINUTE,
            catch_up_request,
        )
        from simbiosia_pipeline.sources.windows import Window
        from simbiosia_pipeline.utc import HOUR

        self._set_clock(moment)
        windows = []
        if moment.minute == HOURLY_MINUTE:  # the hourly partition that ended last
            hour = moment.replace(minute=0) - HOUR
            windows.append(Window(hour, hour + HOUR))
        if (moment.hour, moment.minute) == (3, 30):
            windows.append(_requested_window(catch_up_request(moment)))
        windows += self._settlement_windows()
        for window in windows:
            self._observe(window)
            self._run(window)

    def _settlement_windows(self) -> list:
        import dagster as dg

        from simbiosia_pipeline.pipeline_settings import PipelineSettings
        from simbiosia_pipeline.warehouse.resource import WarehouseResource

        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"warehouse": WarehouseResource(), "settings": PipelineSettings.from_env()},
        )
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor or self.cursor
        return [_requested_window(request) for request in result.run_requests or []]

    def _observe(self, window) -> None:
        """What a listing of ``window`` shows now: each (conversation, status) needs a detail."""
        for summary in self.truth.conversation_summaries(window.start, window.end):
            self.seen.add((summary["conversation_id"], summary["status"]))

    def _run(self, window, bulk: bool = False) -> None:
        import dagster as dg

        from simbiosia_pipeline.assets.partition_metadata import WINDOW_FIGURES
        from simbiosia_pipeline.assets.raw import BULK_TAG
        from simbiosia_pipeline.definitions import elevenlabs_conversations, twilio_calls
        from simbiosia_pipeline.partitions import hour_range_tags
        from simbiosia_pipeline.pipeline_settings import PipelineSettings
        from simbiosia_pipeline.sandbox.resource import SandboxApis
        from simbiosia_pipeline.sources.refetch import FULL_REFETCH_TAG
        from simbiosia_pipeline.warehouse.resource import WarehouseResource

        tags = {
            **hour_range_tags(window),
            **({BULK_TAG: "true"} if bulk else {}),
            **({FULL_REFETCH_TAG: "true"} if self.full_refetch else {}),
        }
        result = dg.materialize(
            [twilio_calls, elevenlabs_conversations],
            instance=self.instance,
            resources={
                "apis": SandboxApis(twilio_base_url=self.url, elevenlabs_base_url=self.url),
                "warehouse": WarehouseResource(),
                "settings": PipelineSettings.from_env(),
            },
            tags=tags,
        )
        # every hour's materialization carries the window's figures: the first one's
        first, *_ = result.asset_materializations_for_node("raw__elevenlabs_conversations")
        figures = first.metadata.get(WINDOW_FIGURES)
        figures = figures.value if figures is not None else _plain(first.metadata)
        if not bulk:
            self.runs += 1
            self.list_pages += figures["list_pages"]

    def _set_clock(self, moment) -> None:
        self.now = moment
        self.truth.set_now(moment)
        self.sandbox.set_clock(moment)

    def outcome(self) -> dict:
        stats = self.sandbox.stats()
        made = stats["requests"]
        twilio_pages = stats["responses"]["twilio"].get("200", 0)
        details_necessary = len(self.seen) - self.known
        el_necessary = self.list_pages + details_necessary
        necessary = el_necessary + twilio_pages
        return {
            "runs": self.runs,
            "made": made["elevenlabs"] + made["twilio"],
            "necessary": necessary,
            "ratio": (made["elevenlabs"] + made["twilio"]) / necessary,
            "elevenlabs_made": made["elevenlabs"],
            "elevenlabs_necessary": el_necessary,
            "elevenlabs_ratio": made["elevenlabs"] / el_necessary,
            "elevenlabs_list_pages": self.list_pages,
            "elevenlabs_details_necessary": details_necessary,
            "twilio_made": made["twilio"],
            "twilio_pages": twilio_pages,
            "responses": stats["responses"],
        }


def _plain(metadata) -> dict:
    return {name: value.value for name, value in metadata.items()}


def _requested_window(request):
    """The hours of a run request's range tags."""
    from datetime import UTC, datetime

    from simbiosia_pipeline.partitions import (
        PARTITION_KEY_FORMAT,
        RANGE_END_TAG,
        RANGE_START_TAG,
    )
    from simbiosia_pipeline.sources.windows import Window
    from simbiosia_pipeline.utc import HOUR

    first, last = (
        datetime.strptime(request.tags[tag], PARTITION_KEY_FORMAT).replace(tzinfo=UTC)
        for tag in (RANGE_START_TAG, RANGE_END_TAG)
    )
    return Window(first, last + HOUR)


class _Served:
    """The sandbox process's admin endpoints."""

    def __init__(self, url: str):
        self.url = url

    def set_clock(self, moment) -> None:
        import httpx

        httpx.put(
            f"{self.url}/_sandbox/clock", json={"now": moment.isoformat()}, timeout=5
        ).raise_for_status()

    def reset_stats(self) -> None:
        import httpx

        httpx.post(f"{self.url}/_sandbox/stats/reset", timeout=5).raise_for_status()

    def stats(self) -> dict:
        return self._get("/_sandbox/stats")

    def _get(self, path: str) -> dict:
        import httpx

        return httpx.get(f"{self.url}{path}", timeout=5).json()


if __name__ == "__main__":
    from benchmarks.infra import child_main

    child_main(simulate)
