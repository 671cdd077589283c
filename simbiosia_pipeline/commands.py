"""``simbiosia run`` and ``simbiosia backfill``: the pipeline through Dagster's own execution.

Both materialize the asset graph over a range of UTC hours as Dagster runs recorded in the
instance under ``$SIMBIOSIA_HOME/dagster`` (so they show up in the UI next to scheduled runs),
one run per chunk of the range, with a progress line per run and step and a summary at the end
(Dagster's event stream goes to a log file whose path is printed: ``run_console.py``). After
the hours, both also read what the providers bill for the complete UTC days the range touches and
reconcile those days (``simbiosia run`` prints the result).

Both read and check every setting first (a bad one: one line, exit 2), release what runs killed
earlier left behind (``abandoned_runs.py``), and can be stopped by SIGTERM or SIGINT within
seconds, their run marked canceled (``stoppable.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import click

from simbiosia_pipeline.run_console import RunConsole
from simbiosia_pipeline.settings import ConfigurationError, Settings, check_credentials
from simbiosia_pipeline.sources.windows import Window, day_start
from simbiosia_pipeline.utc import HOUR


@dataclass(frozen=True)
class ChunkResult:
    """One run over ``window``: its rows per asset, and the asset partitions it materialized
    (asset key, partition key) — what a backfill recorded from it holds."""

    window: Window
    success: bool
    seconds: float
    rows: dict[str, int]
    run_id: str
    materialized: frozenset


def parse_hour(value: str) -> datetime:
    """``2025-10-01T00:00`` (UTC, on the hour) → an aware datetime."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{value!r} is not a UTC hour like 2025-10-01T00:00") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.minute or moment.second or moment.microsecond:
        raise ConfigurationError(f"{value!r} is not on the hour")
    return moment


def validated_settings() -> Settings:
    """Every setting, checked, and the credentials' shape in live mode: before any run."""
    settings = Settings.from_env()
    check_credentials(settings.source)
    return settings


def backfill_window(start: datetime, end: datetime, settings: Settings, now: datetime) -> Window:
    """``[start, end)`` if it is a range of hourly partitions that exist: after
    ``SIMBIOSIA_START_DATE``, ending no later than the last complete hour."""
    if start >= end:
        raise click.BadParameter(
            f"START {start:%Y-%m-%dT%H:%M} must be before END {end:%Y-%m-%dT%H:%M}"
        )
    if start < settings.start_datetime:
        raise click.BadParameter(
            f"START {start:%Y-%m-%dT%H:%M} is before the first partition "
            f"(SIMBIOSIA_START_DATE={settings.start_date})"
        )
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if end > last:
        raise click.BadParameter(
            f"END {end:%Y-%m-%dT%H:%M} is after the last complete hour ({last:%Y-%m-%dT%H:%M})"
        )
    return Window(start, end)


def chunks(window: Window, hours: int) -> list[Window]:
    """``window`` cut into consecutive pieces of at most ``hours`` hours."""
    pieces, start = [], window.start
    while start < window.end:
        end = min(window.end, start + hours * HOUR)
        pieces.append(Window(start, end))
        start = end
    return pieces


def last_complete_hours(days: int, now: datetime | None = None) -> Window:
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return Window(end - timedelta(days=days), end)


def _job(selection):
    """The hourly pipeline job, or the asset job with the subset of the asset graph
    ``selection`` (str or ``AssetSelection``) names: (job, asset keys or None)."""
    import dagster as dg

    from simbiosia_pipeline.automation.jobs import HOURLY_PIPELINE_JOB
    from simbiosia_pipeline.definitions import defs

    if not selection:
        return defs.resolve_job_def(HOURLY_PIPELINE_JOB), None
    keys = dg.AssetSelection.from_coercible(selection).resolve(defs.resolve_asset_graph())
    return defs.resolve_implicit_global_asset_job_def(), sorted(keys)


def _execute(job_and_keys, tags: dict[str, str], console: RunConsole):
    """One run of the job in this process, tagged with it (so that a later command can tell
    whether it still runs), stopped cleanly by SIGTERM/SIGINT; its events into the console's
    log, its progress onto the terminal.

    The selection goes into the run itself (not a job subset built here): it is what the UI's
    runs list shows as the run's Target, as for a run launched from the UI."""
    import dagster as dg

    from simbiosia_pipeline.abandoned_runs import process_tags
    from simbiosia_pipeline.stoppable import run_stoppably

    job, keys = job_and_keys
    instance = dg.DagsterInstance.get()
    job, run_config = console.loggers(job)

    def execute():
        with console.capturing():
            return job.execute_in_process(
                run_config=run_config,
                instance=instance,
                asset_selection=keys,
                tags={"simbiosia/launched_by": "cli", **process_tags(), **tags},
                raise_on_error=False,
            )

    return run_stoppably(execute, instance)


