"""Scenario 8: the dashboard's warehouse role reads what the backoffice reads and nothing else.

A warehouse is filled the usual way (raw assets, directory, hourly models, cost views), then
``simbiosia db grant-dashboard-role NAME`` creates the role. Connected as that role:

* the relations the backoffice reads (``DASHBOARD_READS``) read, and the snapshots equal the
  ground truth;
* every other relation the pipeline keeps — raw records, staging, the agents, the daily-cost
  view — is refused; so are INSERT, UPDATE, DELETE and TRUNCATE, CREATE in any schema, the raw
  schema's function and creating large objects, all with the session's read-only default switched
  off (the role can switch it: PostgreSQL has no way to forbid it, so the privileges must hold);
* an hourly rebuild of the snapshots (dbt replaces rows, not tables) and a rebuild of the views
  (recreated: their post-hook grants them again) keep the grant.

The command also refuses roles that could do more — the pipeline's own role, a superuser, an
owner — and takes back, saying so, what a reused role held beyond the grant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.roles import DASHBOARD_READS, DASHBOARD_READS_WHEN_BUILT
from simbiosia_pipeline_tests.reliability.truth import (
    load_directory_asset,
    materialize_window,
    pipeline_resources,
    verify_against_truth,
)
from simbiosia_testing.local_servers import ADMIN_URL

pytestmark = pytest.mark.slow  # a window ingested and built for the role to read

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 8, tzinfo=UTC), datetime(2025, 10, 8, 14, tzinfo=UTC)
SNAPSHOTS = ("public.twilio_snapshots", "public.elevenlabs_snapshots")
BIN = Path(sys.executable).parent
# Writes that need no table at all, refused all the same.
LARGE_OBJECT_WRITES = (
    "SELECT lo_create(0)",
    "SELECT lo_creat(-1)",
    "SELECT lo_from_bytea(0, 'x')",
)


def build_cost_views(instance) -> None:
    from simbiosia_pipeline.dbt.assets import cost_views

    dg.materialize([cost_views], resources=pipeline_resources(), instance=instance)


def grant(database_url: str, role: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "simbiosia"), "db", "grant-dashboard-role", role],
        env={**os.environ, "SIMBIOSIA_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def as_role(database_url: str, role: str) -> str:
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


@pytest.fixture
def dashboard_role(warehouse_env):
    role = f"dashboard_{uuid.uuid4().hex[:8]}"
    yield role
    drop_role(warehouse_env, role)


def drop_role(database_url: str, role: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_roles_that_could_do_more_are_refused(warehouse_env, dashboard_role):
    """The pipeline's own role, a superuser and an owner: refused before anything changes (no
    warehouse needs to be built for that)."""
    superuser, owner = f"{dashboard_role}_super", f"{dashboard_role}_owner"
    with psycopg.connect(warehouse_env, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {superuser} LOGIN SUPERUSER")
        conn.execute(f"CREATE ROLE {owner} LOGIN")
        conn.execute("CREATE TABLE public.owned_elsewhere (x int)")
        conn.execute(f"ALTER TABLE public.owned_elsewhere OWNER TO {owner}")
    try:
        for role, reason in (
            ("postgres", "the role this command runs as (the pipeline's own)"),
            (superuser, "is a superuser"),
            (owner, "owns 1 object(s) in this database (relation owned_elsewhere)"),
        ):
            refusal = grant(warehouse_env, role)
            assert refusal.returncode == 2, refusal.stdout
            assert reason in refusal.stderr, refusal.stderr
        with psycopg.connect(warehouse_env) as conn:
            assert conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (superuser,)
            ).fetchone() == (True,)  # refused: left as it was
    finally:
        drop_role(warehouse_env, superuser)
        drop_role(warehouse_env, owner)


def relations_besides_the_reads(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('public', 'raw', 'staging') AND c.relkind IN ('r', 'v', 'p')
                ORDER BY 1"""
        ).fetchall()
    return [name for (name,) in rows if name not in (*DASHBOARD_READS, *DASHBOARD_READS_WHEN_BUILT)]


def refused(conn: psycopg.Connection, statement: str) -> bool:
    """Whether ``statement`` fails for lack of a privilege, in a read-write transaction (the
    connection is in autocommit mode: the transaction is ours to open and end)."""
    conn.execute("BEGIN READ WRITE")
    try:
        conn.execute(statement)
    except errors.InsufficientPrivilege:
        return True
    finally:
        conn.execute("ROLLBACK")
    return False


def first_columns(database_url: str, relations) -> dict[str, str]:
    """The tables among ``relations`` (views cannot be written anyway) and a column of each."""
    with psycopg.connect(database_url) as conn:
        return {
            relation: conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum = 1",
                (relation,),
            ).fetchone()[0]
            for relation in relations
            if conn.execute(
                "SELECT relkind FROM pg_class WHERE oid = %s::regclass", (relation,)
            ).fetchone()[0]
            == "r"
        }


