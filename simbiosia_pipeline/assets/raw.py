"""Raw ingestion: every Twilio call and ElevenLabs conversation, one UTC hour per partition.

Both assets read the run's whole partition window (one hour, or a range of hours in a backfill —
the same code path), hand each fetched batch to the warehouse writer as it arrives, and replace
the window in one transaction, marking its hours loaded (``raw.loaded_hours``) in it.
Re-running any window any number of times leaves the same rows (only ``ingested_at`` moves), so
schedules, sensors, retries and backfills may overlap freely. Each hour's materialization
carries that hour's own counts and amounts (``hourly_metadata.py``).
"""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation.
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.assets.hourly_metadata import metadata_by_partition
from simbiosia_pipeline.assets.partition_metadata import result_per_partition
from simbiosia_pipeline.assets.raw_checks import evaluate_raw_checks, raw_check_specs
from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.sources.errors import PERMANENT_SOURCE_ERRORS, RecordError
from simbiosia_pipeline.sources.records import (
    check_storable,
    conversation_row,
    twilio_row,
)
from simbiosia_pipeline.sources.resources import SourceApis
from simbiosia_pipeline.sources.windows import Window, hour_ranges
from simbiosia_pipeline.warehouse.connection import WarehouseUnavailableError
from simbiosia_pipeline.warehouse.loaded_hours import mark_hours_loaded
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
from simbiosia_pipeline.warehouse.writer import RawTable, WindowWriter

# How many records a write added to its table. New Twilio calls can change the attribution of
# the hours after them (automation/lookback.py); a write that only updated records cannot.
RECORDS_ADDED = "records_added"
# The hours whose records changed — one arrived or left, inside the window or outside it (a
# record that moved to another hour leaves its old one): ``[[start, end], ...]`` ISO pairs.
# automation/lookback.py restates them and the hours that look back on them.
HOURS_CHANGED = "hours_changed"

