"""A warehouse created by an earlier version of the raw DDL is brought up to date in place."""

from __future__ import annotations

import psycopg

from simbiosia_pipeline.warehouse.schema import ensure_raw_schema

NEW_COLUMNS = {
    "cost_fiat",
    "platform_charge",
    "platform_price",
    "voice_surcharge_charge",
    "analysis_charge",
    "analysis_price",
}


def test_an_older_raw_schema_gains_the_new_columns_and_pending_indexes(fresh_database_url):
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        ensure_raw_schema(conn)
        # What the previous version left: no charge columns, the old partial indexes.
        for column in NEW_COLUMNS:
            conn.execute(f"ALTER TABLE raw.elevenlabs_conversations DROP COLUMN {column}")
        conn.execute("DROP INDEX raw.twilio_calls_cost_pending_idx")
        conn.execute(
            "CREATE INDEX twilio_calls_unpriced_idx ON raw.twilio_calls (event_time)"
            " WHERE price IS NULL"
        )
        conn.execute("UPDATE raw.warehouse_info SET value = 'old' WHERE key = 'raw_ddl_sha256'")

        ensure_raw_schema(conn)

        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'raw' AND table_name = 'elevenlabs_conversations'"
            )
        }
        indexes = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes")}
    assert columns >= NEW_COLUMNS
    assert "twilio_calls_cost_pending_idx" in indexes
    assert "twilio_calls_unpriced_idx" not in indexes