def materialize_window(
    window: Window, selection: str | None, console: RunConsole, tags: dict[str, str] | None = None
) -> ChunkResult:
    """One Dagster run materializing ``selection`` (default: the hourly job) over ``window``,
    with more run ``tags``."""
    # Imported here, not at the top: they read the settings, which `simbiosia --help` must not.
    from simbiosia_pipeline.assets.raw import BULK_TAG
    from simbiosia_pipeline.partitions import hour_range_tags

    began = time.perf_counter()
    result = _execute(
        _job(selection), {**hour_range_tags(window), BULK_TAG: "true", **(tags or {})}, console
    )
    rows: dict[str, int] = {}
    materialized = set()
    for event in result.get_asset_materialization_events():
        # A ranged run reports one materialization per hour, each with that hour's row count.
        materialization = event.event_specific_data.materialization
        materialized.add((materialization.asset_key, materialization.partition))
        row_count = materialization.metadata.get("dagster/row_count")
        if row_count is not None:
            key = materialization.asset_key.to_user_string()
            rows[key] = rows.get(key, 0) + int(row_count.value)
    seconds = time.perf_counter() - began
    return ChunkResult(
        window, result.success, seconds, rows, result.run_id, frozenset(materialized)
    )


def materialize_unpartitioned(selection, what: str, console: RunConsole) -> None:
    """A run of non-partitioned assets (the directory before, the views after)."""
    result = _execute(_job(selection), {}, console)
    click.echo(f"{what}: {'ok' if result.success else 'FAILED'}")
    if not result.success:
        raise SystemExit(1)


def reconciled_days(window: Window, now: datetime | None = None) -> tuple[date, date] | None:
    """The UTC days ``window`` touches that are over (a provider's day is billed once it
    ended), or None when there is none."""
    first = window.start.date()
    last = min((window.end - HOUR).date(), (now or datetime.now(UTC)).date() - timedelta(days=1))
    return (first, last) if first <= last else None


def materialize_days(window: Window, console: RunConsole) -> tuple[date, date] | None:
    """One run of the providers' daily usage and the reconciliation over the window's days."""
    days = reconciled_days(window)
    if days is None:
        return None
    from dagster import AssetSelection

    from simbiosia_pipeline.assets.raw import BULK_TAG
    from simbiosia_pipeline.definitions import DAILY_ASSETS
    from simbiosia_pipeline.partitions import day_range_tags

    first, last = days
    result = _execute(
        _job(AssetSelection.assets(*DAILY_ASSETS)),
        {**day_range_tags(first, last), BULK_TAG: "true"},
        console,
    )
    click.echo(
        f"provider usage and reconciliation, {first}..{last}: "
        f"{'ok' if result.success else 'FAILED'}"
    )
    if not result.success:
        raise SystemExit(1)
    return days


def record_chunks(
    window: Window, selection, results: list[ChunkResult], started: datetime, title: str
) -> str:
    """The runs over ``window`` recorded as one Dagster backfill (``backfill_record.py``)."""
    import dagster as dg

    from simbiosia_pipeline.backfill_record import record_backfill
    from simbiosia_pipeline.definitions import defs

    job, keys = _job(selection)
    return record_backfill(
        dg.DagsterInstance.get(),
        defs.resolve_asset_graph(),
        keys or job.asset_layer.selected_asset_keys,
        window,
        results,
        started,
        f"{title} {window}",
    )


def run_range(
    window: Window,
    chunk_hours: int,
    selection: str | None,
    command: str,
    verbose: bool,
    tags: dict[str, str] | None = None,
) -> list[ChunkResult]:
    import dagster as dg

    from simbiosia_pipeline.abandoned_runs import release_abandoned_runs
    from simbiosia_pipeline.instance import prepare_dagster_home

    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        for released in release_abandoned_runs(instance):
            click.echo(f"released {released.describe()}", err=True)
    console = RunConsole.for_command(command, verbose)
    console.announce()
    if not selection:
        materialize_unpartitioned("workspace_directory", "workspace directory", console)
    pieces = chunks(window, chunk_hours)
    started = datetime.now(UTC)
    results = []
    for number, piece in enumerate(pieces, start=1):
        result = materialize_window(piece, selection, console, tags)
        results.append(result)
        counts = ", ".join(f"{key}={count}" for key, count in sorted(result.rows.items()))
        status = "ok" if result.success else "FAILED"
        click.echo(f"[{number}/{len(pieces)}] {piece} {status} in {result.seconds:.1f}s {counts}")
        if not result.success:
            break
    backfill_id = record_chunks(window, selection, results, started, f"simbiosia {command}")
    if not all(result.success for result in results):
        click.echo(
            f"recorded as Dagster backfill {backfill_id}: its Re-execute → From failure in the "
            "UI runs what did not succeed"
        )
    if not selection and all(result.success for result in results):
        from dagster import AssetSelection

        from simbiosia_pipeline.dbt.assets import cost_views

        materialize_unpartitioned(AssetSelection.assets(cost_views), "cost views", console)
        materialize_days(window, console)
    return results


