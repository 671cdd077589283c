"""Raw ingestion: every Twilio call and ElevenLabs conversation, one UTC hour per partition.

Both assets read the run's whole partition window (one hour, or a range of hours in a backfill —
the same code path), hand each fetched batch to the warehouse writer as it arrives, and replace
the window in one transaction, marking its hours loaded (``raw.loaded_hours``) in it.
Re-running any window any number of times leaves the same rows (only the ``ingested_at`` of the
rows fetched again moves), so schedules, sensors, retries and backfills may overlap freely. Each
hour's materialization carries that hour's own counts and amounts (``hourly_metadata.py``).
"""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation.
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.assets.hourly_metadata import (
    HoursMetadata,
    elevenlabs_hours,
    metadata_by_partition,
    twilio_hours,
)
from simbiosia_pipeline.assets.partition_metadata import result_per_partition
from simbiosia_pipeline.assets.raw_checks import evaluate_raw_checks, raw_check_specs
from simbiosia_pipeline.automation.freshness import freshness_check_spec, freshness_result
from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.sources.errors import PERMANENT_SOURCE_ERRORS, RecordError
from simbiosia_pipeline.sources.records import (
    check_storable,
    conversation_row,
    twilio_row,
)
from simbiosia_pipeline.sources.refetch import (
    FINAL_CONVERSATIONS,
    FULL_REFETCH_TAG,
    listed_as_stored,
)
from simbiosia_pipeline.sources.resources import SourceApis
from simbiosia_pipeline.sources.windows import Window, hour_ranges
from simbiosia_pipeline.warehouse.connection import WarehouseUnavailableError
from simbiosia_pipeline.warehouse.loaded_hours import mark_hours_loaded
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import (
    ELEVENLABS_CONVERSATIONS,
    TWILIO_CALLS,
    CheckedRawTable,
)
from simbiosia_pipeline.warehouse.writer import Holding, RawTable, WindowWriter

# How many records a write added to its table. New Twilio calls can change the attribution of
# the hours after them (automation/lookback.py); a write that only updated records cannot.
RECORDS_ADDED = "records_added"
# The hours whose records changed — one arrived or left, inside the window or outside it (a
# record that moved to another hour leaves its old one): ``[[start, end], ...]`` ISO pairs.
# automation/lookback.py restates them and the hours that look back on them.
HOURS_CHANGED = "hours_changed"

# One run per backfill, however long: the assets stream the range in bounded memory, and
# `dagster asset materialize --partition-range` requires single-run assets.
RANGE_IN_ONE_RUN = dg.BackfillPolicy.single_run()

BULK_TAG = "simbiosia/bulk"
# Permanent: bad credentials, a record that cannot be parsed, a setting out of range, an answer
# of the wrong shape, too large or redirected (retrying gets the same answer).
PERMANENT_ERRORS = (*PERMANENT_SOURCE_ERRORS, ConfigurationError)


def api_retry_policy(settings: Settings) -> dg.RetryPolicy:
    """Transient trouble that escapes the HTTP layer's own retries (an API down for minutes, the
    warehouse restarting) gets a few more tries, spaced out, before the run fails. Permanent
    errors (bad credentials, a record that cannot be parsed) are raised as non-retryable.
    A definition-time value: ``definitions.py`` passes the settings it read."""
    return dg.RetryPolicy(
        max_retries=settings.step_retries,
        delay=settings.step_retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


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


def is_full_refetch(context: dg.AssetExecutionContext) -> bool:
    """A run tagged ``simbiosia/full_refetch=true`` fetches every record again (repair)."""
    return context.run.tags.get(FULL_REFETCH_TAG) == "true"


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
    table: CheckedRawTable,
    fetch: Callable[[Window, Callable[[list[dict]], None], dict], object],
    to_row: Callable[[dict, datetime], tuple],
    hours_metadata: HoursMetadata,
    holding: Holding | None = None,
) -> Load:
    """``fetch(window, sink, held)`` hands the window's records to ``sink``; with a ``holding``,
    ``held`` maps the stored rows it holds (``writer.py``) and the fetch returns those it
    ``kept`` instead of fetching them again."""
    window = _window(context)
    context.log.info(f"fetching {table.lock_name} for {window} ({window.hours} hours)")
    began = time.perf_counter()
    try:
        with warehouse.connect() as conn:
            ensure_raw_schema(conn)
            claim_source_mode(conn, apis.mode)
            with WindowWriter(conn, table, window.start, window.end, holding) as writer:
                fetched = fetch(window, _Load(writer, to_row, table, window), writer.held)
                if holding is not None:
                    writer.keep(fetched.kept)
                    writer.drop_unkept()
                # the same transaction: the hours' mark and figures are the rows committed
                mark_hours_loaded(conn, table, window.start, window.end)
                hours = metadata_by_partition(conn, hours_metadata, window)
            now = datetime.now(UTC)
            checks = evaluate_raw_checks(conn, table, window, now - settings.settle_max_age)
        checks.append(freshness_result(context, window, now))
    except WarehouseUnavailableError:
        raise  # down or restarting: the step's RetryPolicy tries again (scenario 3 of issue 6)
    except PERMANENT_ERRORS as exc:
        # Retrying cannot fix these: fail now, with the message that says what to do.
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    elapsed = time.perf_counter() - began
    context.log.info(
        f"{table.lock_name}: {writer.inserted} rows for {window} in {elapsed:.1f}s "
        f"({writer.deleted} replaced, {writer.kept} kept as stored)"
    )
    return Load(window, fetched, writer, elapsed, checks, hours)


