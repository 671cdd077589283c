"""The record of which hours a raw table holds as ingested (``raw.loaded_hours``).

Records alone cannot tell a quiet hour from an hour never fetched: both have no rows. The raw
assets therefore mark their window's hours as loaded inside the transaction that replaces the
window, so the mark and the rows commit together or not at all. Marking again only moves
``loaded_at``: idempotent like the window replace itself.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from simbiosia_pipeline.warehouse.writer import RawTable

_MARK = """
INSERT INTO raw.loaded_hours (source_table, hour, loaded_at)
SELECT %(table)s, hour, now()
  FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour',
                       interval '1 hour') AS hour
    ON CONFLICT (source_table, hour) DO UPDATE SET loaded_at = excluded.loaded_at
"""


def mark_hours_loaded(
    conn: psycopg.Connection, table: RawTable, start: datetime, end: datetime
) -> None:
    """Record every UTC hour of ``[start, end)`` (whole hours) as loaded into ``table``.

    Call it inside the window's transaction (``WindowWriter``), after the rows are written.
    """
    conn.execute(_MARK, {"table": table.lock_name, "start": start, "end": end})


def loaded_hours(conn: psycopg.Connection, table: RawTable) -> list[datetime]:
    """The hours recorded as loaded into ``table``, ascending."""
    rows = conn.execute(
        "SELECT hour FROM raw.loaded_hours WHERE source_table = %s ORDER BY hour",
        (table.lock_name,),
    ).fetchall()
    return [hour for (hour,) in rows]
