"""DDL of the raw layer (and of the attribution objects built on it), and the guard that keeps
sandbox and live data apart."""

from __future__ import annotations

import hashlib
from importlib import resources

import psycopg

from simbiosia_pipeline.settings import ConfigurationError, SourceMode

_SOURCE_MODE_KEY = "source_mode"
_DDL_DIGEST_KEY = "raw_ddl_sha256"


# Applied in this order: the raw tables (ingestion's), then what attribution builds on them.
MIGRATIONS = ("sql/raw.sql", "sql/attribution.sql")


def raw_ddl() -> str:
    """Every migration's statements, in order (one text: one digest, one transaction)."""
    package = resources.files("simbiosia_pipeline.warehouse")
    return "\n".join(package.joinpath(name).read_text() for name in MIGRATIONS)


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create the raw schema and tables if missing (idempotent; safe under concurrent runs).

    The DDL runs only when this version of it has not been applied yet (its digest is recorded
    in ``raw.warehouse_info``). Running it every time is not harmless: ``CREATE INDEX IF NOT
    EXISTS`` takes a SHARE lock on its table before it finds the index exists, so it waits for
    any open write to that table — a backfill's window transaction, minutes or hours — and
    every run that starts meanwhile (the other raw asset, the hourly run) waits behind it.
    """
    ddl = raw_ddl()
    digest = hashlib.sha256(ddl.encode()).hexdigest()
    if _applied_ddl_digest(conn) == digest:
        return
    with conn.transaction():
        # Serialise concurrent first-time creation: CREATE ... IF NOT EXISTS still races in
        # PostgreSQL when two sessions create the same object at once.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('simbiosia.raw_ddl'))")
        conn.execute(ddl)
        conn.execute(
            "INSERT INTO raw.warehouse_info (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            (_DDL_DIGEST_KEY, digest),
        )


def _applied_ddl_digest(conn: psycopg.Connection) -> str | None:
    with conn.transaction():
        if conn.execute("SELECT to_regclass('raw.warehouse_info')").fetchone()[0] is None:
            return None
        row = conn.execute(
            "SELECT value FROM raw.warehouse_info WHERE key = %s", (_DDL_DIGEST_KEY,)
        ).fetchone()
    return row[0] if row else None


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
            f"mix them. Point SIMBIOSIA_DATABASE_URL at another database, or, if its {recorded} "
            f"data may be discarded, drop and recreate this one (the embedded warehouse: "
            f"`simbiosia db stop`, then delete SIMBIOSIA_HOME's `pgdata` folder)."
        )