def _window_figures(load: Load) -> dict:
    """The write's own figures: of the whole window, whatever its length."""
    writer = load.writer
    return {
        "rows_replaced": writer.deleted,
        "rows_kept": writer.kept,
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


def raw_assets(retry_policy: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """``raw/twilio_calls`` and ``raw/elevenlabs_conversations``, with the step retries given."""
    return [
        raw_asset(TWILIO_CALLS, "twilio", retry_policy)(ingest_twilio_calls),
        raw_asset(ELEVENLABS_CONVERSATIONS, "elevenlabs", retry_policy)(
            ingest_elevenlabs_conversations
        ),
    ]


def raw_asset_key(table: RawTable) -> dg.AssetKey:
    """A raw table's asset: ``raw/<table>``."""
    return dg.AssetKey([table.schema, table.name])


def raw_asset(table: CheckedRawTable, api: str, retry_policy: dg.RetryPolicy):
    """The decorator both raw assets share: hourly, one run per range, the API's pool."""
    asset_key = raw_asset_key(table)
    return dg.asset(
        key=asset_key,
        group_name="raw",
        partitions_def=HOURLY,
        backfill_policy=RANGE_IN_ONE_RUN,
        retry_policy=retry_policy,
        pool=f"{api}_api",
        kinds={api, "postgres"},
        check_specs=[*raw_check_specs(asset_key, table), freshness_check_spec(asset_key)],
        owners=["team:data-engineering"],
    )


def ingest_twilio_calls(
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
        lambda window, sink, held: apis.twilio().calls_started_in(window, sink),
        twilio_row,
        twilio_hours,
    )
    return _result(
        context,
        load,
        {
            "days_listed": load.fetched.days_listed,
            "duplicates_dropped": load.fetched.duplicates_dropped,
        },
    )


def ingest_elevenlabs_conversations(
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

    A re-run lists the whole window again but fetches only the details that may have changed:
    a conversation stored final (``done``/``failed`` with its cost) whose list entry is the same
    keeps its stored row (``sources/refetch.py``); a run tagged ``simbiosia/full_refetch=true``
    fetches every detail again.

    Transcript text is not stored unless ``SIMBIOSIA_STORE_TRANSCRIPTS=true``.

    Idempotent: the window is replaced in one transaction — rows kept, replaced, added, and
    those of conversations no longer listed deleted — so it equals a full re-fetch.
    """
    store_transcripts = settings.store_transcripts
    bulk = is_bulk_run(context)
    holding = None if is_full_refetch(context) else FINAL_CONVERSATIONS

    def to_row(detail: dict, ingested_at: datetime) -> tuple:
        return conversation_row(detail, ingested_at, store_transcripts=store_transcripts)

    load = _load_window(
        context,
        apis,
        warehouse,
        settings,
        ELEVENLABS_CONVERSATIONS,
        # built inside the load: a setting out of range fails the run at once, unretried
        lambda window, sink, held: apis.elevenlabs(bulk=bulk).conversations_started_in(
            window, sink, is_current=listed_as_stored(held)
        ),
        to_row,
        elevenlabs_hours,
        holding,
    )
    return _result(
        context,
        load,
        {
            "conversations_listed": load.fetched.listed,
            "list_pages": load.fetched.list_pages,
            "details_fetched": load.fetched.fetched,
            "conversations_kept": len(load.fetched.kept),
            "concurrency_ceiling": load.fetched.concurrency_ceiling,
            "concurrency_lowest": load.fetched.concurrency_lowest,
        },
    )
