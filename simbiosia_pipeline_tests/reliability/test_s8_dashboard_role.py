"""Scenario 8: the dashboard's warehouse role reads the snapshot tables and nothing else.

A warehouse is filled the usual way (raw assets, directory, hourly models), then
``simbiosia db grant-dashboard-role NAME`` creates the role. Connected as that role:

* both snapshot tables read, and what they say equals the ground truth;
* every other relation the pipeline keeps — raw records, staging, the workspace directory —
  is refused (the cost views, views over staging, alike; they are not built here); so are
  INSERT, UPDATE, DELETE and TRUNCATE on the snapshots (even after switching the session's
  read-only default off), CREATE in any schema, and the raw schema's function;
* an hourly rebuild of the snapshots (dbt replaces rows, not tables) keeps the grant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline_tests.local_servers import ADMIN_URL
from simbiosia_pipeline_tests.reliability.truth import (
    load_directory_asset,
    materialize_window,
    verify_against_truth,
)

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 8, tzinfo=UTC), datetime(2025, 10, 8, 14, tzinfo=UTC)
SNAPSHOTS = ("public.twilio_snapshots", "public.elevenlabs_snapshots")
BIN = Path(sys.executable).parent


def as_role(database_url: str, role: str) -> str:
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


@pytest.fixture
def dashboard_role(warehouse_env):
    role = f"dashboard_{uuid.uuid4().hex[:8]}"
    yield role
    with psycopg.connect(warehouse_env, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def relations_besides_the_snapshots(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('public', 'raw', 'staging') AND c.relkind IN ('r', 'v', 'p')
                ORDER BY 1"""
        ).fetchall()
    return [name for (name,) in rows if name not in SNAPSHOTS]


def refused(conn: psycopg.Connection, statement: str) -> bool:
    try:
        conn.execute(statement)
    except (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction):
        conn.rollback()
        return True
    conn.rollback()
    return False


def snapshot_contents(conn: psycopg.Connection) -> list[list[tuple]]:
    return [conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in SNAPSHOTS]


def test_the_dashboard_role_reads_the_snapshots_and_nothing_else(
    warehouse_env, dashboard_role, instance
):
    sandbox = Sandbox(SandboxConfig(seed=83, scale=0.5, now=NOW))
    with start_sandbox_server(sandbox) as server:
        load_directory_asset(instance)
        materialize_window(server.url, START, END, instance=instance)
    granted = subprocess.run(
        [str(BIN / "simbiosia"), "db", "grant-dashboard-role", dashboard_role],
        env={**os.environ, "SIMBIOSIA_DATABASE_URL": warehouse_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert granted.returncode == 0, granted.stderr
    assert "created" in granted.stdout

    others = relations_besides_the_snapshots(warehouse_env)
    assert {"raw.twilio_calls", "staging.stg_twilio_calls", "public.workspace_phones"} <= set(
        others
    )
    with psycopg.connect(as_role(warehouse_env, dashboard_role)) as dashboard:
        assert all(conn_reads(dashboard, table) for table in SNAPSHOTS)
        readable = [table for table in others if not refused(dashboard, f"SELECT 1 FROM {table}")]
        assert readable == []
        dashboard.execute("SET default_transaction_read_only = off")
        dashboard.commit()
        for table in SNAPSHOTS:
            for write in (
                f"INSERT INTO {table} (id) VALUES (-1)",
                f"UPDATE {table} SET total_cost = 0",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
            ):
                assert refused(dashboard, write), write
        for schema in ("public", "raw", "staging"):
            assert refused(dashboard, f"CREATE TABLE {schema}.dashboard_was_here (x int)")
        assert refused(dashboard, "SELECT raw.normalize_e164('+34930340228')")
        seen_by_the_dashboard = snapshot_contents(dashboard)

    # An hourly rebuild replaces the rows, and the role still reads them.
    materialize_window("", START, END, instance=instance, raw=False)
    with psycopg.connect(as_role(warehouse_env, dashboard_role)) as dashboard:
        assert all(conn_reads(dashboard, table) for table in SNAPSHOTS)
    with psycopg.connect(warehouse_env) as owner:
        assert [[row[:-1] for row in rows] for rows in snapshot_contents(owner)] == [
            [row[:-1] for row in rows] for rows in seen_by_the_dashboard
        ]  # the same snapshots (created_at aside): what the dashboard reads is the truth below

    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S8 read-only dashboard role",
        faults=f"{len(others)} other relations, 4 kinds of write, CREATE in 3 schemas: all refused",
        retries="none",
    )


def conn_reads(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
