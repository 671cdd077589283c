"""DDL of the raw layer and the guard that keeps sandbox and live data apart."""

from __future__ import annotations

from importlib import resources

import psycopg

from simbiosia_pipeline.settings import ConfigurationError, SourceMode

_SOURCE_MODE_KEY = "source_mode"


def raw_ddl() -> str:
    return resources.files("simbiosia_pipeline.warehouse").joinpath("sql/raw.sql").read_text()


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create the raw schema and tables if missing (idempotent; safe under concurrent runs)."""
    with conn.transaction():
        # Serialise concurrent first-time creation: CREATE ... IF NOT EXISTS still races in
        # PostgreSQL when two sessions create the same object at once.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('simbiosia.raw_ddl'))")
        conn.execute(raw_ddl())


def claim_source_mode(conn: psycopg.Connection, mode: SourceMode) -> None:
    """Record which source writes this warehouse; refuse to mix sandbox and live data."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO raw.warehouse_info (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (_SOURCE_MODE_KEY, mode.value),
        )
        (recorded,) = conn.execute(
            "SELECT value FROM raw.warehouse_info WHERE key = %s", (_SOURCE_MODE_KEY,)
        ).fetchone()
    if recorded != mode.value:
        raise ConfigurationError(
            f"this warehouse holds {recorded} data and SIMBIOSIA_SOURCE={mode.value}: refusing to "
            f"mix them. Point SIMBIOSIA_DATABASE_URL at another database, or reset this one "
            f"(`simbiosia db reset`) if its {recorded} data may be discarded."
        )


def recorded_source_mode(conn: psycopg.Connection) -> SourceMode | None:
    row = conn.execute(
        "SELECT value FROM raw.warehouse_info WHERE key = %s", (_SOURCE_MODE_KEY,)
    ).fetchone()
    return SourceMode(row[0]) if row else None
