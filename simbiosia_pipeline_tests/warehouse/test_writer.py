"""The window writer: exact replacement, atomicity, moved records, day locks, the source-mode
guard."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from simbiosia_pipeline.settings import ConfigurationError, SourceMode
from simbiosia_pipeline.utc import EPOCH
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
from simbiosia_pipeline.warehouse.writer import (
    Holding,
    RawTable,
    WindowWriter,
    replace_window,
    window_days,
)

T0 = datetime(2025, 10, 1, tzinfo=UTC)
EVENTS = RawTable(
    schema="public", name="events", key="id", time_column="at", columns=("id", "at", "amount")
)


@pytest.fixture
def conn(fresh_database_url):
    with connect(fresh_database_url) as conn:
        conn.execute("CREATE TABLE events (id text PRIMARY KEY, at timestamptz, amount numeric)")
        conn.commit()
        yield conn


def rows_of(conn):
    return conn.execute("SELECT id, at, amount FROM events ORDER BY id").fetchall()


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def test_replaces_exactly_the_window(conn):
    replace_window(conn, EVENTS, hour(0), hour(3), [("a", hour(0), 1), ("b", hour(2), 2)])
    replace_window(conn, EVENTS, hour(3), hour(4), [("c", hour(3), 3)])
    replace_window(conn, EVENTS, hour(0), hour(3), [("b", hour(2), 5)])
    assert [(row[0], row[2]) for row in rows_of(conn)] == [("b", 5), ("c", 3)]


def test_rewriting_the_same_rows_is_idempotent(conn):
    batch = [("a", hour(0), 1), ("b", hour(1), 2)]
    replace_window(conn, EVENTS, hour(0), hour(2), batch)
    first = rows_of(conn)
    replace_window(conn, EVENTS, hour(0), hour(2), batch)
    assert rows_of(conn) == first


def test_a_failure_leaves_the_table_as_it_was(conn):
    replace_window(conn, EVENTS, hour(0), hour(2), [("a", hour(0), 1)])
    before = rows_of(conn)
    with pytest.raises(RuntimeError), WindowWriter(conn, EVENTS, hour(0), hour(2)) as writer:
        writer.write([("z", hour(1), 9)])
        raise RuntimeError("the API died half-way")
    assert rows_of(conn) == before


def test_a_record_that_moved_windows_lives_in_one_window_only(conn):
    replace_window(conn, EVENTS, hour(0), hour(1), [("queued", hour(0), 0)])
    replace_window(conn, EVENTS, hour(1), hour(2), [("queued", hour(1), 7)])
    assert [(row[0], row[1], row[2]) for row in rows_of(conn)] == [("queued", hour(1), 7)]


def test_the_hours_whose_records_arrived_or_left_are_reported(conn):
    first = replace_window(conn, EVENTS, hour(0), hour(3), [("a", hour(0), 1), ("q", hour(1), 0)])
    assert first.hours_changed == [hour(0), hour(1)]  # both arrived
    # q left hour 1 for hour 3, outside this write's window; b arrived in hour 3
    moved = replace_window(conn, EVENTS, hour(3), hour(4), [("q", hour(3), 7), ("b", hour(3), 2)])
    assert moved.hours_changed == [hour(1), hour(3)]
    assert moved.records_added == 1
    # a price landing changes no membership; a rerun neither
    repriced = replace_window(conn, EVENTS, hour(0), hour(3), [("a", hour(0), 5)])
    assert repriced.hours_changed == []
    # a record that vanished from its hour is a change of that hour
    vanished = replace_window(conn, EVENTS, hour(0), hour(3), [])
    assert vanished.hours_changed == [hour(0)]


# Rows with an amount are "final": a write holds them instead of deleting them.
FINAL = Holding(where="amount IS NOT NULL", columns=("amount",))


def test_held_rows_are_kept_replaced_or_dropped_in_one_write(conn):
    replace_window(
        conn,
        EVENTS,
        hour(0),
        hour(3),
        [
            ("kept", hour(0), 1),
            ("replaced", hour(1), 2),
            ("gone", hour(2), 3),
            ("open", hour(2), None),
        ],
    )
    with WindowWriter(conn, EVENTS, hour(0), hour(3), FINAL) as writer:
        assert writer.held == {"kept": (1,), "replaced": (2,), "gone": (3,)}  # "open" deleted
        writer.write([("replaced", hour(1), 5), ("open", hour(2), 6), ("new", hour(1), 7)])
        writer.keep(["kept", "unknown"])
        assert writer.held == {"gone": (3,)}
    assert [(row[0], row[2]) for row in rows_of(conn)] == [
        ("kept", 1),
        ("new", 7),
        ("open", 6),
        ("replaced", 5),
    ]
    assert (writer.kept, writer.inserted, writer.deleted) == (1, 3, 3)
    assert writer.records_added == 0
    assert writer.hours_changed == [hour(1), hour(2)]  # "new" arrived, "gone" left


def test_a_failure_leaves_held_rows_as_they_were(conn):
    replace_window(conn, EVENTS, hour(0), hour(2), [("a", hour(0), 1), ("b", hour(1), None)])
    before = rows_of(conn)
    with pytest.raises(RuntimeError), WindowWriter(conn, EVENTS, hour(0), hour(2), FINAL) as w:
        w.write([("a", hour(0), 9)])
        raise RuntimeError("the API died half-way")
    assert rows_of(conn) == before


def test_the_hours_are_utc_whatever_the_session_time_zone(conn):
    conn.execute("SET TIME ZONE 'Asia/Kolkata'")  # +05:30: date_trunc alone would cut at :30
    written = replace_window(
        conn, EVENTS, hour(0), hour(2), [("a", hour(1) + timedelta(minutes=45), 1)]
    )
    assert written.hours_changed == [hour(1)]


def test_window_days_are_the_utc_days_a_window_touches():
    day = (T0 - EPOCH).days
    assert window_days(hour(0), hour(1)) == [day]
    assert window_days(hour(0), hour(24)) == [day]
    assert window_days(hour(23), hour(25)) == [day, day + 1]
    assert window_days(hour(-1), hour(48)) == [day - 1, day, day + 1]


@pytest.mark.parametrize(
    ("other", "waits"),
    [((hour(23), hour(24)), True), ((hour(20), hour(30)), True), ((hour(24), hour(25)), False)],
    ids=["same day", "overlapping days", "the next day"],
)
def test_a_write_waits_only_for_open_writes_of_its_days(fresh_database_url, conn, other, waits):
    """Two writers of one day would race between DELETE and COPY; other days go ahead."""
    finished = threading.Event()

    def write_other() -> None:
        with connect(fresh_database_url) as other_conn:
            replace_window(other_conn, EVENTS, *other, [("other", other[0], 1)])
        finished.set()

    with WindowWriter(conn, EVENTS, hour(0), hour(24)) as writer:
        writer.write([("held", hour(1), 1)])
        worker = threading.Thread(target=write_other)
        worker.start()
        assert finished.wait(timeout=1 if waits else 10) is not waits
    worker.join(timeout=10)
    assert finished.is_set()
    assert sorted(row[0] for row in rows_of(conn)) == ["held", "other"]


def test_batches_stream_into_one_transaction(conn):
    with WindowWriter(conn, EVENTS, hour(0), hour(24)) as writer:
        writer.write([("a", hour(0), 1)])
        writer.write([("b", hour(5), 2)])
    assert (writer.inserted, [row[0] for row in rows_of(conn)]) == (2, ["a", "b"])


def test_sandbox_and_live_data_are_never_mixed(fresh_database_url):
    with connect(fresh_database_url) as conn:
        ensure_raw_schema(conn)
        claim_source_mode(conn, SourceMode.SANDBOX)
        claim_source_mode(conn, SourceMode.SANDBOX)
        with pytest.raises(ConfigurationError, match="refusing to mix"):
            claim_source_mode(conn, SourceMode.LIVE)
