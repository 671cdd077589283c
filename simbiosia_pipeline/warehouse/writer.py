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

A write may *hold* stored rows instead of deleting them (``Holding``): the rows matching its
predicate stay in place, and the caller reads what it needs of them (``held``) to decide whether
the record must be fetched again. Each held row is then either kept as stored (``keep``), or
replaced by a fetched one (``write``), or — neither, the record gone from the source — deleted
when the write ends. Still one transaction: a failure leaves every row as it was.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from simbiosia_pipeline.utc import EPOCH


@dataclass(frozen=True)
class RawTable:
    schema: str
    name: str
    key: str
    time_column: str
    columns: tuple[str, ...]
    # SQL predicates of the in-step checks: a row whose amounts have the wrong sign, a row whose
    # cost may still change (None: the table has no such check).
    sign_violations: str | None = None
    pending: str | None = None

    @property
    def qualified(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))

    @property
    def lock_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Holding:
    """Which stored rows of the window a write holds rather than deletes (``where``, an SQL
    predicate on the table's columns), and which of their columns it reads for the caller."""

    where: str
    columns: tuple[str, ...]


def window_days(start: datetime, end: datetime) -> list[int]:
    """The UTC days ``[start, end)`` touches, as days since 1970-01-01, ascending."""
    first = (start - EPOCH).days
    last = (end - timedelta(microseconds=1) - EPOCH).days
    return list(range(first, last + 1))


class WindowWriter:
    """``with WindowWriter(conn, table, start, end) as w: w.write(rows) ...`` — commit on exit."""

    def __init__(
        self,
        conn: psycopg.Connection,
        table: RawTable,
        start: datetime,
        end: datetime,
        holding: Holding | None = None,
    ):
        self._conn = conn
        self._holding = holding
        self._table = table
        self._start = start
        self._end = end
        self._key_index = table.columns.index(table.key)
        self._transaction = None
        self.deleted = 0
        self.inserted = 0
        self.replaced_elsewhere = 0
        self.kept = 0
        # Held rows by key: the ``Holding``'s columns (see ``held``), and the row's time.
        self._held: dict[object, tuple] = {}
        self._held_times: dict[object, datetime] = {}
        self.seconds = 0.0
        self.hours_changed: list[datetime] = []
        self._hours_left: set[datetime] = set()
        self._before = _HourMembership()
        self._after = _HourMembership()

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
        if self._holding is not None:
            self._hold(self._holding)
        # The window's records before the write, by hour, to tell at the end which hours gained
        # or lost records (a digest per hour: memory stays flat over a window of months).
        unheld = (
            sql.SQL("")
            if self._holding is None
            else sql.SQL(" AND ({}) IS NOT TRUE").format(sql.SQL(self._holding.where))
        )
        with self._conn.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {table} WHERE {col} >= %s AND {col} < %s{unheld}"
                    " RETURNING {key}, {col}"
                ).format(
                    table=self._table.qualified,
                    col=sql.Identifier(self._table.time_column),
                    key=sql.Identifier(self._table.key),
                    unheld=unheld,
                ),
                (self._start, self._end),
            )
            for key, moment in cursor:
                self._before.add(key, moment)
            self.deleted = cursor.rowcount
        self.seconds += time.perf_counter() - began
        return self

    def _hold(self, holding: Holding) -> None:
        query = sql.SQL(
            "SELECT {key}, {columns}, {col} FROM {table}"
            " WHERE {col} >= %s AND {col} < %s AND ({where}) IS TRUE"
        ).format(
            key=sql.Identifier(self._table.key),
            columns=sql.SQL(", ").join(map(sql.Identifier, holding.columns)),
            col=sql.Identifier(self._table.time_column),
            table=self._table.qualified,
            where=sql.SQL(holding.where),
        )
        for key, *values, moment in self._conn.execute(query, (self._start, self._end)):
            self._held[key] = tuple(values)
            self._held_times[key] = moment
            self._before.add(key, moment)

    @property
    def held(self) -> dict:
        """The held rows not yet kept or replaced: key → the ``Holding``'s columns, in order
        (a snapshot: what later writes replace stays in it)."""
        return dict(self._held)

    def keep(self, keys) -> None:
        """Keep these held rows as they are stored (keys that are not held are ignored)."""
        for key in keys:
            if self._held.pop(key, None) is not None:
                self._after.add(key, self._held_times.pop(key))
                self.kept += 1

    def write(self, rows: Sequence[Sequence]) -> None:
        """Add rows (each row's time must lie in the window; keys unique within the window)."""
        if not rows:
            return
        began = time.perf_counter()
        keys = [row[self._key_index] for row in rows]
        # A record already stored under another time (a queued call that started later, or one
        # listed twice by the API) is replaced, so each record lives in exactly one window.
        left = self._conn.execute(
            sql.SQL("DELETE FROM {} WHERE {key} = ANY(%s) RETURNING {key}, {col}").format(
                self._table.qualified,
                key=sql.Identifier(self._table.key),
                col=sql.Identifier(self._table.time_column),
            ),
            (keys,),
        ).fetchall()
        for key, moment in left:
            if self._held.pop(key, None) is not None:
                del self._held_times[key]
                self.deleted += 1  # a held row of the window, replaced by its fetched record
            elif self._start <= moment < self._end:
                self.replaced_elsewhere += 1
                self._after.remove(key, moment)  # written earlier by this very writer
            else:
                self.replaced_elsewhere += 1
                self._hours_left.add(utc_hour(moment))
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            self._table.qualified, sql.SQL(", ").join(map(sql.Identifier, self._table.columns))
        )
        time_index = self._table.columns.index(self._table.time_column)
        with self._conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
                self._after.add(row[self._key_index], row[time_index])
        self.inserted += len(rows)
        self.seconds += time.perf_counter() - began

    def __exit__(self, exc_type, exc, tb) -> None:
        began = time.perf_counter()
        try:
            if exc_type is None:
                self.drop_unkept()
                self.hours_changed = sorted(self._hours_left | self._before.differs(self._after))
            self._transaction.__exit__(exc_type, exc, tb)
        finally:
            self.seconds += time.perf_counter() - began

    def drop_unkept(self) -> None:
        """Delete the held rows neither kept nor replaced: their records are gone from the
        source. Done on a successful exit anyway; call it first to read the window as written."""
        if not self._held:
            return
        self._conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                self._table.qualified, sql.Identifier(self._table.key)
            ),
            (list(self._held),),
        )
        self.deleted += len(self._held)
        self._held.clear()
        self._held_times.clear()


class _HourMembership:
    """Which records each hour holds, as a count and a sum of key hashes per hour: two equal
    sets give equal digests; two different ones, equal digests with odds of 2^-64."""

    def __init__(self) -> None:
        self._hours: dict[datetime, tuple[int, int]] = {}

    def add(self, key, moment: datetime, sign: int = 1) -> None:
        hour = utc_hour(moment)
        count, total = self._hours.get(hour, (0, 0))
        self._hours[hour] = (count + sign, (total + sign * hash(key)) % 2**64)

    def remove(self, key, moment: datetime) -> None:
        self.add(key, moment, sign=-1)

    def differs(self, other: _HourMembership) -> set[datetime]:
        """The hours whose records are not the same in ``other``."""
        empty = (0, 0)
        return {
            hour
            for hour in self._hours.keys() | other._hours.keys()
            if self._hours.get(hour, empty) != other._hours.get(hour, empty)
        }


def utc_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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
