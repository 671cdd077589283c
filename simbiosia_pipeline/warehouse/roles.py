"""The dashboard's read-only warehouse role (``sql/dashboard_role.sql``)."""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from simbiosia_pipeline.settings import ConfigurationError

SNAPSHOT_TABLES = ("public.twilio_snapshots", "public.elevenlabs_snapshots")


def dashboard_role_sql() -> str:
    return (
        resources.files("simbiosia_pipeline.warehouse")
        .joinpath("sql/dashboard_role.sql")
        .read_text()
    )


def grant_dashboard_role(conn: psycopg.Connection, role: str) -> bool:
    """Make ``role`` able to read the snapshot tables and nothing else; create it (LOGIN, no
    password) if it does not exist. Returns whether it was created. One transaction."""
    missing = [
        table
        for table in SNAPSHOT_TABLES
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None
    ]
    if missing:
        raise ConfigurationError(
            f"{', '.join(missing)} do(es) not exist yet: build the snapshots first "
            "(`simbiosia run`, or a backfill), then grant the dashboard role"
        )
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        database = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(
            sql.SQL(dashboard_role_sql()).format(
                role=sql.Identifier(role), database=sql.Identifier(database)
            )
        )
    return not exists