# Transient trouble that escapes the HTTP layer's own retries (an API down for minutes, the
# warehouse restarting) gets a few more tries, spaced out, before the run fails. Permanent
# errors (bad credentials, a record that cannot be parsed) are raised as non-retryable.
_SETTINGS = Settings.from_env()
API_RETRY_POLICY = dg.RetryPolicy(
    max_retries=_SETTINGS.step_retries,
    delay=_SETTINGS.step_retry_delay_seconds,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
# One run per backfill, however long: the assets stream the range in bounded memory, and
# `dagster asset materialize --partition-range` requires single-run assets.
RANGE_IN_ONE_RUN = dg.BackfillPolicy.single_run()

BULK_TAG = "simbiosia/bulk"
# Permanent: bad credentials, a record that cannot be parsed, a setting out of range, an answer
# of the wrong shape, too large or redirected (retrying gets the same answer).
PERMANENT_ERRORS = (*PERMANENT_SOURCE_ERRORS, ConfigurationError)


@dataclass
class _Load:
    """Glue between a fetcher's batches and the window writer, timing both sides."""

    writer: WindowWriter
    to_row: Callable[[dict, datetime], tuple]
    table: RawTable
    window: Window
    ingested_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self._time_index = self.table.columns.index(self.table.time_column)
        self._key_index = self.table.columns.index(self.table.key)

    def __call__(self, records: list[dict]) -> None:
        rows = [self._row(record) for record in records]
        for row in rows:
            if row[self._time_index] not in self.window:
                self._refuse_outside_window(row)
        self.writer.write(rows)

    def _row(self, record: dict) -> tuple:
        """The record as a row, or a ``RecordError`` naming it: a value of a type the parsers
        did not expect must not surface as a bare ``KeyError``/``TypeError`` — nor be retried."""
        key = record.get(self.table.key) if isinstance(record, dict) else None
        what = f"{self.table.lock_name}: record {key!r}"
        try:
            row = self.to_row(record, self.ingested_at)
        except RecordError:
            raise
        except (
            KeyError,
            AttributeError,
            TypeError,
            ValueError,
            OverflowError,
            ArithmeticError,
        ) as exc:
            raise RecordError(f"{what}: an unexpected value ({type(exc).__name__}: {exc})") from exc
        check_storable(row, self.table.columns, what)
        return row

    def _refuse_outside_window(self, row: tuple) -> None:
        """A record fetched for this window must belong to it. One whose own time says
        otherwise (an ElevenLabs detail that disagrees with its list) would be stored in an hour
        that no run fetches it for — the next run of that hour would delete it — so it is
        refused, named, instead."""
        moment = row[self._time_index]
        raise RecordError(
            f"{self.table.lock_name}: record {row[self._key_index]} was listed in {self.window} "
            f"but its own {self.table.time_column} is {moment.isoformat()}, outside the window; "
            "refusing to store it where no run of its hour would fetch it again"
        )


def is_bulk_run(context: dg.AssetExecutionContext) -> bool:
    """Backfills (from the UI or `simbiosia backfill`) take the bulk share of the API budget."""
    tags = context.run.tags
    return "dagster/backfill" in tags or tags.get(BULK_TAG) == "true"


def _window(context: dg.AssetExecutionContext) -> Window:
    start, end = context.partition_time_window
    return Window(start.astimezone(UTC), end.astimezone(UTC))


@dataclass(frozen=True)
class Load:
    """What a window's write did: the window's own figures, and each hour's metadata."""

    window: Window
    fetched: object
    writer: WindowWriter
    seconds: float
    checks: list
    hours: dict[str, dict]  # partition key -> that hour's metadata (hourly_metadata.py)


def _load_window(
    context: dg.AssetExecutionContext,
    apis: SourceApis,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
    table: RawTable,
    fetch: Callable[[Window, Callable[[list[dict]], None]], object],
    to_row: Callable[[dict, datetime], tuple],
) -> Load:
    window = _window(context)
    context.log.info(f"fetching {table.lock_name} for {window} ({window.hours} hours)")
    began = time.perf_counter()
    try:
        with warehouse.connect() as conn:
            ensure_raw_schema(conn)
            claim_source_mode(conn, apis.mode)
            with WindowWriter(conn, table, window.start, window.end) as writer:
                fetched = fetch(window, _Load(writer, to_row, table, window))
                # the same transaction: the hours' mark and figures are the rows committed
                mark_hours_loaded(conn, table, window.start, window.end)
                hours = metadata_by_partition(conn, table, window)
            settled_by = datetime.now(UTC) - settings.settle_max_age
            checks = evaluate_raw_checks(conn, table, window, settled_by)
    except WarehouseUnavailableError:
        raise  # down or restarting: the step's RetryPolicy tries again (scenario 3 of issue 6)
    except PERMANENT_ERRORS as exc:
        # Retrying cannot fix these: fail now, with the message that says what to do.
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    elapsed = time.perf_counter() - began
    context.log.info(
        f"{table.lock_name}: {writer.inserted} rows for {window} in {elapsed:.1f}s "
        f"({writer.deleted} replaced)"
    )
    return Load(window, fetched, writer, elapsed, checks, hours)


def _window_figures(load: Load) -> dict:
    """The write's own figures: of the whole window, whatever its length."""
    writer = load.writer
    return {
        "rows_replaced": writer.deleted,
        RECORDS_ADDED: writer.records_added,
        **load.fetched.stats.as_metadata(),
        "seconds_total": round(load.seconds, 3),
        "seconds_writing": round(writer.seconds, 3),
        "seconds_fetching": round(max(0.0, load.seconds - writer.seconds), 3),
    }


def _result(context: dg.AssetExecutionContext, load: Load, figures: dict) -> dg.MaterializeResult:
    """Each hour's materialization carries that hour's own metadata, the window's figures are
    the run's (``partition_metadata.py``). What every hour shares is the write itself: its
    window and the hours whose records changed (read per run by automation/lookback.py)."""
    shared = {
        "window_start": load.window.start.isoformat(),
        "window_end": load.window.end.isoformat(),
        HOURS_CHANGED: dg.MetadataValue.json(
            [
                [r.start.isoformat(), r.end.isoformat()]
                for r in hour_ranges(load.writer.hours_changed)
            ]
        ),
    }
    return result_per_partition(
        context, load.hours, {**_window_figures(load), **figures}, shared, load.checks
    )


def raw_asset(name: str, api: str):
    """The decorator both raw assets share: hourly, one run per range, the API's pool."""
    return dg.asset(
        key=["raw", name],
        group_name="raw",
        partitions_def=HOURLY,
        backfill_policy=RANGE_IN_ONE_RUN,
        retry_policy=API_RETRY_POLICY,
        pool=f"{api}_api",
        kinds={api, "postgres"},
        check_specs=raw_check_specs(["raw", name]),
        owners=["team:data-engineering"],
    )


@raw_asset("twilio_calls", api="twilio")
def twilio_calls(
    context: dg.AssetExecutionContext,
    apis: SourceApis,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """Every Twilio call that started in the window — all directions, all statuses.

    A call belongs to the hour of its ``start_time`` (or of its creation, for a call that never
    started). Twilio filters calls by whole UTC days, so each day the window touches is listed
    once (1000 calls a page) and the window's calls are kept, one per ``sid`` — Twilio's pages
    can repeat records; the most recently updated copy wins. ``price`` stays NULL until Twilio
    rates a completed call (the settlement sensor re-runs such hours until it lands) and for good
    on unanswered calls, which are settled at 0 (``sources/pending.py``).

    Idempotent: the window is deleted and re-inserted in one transaction.
    """
    load = _load_window(
        context,
        apis,
        warehouse,
        settings,
        TWILIO_CALLS,
        lambda window, sink: apis.twilio().calls_started_in(window, sink),
        twilio_row,
    )
    return _result(
        context,
        load,
        {
            "days_listed": load.fetched.days_listed,
            "duplicates_dropped": load.fetched.duplicates_dropped,
        },
    )


@raw_asset("elevenlabs_conversations", api="elevenlabs")
def elevenlabs_conversations(
    context: dg.AssetExecutionContext,
    apis: SourceApis,
    warehouse: WarehouseResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """Every ElevenLabs conversation that started in the window, with its cost detail.

    The list of the window is paged (100 at a time, a second of overlap at each end, filtered
    locally) and each conversation's detail — where its cost in credits, its charging breakdown
    and its phone call live — is fetched with bounded, adaptive concurrency. A conversation whose
    detail cannot be fetched fails the run with its id; none is ever skipped. Cost is final only
    at status ``done``/``failed``; until then the settlement sensor re-runs the hour.

    Transcript text is not stored unless ``SIMBIOSIA_STORE_TRANSCRIPTS=true``.

    Idempotent: the window is deleted and re-inserted in one transaction.
    """
    store_transcripts = settings.store_transcripts
    bulk = is_bulk_run(context)

    def to_row(detail: dict, ingested_at: datetime) -> tuple:
        return conversation_row(detail, ingested_at, store_transcripts=store_transcripts)

    load = _load_window(
        context,
        apis,
        warehouse,
        settings,
        ELEVENLABS_CONVERSATIONS,
        # built inside the load: a setting out of range fails the run at once, unretried
        lambda window, sink: apis.elevenlabs(bulk=bulk).conversations_started_in(window, sink),
        to_row,
    )
    return _result(
        context,
        load,
        {
            "conversations_listed": load.fetched.listed,
            "concurrency_ceiling": load.fetched.concurrency_ceiling,
            "concurrency_lowest": load.fetched.concurrency_lowest,
        },
    )
