"""The raw-layer writer: replace one time window of a table, atomically, at bulk-copy speed.

A window is replaced inside a single transaction: delete the window's rows, then ``COPY`` the
fetched rows in as they arrive (batch by batch, so a window of months never has to sit in
memory). A concurrent reader sees the old window until the commit and the new one after it,
never a half; a failure rolls back and leaves the table as it was. Writing the same rows to the
same window again yields the same table — which is what makes every raw asset idempotent.

The writer also says which hours' *membership* changed — a record arrived in the hour or left it,
in the window or outside it (a queued call stored in the hour it was created, then started in
the next one: written by the next hour's run, it leaves the hour before). The models of an hour
outside the run's window are not rebuilt by the run: ``automation/lookback.py`` restates them.
A record whose values changed but which stayed in its hour (a price landing) is no membership
change: the run's own models restate its window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class RawTable:
    schema: str
    name: str
    key: str
    time_column: str
    columns: tuple[str, ...]

    @property
    def qualified(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))

    @property
    def lock_name(self) -> str:
        return f"{self.schema}.{self.name}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_days(start: datetime, end: datetime) -> list[int]:
    """The UTC days ``[start, end)`` touches, as days since 1970-01-01, ascending."""
    first = (start - _EPOCH).days
    last = (end - timedelta(microseconds=1) - _EPOCH).days
    return list(range(first, last + 1))


class WindowWriter:
    """``with WindowWriter(conn, table, start, end) as w: w.write(rows) ...`` — commit on exit."""

    def __init__(self, conn: psycopg.Connection, table: RawTable, start: datetime, end: datetime):
        self._conn = conn
        self._table = table
        self._start = start
        self._end = end
        self._key_index = table.columns.index(table.key)
        self._transaction = None
        self.deleted = 0
        self.inserted = 0
        self.replaced_elsewhere = 0
        self.seconds = 0.0
        self.hours_changed: list[datetime] = []
        self._hours_left: set[datetime] = set()

    @property
    def records_added(self) -> int:
        """How many more records the table holds after this write than before it."""
        return self.inserted - self.deleted - self.replaced_elsewhere

    def __enter__(self) -> WindowWriter:
        began = time.perf_counter()
        self._transaction = self._conn.transaction()
        self._transaction.__enter__()
        # Every statement below finds its rows through an index (the window's time, the keys).
        # Without statistics — a new or truncated table, or one that grew inside this very
        # transaction, as in a first backfill — the planner picks sequential scans instead, and
        # the per-batch key delete turns quadratic (5x slower over 90 days, measured). Scoped to
        # this transaction.
        self._conn.execute("SET LOCAL enable_seqscan = off")
        # One writer per table and UTC day at a time: two overlapping windows written at once
        # would otherwise race between the DELETE and the COPY and collide on the primary key,
        # while disjoint windows (a backfill's and the current hour's) never wait for each
        # other. Days are locked in ascending order, so two writers cannot deadlock.
        self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), day) FROM unnest(%s::int[]) AS day",
            (self._table.lock_name, window_days(self._start, self._end)),
        )
        # The window's records before the write (key and hour), to tell at the end which hours
        # gained or lost records; dropped with the transaction.
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS simbiosia_window_before"
            " (key text, hour timestamptz) ON COMMIT DROP"
        )
        self._conn.execute("TRUNCATE simbiosia_window_before")  # a writer before, same transaction
        self.deleted = self._conn.execute(
            sql.SQL(
                "WITH gone AS (DELETE FROM {table} WHERE {col} >= %s AND {col} < %s"
                " RETURNING {key}, {col})"
                " INSERT INTO simbiosia_window_before SELECT {key}, {hour} FROM gone"
            ).format(
                table=self._table.qualified,
                col=sql.Identifier(self._table.time_column),
                key=sql.Identifier(self._table.key),
                hour=_utc_hour(self._table.time_column),
            ),
            (self._start, self._end),
        ).rowcount
        self.seconds += time.perf_counter() - began
        return self

    def write(self, rows: Sequence[Sequence]) -> None:
        """Add rows (each row's time must lie in the window; keys unique within the window)."""
        if not rows:
            return
        began = time.perf_counter()
        keys = [row[self._key_index] for row in rows]
        # A record already stored under another time (a queued call that started later, or one
        # listed twice by the API) is replaced, so each record lives in exactly one window.
        left = self._conn.execute(
            sql.SQL("DELETE FROM {} WHERE {key} = ANY(%s) RETURNING {hour}").format(
                self._table.qualified,
                key=sql.Identifier(self._table.key),
                hour=_utc_hour(self._table.time_column),
            ),
            (keys,),
        ).fetchall()
        self.replaced_elsewhere += len(left)
        self._hours_left.update(hour for (hour,) in left if not self._start <= hour < self._end)
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            self._table.qualified, sql.SQL(", ").join(map(sql.Identifier, self._table.columns))
        )
        with self._conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        self.inserted += len(rows)
        self.seconds += time.perf_counter() - began

    def __exit__(self, exc_type, exc, tb) -> None:
        began = time.perf_counter()
        try:
            if exc_type is None:
                self.hours_changed = sorted(self._hours_left | self._window_hours_changed())
            self._transaction.__exit__(exc_type, exc, tb)
        finally:
            self.seconds += time.perf_counter() - began

    def _window_hours_changed(self) -> set[datetime]:
        """Hours of the window that gained or lost a record (by key) in this write."""
        rows = self._conn.execute(
            sql.SQL(
                "WITH after AS (SELECT {key} AS key, {hour} AS hour FROM {table}"
                "               WHERE {col} >= %(start)s AND {col} < %(end)s)"
                " SELECT DISTINCT hour FROM ("
                "  (SELECT key, hour FROM simbiosia_window_before EXCEPT SELECT * FROM after)"
                "  UNION ALL"
                "  (SELECT * FROM after EXCEPT SELECT key, hour FROM simbiosia_window_before)"
                " ) AS changed"
            ).format(
                table=self._table.qualified,
                col=sql.Identifier(self._table.time_column),
                key=sql.Identifier(self._table.key),
                hour=_utc_hour(self._table.time_column),
            ),
            {"start": self._start, "end": self._end},
        ).fetchall()
        return {hour for (hour,) in rows}


def _utc_hour(column: str) -> sql.Composed:
    """The UTC hour a timestamptz column falls in (date_trunc alone uses the session's zone)."""
    return sql.SQL("(date_trunc('hour', {col} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')").format(
        col=sql.Identifier(column)
    )


def replace_window(
    conn: psycopg.Connection,
    table: RawTable,
    start: datetime,
    end: datetime,
    rows: Sequence[Sequence],
) -> WindowWriter:
    """Make the rows of ``[start, end)`` exactly ``rows``, in one transaction."""
    with WindowWriter(conn, table, start, end) as writer:
        writer.write(rows)
    return writer
