"""``load_vs_copy``: rows per second of the raw window writer against a plain ``COPY``.

The rows are the workload's own (every Twilio call and ElevenLabs conversation of the window,
parsed as the assets parse them). The writer replaces the window in one transaction — advisory
lock, delete of the window, delete of the batch's keys stored elsewhere, ``COPY`` — fed in the
batches the fetchers hand it, into the real raw tables (primary keys, indexes), over a window
that already holds the same rows (a re-run: the delete has all of them to remove). The baseline
is one plain ``COPY`` of the same rows into empty tables of the same columns, no indexes.
Writer first-load figures (empty window) are in the details.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from psycopg import sql

from benchmarks.infra import median, scratch_database
from benchmarks.report import Result
from simbiosia_pipeline.settings import SourceMode
from simbiosia_pipeline.sources.records import conversation_row, twilio_row
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
from simbiosia_pipeline.warehouse.writer import WindowWriter

BATCH = 500  # what the ElevenLabs fetcher hands the writer; a Twilio day is ~650 calls


def run(bench) -> list[Result]:
    w = bench.workload
    ingested_at = datetime.now(UTC)
    sandbox = bench.served
    tables = [
        (TWILIO_CALLS, [twilio_row(c, ingested_at) for c in sandbox.twilio_calls(w.start, w.end)]),
        (
            ELEVENLABS_CONVERSATIONS,
            [
                conversation_row(d, ingested_at, store_transcripts=False)
                for d in sandbox.conversations(w.start, w.end)
            ],
        ),
    ]
    rows = sum(len(r) for _, r in tables)
    ratios, details = [], []
    with scratch_database() as url, connect(url) as conn:
        ensure_raw_schema(conn)
        claim_source_mode(conn, SourceMode.SANDBOX)
        conn.commit()
        for repetition in range(w.repeats):
            copy_s = _plain_copy(conn, tables)
            first_s = _writer(conn, tables, w)  # empty window (the previous repetition's rows
            rerun_s = _writer(conn, tables, w)  # were truncated) then the same rows again
            ratio = copy_s / rerun_s
            ratios.append(ratio)
            details.append(
                {
                    "copy_rows_per_s": round(rows / copy_s),
                    "writer_first_load_rows_per_s": round(rows / first_s),
                    "writer_rerun_rows_per_s": round(rows / rerun_s),
                }
            )
            bench.log(
                f"load #{repetition + 1}: COPY {rows / copy_s:,.0f} rows/s, writer "
                f"{rows / first_s:,.0f} rows/s (empty window), {rows / rerun_s:,.0f} rows/s "
                f"(re-run) → {ratio:.2f}"
            )
            for table, _ in tables:
                conn.execute(sql.SQL("TRUNCATE {}").format(table.qualified))
            conn.commit()
    return [
        Result.judged(
            "load_vs_copy", median(ratios), "x COPY", ">=", 0.5, rows=rows, repetitions=details
        )
    ]


def _plain_copy(conn, tables) -> float:
    for table, _ in tables:
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {})").format(
                sql.Identifier("plain_" + table.name), table.qualified
            )
        )
    conn.commit()
    began = time.perf_counter()
    with conn.transaction():
        for table, rows in tables:
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier("plain_" + table.name),
                sql.SQL(", ").join(map(sql.Identifier, table.columns)),
            )
            with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
    seconds = time.perf_counter() - began
    for table, _ in tables:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier("plain_" + table.name)))
    conn.commit()
    return seconds


def _writer(conn, tables, w) -> float:
    began = time.perf_counter()
    for table, rows in tables:
        with WindowWriter(conn, table, w.start, w.end) as writer:
            for start in range(0, len(rows), BATCH):
                writer.write(rows[start : start + BATCH])
    return time.perf_counter() - began