def snapshot_contents(conn: psycopg.Connection) -> list[list[dict]]:
    """Every snapshot row, without ``created_at`` (the time of the build, not of the data)."""
    cursor = conn.cursor(row_factory=dict_row)
    return [
        [
            {column: value for column, value in row.items() if column != "created_at"}
            for row in cursor.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        ]
        for table in SNAPSHOTS
    ]


def test_the_dashboard_role_reads_what_the_backoffice_reads_and_nothing_else(
    warehouse_env, dashboard_role, instance
):
    sandbox = Sandbox(SandboxConfig(seed=83, scale=0.5, now=NOW))
    with start_sandbox_server(sandbox) as server:
        load_directory_asset(instance)
        materialize_window(server.url, START, END, instance=instance)
    build_cost_views(instance)
    granted = grant(warehouse_env, dashboard_role)
    assert granted.returncode == 0, granted.stderr
    assert "created" in granted.stdout
    assert "revoked" not in granted.stdout  # a new role held nothing

    others = relations_besides_the_reads(warehouse_env)
    assert {
        "raw.twilio_calls",
        "staging.stg_twilio_calls",
        "public.workspace_agents",
        "public.workspace_daily_costs",
    } <= set(others)
    with psycopg.connect(as_role(warehouse_env, dashboard_role), autocommit=True) as dashboard:
        assert all(reads(dashboard, relation) for relation in DASHBOARD_READS)
        assert all(reads(dashboard, relation) for relation in DASHBOARD_READS_WHEN_BUILT)
        assert all(conn_reads(dashboard, table) for table in SNAPSHOTS)
        readable = [table for table in others if not refused(dashboard, f"SELECT 1 FROM {table}")]
        assert readable == []
        # Read-only by default; the role can switch that off, and nothing can be written still.
        assert dashboard.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        dashboard.execute("SET default_transaction_read_only = off")
        for table, column in first_columns(warehouse_env, DASHBOARD_READS).items():
            for write in (
                f"INSERT INTO {table} DEFAULT VALUES",
                f"UPDATE {table} SET {column} = {column}",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
            ):
                assert refused(dashboard, write), write
        for schema in ("public", "raw", "staging"):
            assert refused(dashboard, f"CREATE TABLE {schema}.dashboard_was_here (x int)")
        assert refused(dashboard, "SELECT raw.normalize_e164('+34930340228')")
        for write in LARGE_OBJECT_WRITES:
            assert refused(dashboard, write), write
        seen_by_the_dashboard = snapshot_contents(dashboard)

    # A role reused from elsewhere, holding more: everything beyond the grant is taken back.
    broad = f"{dashboard_role}_broad"
    with psycopg.connect(warehouse_env, autocommit=True) as owner:
        owner.execute(f"CREATE ROLE {broad} LOGIN CREATEDB")
        owner.execute(f"GRANT pg_read_all_data TO {broad}")
        owner.execute(f"GRANT INSERT, SELECT ON raw.twilio_calls TO {broad}")
        owner.execute(f"GRANT CREATE ON SCHEMA raw TO {broad}")
        owner.execute(f"GRANT UPDATE ON public.twilio_snapshots TO {broad}")
    try:
        regranted = grant(warehouse_env, broad)
        assert regranted.returncode == 0, regranted.stderr
        for said in (
            "revoked membership in pg_read_all_data",
            "revoked attribute CREATEDB",
            "revoked INSERT, SELECT on table raw.twilio_calls",
            "revoked CREATE on schema raw",
            "revoked UPDATE on table twilio_snapshots",
        ):
            assert said in regranted.stdout, (said, regranted.stdout)
        with psycopg.connect(as_role(warehouse_env, broad), autocommit=True) as dashboard:
            assert all(reads(dashboard, relation) for relation in DASHBOARD_READS)
            assert refused(dashboard, "SELECT 1 FROM raw.twilio_calls")
            assert refused(dashboard, "UPDATE public.twilio_snapshots SET total_cost = 0")
            assert refused(dashboard, "CREATE TABLE raw.dashboard_was_here (x int)")
    finally:
        drop_role(warehouse_env, broad)

    # An hourly rebuild replaces the rows, a views rebuild recreates the views: both still read.
    materialize_window("", START, END, instance=instance, raw=False)
    build_cost_views(instance)
    with psycopg.connect(as_role(warehouse_env, dashboard_role)) as dashboard:
        assert all(reads(dashboard, relation) for relation in DASHBOARD_READS)
        assert all(conn_reads(dashboard, table) for table in SNAPSHOTS)
    with psycopg.connect(warehouse_env) as owner:
        # The same snapshots (created_at aside): what the dashboard reads is the truth below.
        assert snapshot_contents(owner) == seen_by_the_dashboard

    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S8 read-only dashboard role",
        faults=(
            f"{len(others)} other relations, 4 kinds of write, CREATE in 3 schemas, "
            f"{len(LARGE_OBJECT_WRITES)} large-object writes: all refused, read-only switched off"
        ),
        retries="none",
    )


def conn_reads(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0


def reads(conn: psycopg.Connection, relation: str) -> bool:
    conn.execute(f"SELECT * FROM {relation} LIMIT 1").fetchall()
    return True