@click.command()
@click.argument("start")
@click.argument("end")
@click.option("--select", default=None, help="Dagster asset selection (default: all assets).")
@click.option(
    "--chunk-hours",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="Hours per Dagster run (progress unit).",
)
@click.option("--verbose", is_flag=True, help="Stream Dagster's event log to the terminal too.")
@click.option(
    "--full-refetch",
    is_flag=True,
    help="Fetch every ElevenLabs conversation's detail again, also those stored final (repair).",
)
def backfill(
    start: str, end: str, select: str | None, chunk_hours: int, verbose: bool, full_refetch: bool
) -> None:
    """Materialize the graph over [START, END) — UTC hours like 2025-10-01T00:00."""
    settings = validated_settings()
    window = backfill_window(
        _hour_argument(start), _hour_argument(end), settings, datetime.now(UTC)
    )
    # Imported here, not at the top: `simbiosia --help` must not read the settings.
    from simbiosia_pipeline.sources.refetch import FULL_REFETCH_TAG

    tags = {FULL_REFETCH_TAG: "true"} if full_refetch else {}
    results = run_range(window, chunk_hours, select, "backfill", verbose, tags)
    _summarise(results, window)
    if not all(result.success for result in results):
        raise SystemExit(1)


@click.command()
@click.option(
    "--days",
    default=3,
    show_default=True,
    type=click.IntRange(min=1, max=3660),
    help="How many days back from now.",
)
@click.option("--verbose", is_flag=True, help="Stream Dagster's event log to the terminal too.")
def run(days: int, verbose: bool) -> None:
    """Ingest the last DAYS of complete hours, build the snapshots, print costs.

    In sandbox mode (no SIMBIOSIA_START_DATE) the window starts at UTC midnight DAYS days ago —
    where the first run of a SIMBIOSIA_HOME fixes the start of the sandbox's history and of the
    partitions — so a fresh demo's UI shows every partition loaded."""
    now = datetime.now(UTC)
    sandbox_history = sandbox_history_start(days, now) is not None
    settings = validated_settings()
    window = last_complete_hours(days, now)
    if sandbox_history:  # whole UTC days, as the partitions start on one
        first = day_start(now.date() - timedelta(days=days))
        window = Window(max(settings.start_datetime, first), window.end)
    window = backfill_window(window.start, window.end, settings, now)  # within the partitions
    click.echo(f"source: {settings.source.value}; window {window}")
    results = run_range(window, days * 24, None, "run", verbose)
    _summarise(results, window)
    if not all(result.success for result in results):
        raise SystemExit(1)
    from simbiosia_pipeline.report import print_completeness, print_reconciliation, print_report

    print_report(window)
    print_completeness(window, settings.reporting_tz)
    reconciled = reconciled_days(window)
    if reconciled is not None:
        print_reconciliation(*reconciled)


def sandbox_history_start(days: int, now: datetime) -> date | None:
    """In sandbox mode without SIMBIOSIA_START_DATE: fix (once per SIMBIOSIA_HOME) and return
    the first day of the sandbox's history; None otherwise. Before any module reads the
    partitions, which start there."""
    from simbiosia_pipeline.settings import record_sandbox_start

    settings = Settings.from_env()
    if not settings.starts_with_sandbox_history:
        return None
    return record_sandbox_start(settings.home, now.date() - timedelta(days=days))


def _hour_argument(value: str) -> datetime:
    try:
        return parse_hour(value)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None


def _summarise(results: list[ChunkResult], window: Window) -> None:
    done = sum(result.success for result in results)
    seconds = sum(result.seconds for result in results)
    totals: dict[str, int] = {}
    for result in results:
        for key, count in result.rows.items():
            totals[key] = totals.get(key, 0) + count
    click.echo(
        f"{window}: {done}/{len(results)} runs succeeded in {seconds:.1f}s; "
        + ", ".join(f"{key}: {count} rows" for key, count in sorted(totals.items()))
    )
