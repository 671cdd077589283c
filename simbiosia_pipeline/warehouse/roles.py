"""The dashboard's read-only warehouse role (``sql/dashboard_role.sql``).

``grant_dashboard_role`` gives a role exactly what the backoffice reads, and first makes sure the
role can do nothing more:

* it refuses the pipeline's own role (the one granting), a superuser, and a role that owns
  anything in the database (an owner can always write what it owns);
* it takes back, and says so, everything else the role held: memberships in other roles (the
  predefined ``pg_read_all_data``, ``pg_write_all_data``… included), the attributes CREATEDB,
  CREATEROLE, REPLICATION and BYPASSRLS, and every privilege on the database, its schemas, its
  tables, views, sequences and functions;
* it takes the large-object functions away from PUBLIC (creating a large object needs no
  privilege at all, only a read-write transaction, which any session can start).

Its sessions default to read-only, but PostgreSQL lets any role switch that off for itself
(``default_transaction_read_only`` is a user setting, and ``BEGIN READ WRITE`` overrides it):
what holds are the privileges. ``test_s8_dashboard_role.py`` checks it with read-only switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import psycopg
from psycopg import errors, sql

from simbiosia_pipeline.settings import ConfigurationError

# What the backoffice reads (simbiosia_pipeline/backoffice/queries.py) and nothing more.
DASHBOARD_READS = (
    "public.twilio_snapshots",
    "public.elevenlabs_snapshots",
    "public.call_costs",
    "public.twilio_direction_hours",
    "public.elevenlabs_llm_usage_hours",
    "public.unattributed_number_hours",
    "public.workspaces",
    "public.workspace_phones",
    "public.workspace_budgets",
    "public.elevenlabs_credit_rates",
)
DASHBOARD_READS_WHEN_BUILT = ("public.billing_reconciliation", "public.daily_completeness")
# Creating a large object is a write no table privilege governs.
LARGE_OBJECT_FUNCTIONS = (
    "lo_creat(integer)",
    "lo_create(oid)",
    "lo_from_bytea(oid, bytea)",
    "lo_import(text)",
    "lo_import(text, oid)",
)
ATTRIBUTES = {
    "rolcreatedb": "NOCREATEDB",
    "rolcreaterole": "NOCREATEROLE",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
}

_OWNED = """
SELECT kind || ' ' || name FROM (
    SELECT 'database' AS kind, datname::text AS name FROM pg_database
     WHERE datdba = %(role)s::regrole AND datname = current_database()
    UNION ALL SELECT 'schema', nspname::text FROM pg_namespace WHERE nspowner = %(role)s::regrole
    UNION ALL SELECT 'relation', oid::regclass::text FROM pg_class
     WHERE relowner = %(role)s::regrole
    UNION ALL SELECT 'function', oid::regprocedure::text FROM pg_proc
     WHERE proowner = %(role)s::regrole
    UNION ALL SELECT 'large object', oid::text FROM pg_largeobject_metadata
     WHERE lomowner = %(role)s::regrole
) AS owned ORDER BY 1
"""

# Every object whose ACL names the role, with the privileges it holds there.
_GRANTED = """
SELECT kind, name, string_agg(DISTINCT privilege, ', ' ORDER BY privilege) FROM (
    SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
           c.oid::regclass::text AS name, acl.privilege_type AS privilege
      FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
     WHERE acl.grantee = %(role)s::regrole
    UNION ALL
    SELECT 'TABLE', c.oid::regclass::text, 'column ' || a.attname || ' ' || acl.privilege_type
      FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
     CROSS JOIN LATERAL aclexplode(a.attacl) AS acl
     WHERE acl.grantee = %(role)s::regrole
    UNION ALL
    SELECT 'SCHEMA', quote_ident(n.nspname), acl.privilege_type
      FROM pg_namespace AS n CROSS JOIN LATERAL aclexplode(n.nspacl) AS acl
     WHERE acl.grantee = %(role)s::regrole
    UNION ALL
    SELECT 'ROUTINE', p.oid::regprocedure::text, acl.privilege_type
      FROM pg_proc AS p CROSS JOIN LATERAL aclexplode(p.proacl) AS acl
     WHERE acl.grantee = %(role)s::regrole AND p.prokind <> 'p'
    UNION ALL
    SELECT 'DATABASE', quote_ident(d.datname), acl.privilege_type
      FROM pg_database AS d CROSS JOIN LATERAL aclexplode(d.datacl) AS acl
     WHERE acl.grantee = %(role)s::regrole AND d.datname = current_database()
) AS granted GROUP BY 1, 2 ORDER BY 1, 2
"""


@dataclass
class GrantReport:
    created: bool
    relations: tuple[str, ...]
    revoked: list[str] = field(default_factory=list)  # what the role held before, now taken back
    warnings: list[str] = field(default_factory=list)


def dashboard_role_sql() -> str:
    return (
        resources.files("simbiosia_pipeline.warehouse")
        .joinpath("sql/dashboard_role.sql")
        .read_text()
    )


def grant_dashboard_role(conn: psycopg.Connection, role: str) -> GrantReport:
    """Make ``role`` able to read what the backoffice reads and nothing else; create it (LOGIN,
    no password) if it does not exist. One transaction: on a refusal nothing has changed."""
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            _refuse_broader_roles(conn, role)
        relations = _relations_to_grant(conn)
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        report = GrantReport(created=not exists, relations=relations)
        _take_back_everything(conn, role, report)
        _take_away_large_objects(conn, report)
        database = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(
            sql.SQL(dashboard_role_sql()).format(
                role=sql.Identifier(role),
                database=sql.Identifier(database),
                relations=sql.SQL(", ").join(
                    sql.Identifier(*name.split(".")) for name in relations
                ),
            )
        )
    return report


def _relations_to_grant(conn: psycopg.Connection) -> tuple[str, ...]:
    def exists(name: str) -> bool:
        return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None

    missing = [name for name in DASHBOARD_READS if not exists(name)]
    if missing:
        raise ConfigurationError(
            f"{', '.join(missing)} do(es) not exist yet: build the marts first "
            "(`simbiosia run`, or a backfill), then grant the dashboard role"
        )
    return DASHBOARD_READS + tuple(name for name in DASHBOARD_READS_WHEN_BUILT if exists(name))


def _refuse_broader_roles(conn: psycopg.Connection, role: str) -> None:
    current = conn.execute("SELECT current_user").fetchone()[0]
    if role == current:
        raise ConfigurationError(
            f"{role} is the role this command runs as (the pipeline's own): the dashboard needs "
            "a role of its own"
        )
    (superuser,) = conn.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if superuser:
        raise ConfigurationError(f"{role} is a superuser: it can read and write everything")
    if conn.execute("SELECT pg_has_role(%s, %s, 'USAGE')", (role, current)).fetchone()[0] and (
        conn.execute(
            "SELECT 1 FROM pg_auth_members WHERE member = %s::regrole AND roleid = %s::regrole",
            (role, current),
        ).fetchone()
        is None
    ):
        raise ConfigurationError(
            f"{role} acts with the privileges of {current} through a chain of roles: "
            "grant the dashboard a role of its own"
        )
    owned = [row[0] for row in conn.execute(_OWNED, {"role": role})]
    if owned:
        raise ConfigurationError(
            f"{role} owns {len(owned)} object(s) in this database ({', '.join(owned[:5])}"
            f"{', …' if len(owned) > 5 else ''}): an owner can write what it owns; "
            "grant the dashboard a role of its own"
        )


def _take_back_everything(conn: psycopg.Connection, role: str, report: GrantReport) -> None:
    """Everything the role holds beyond a bare login, revoked and listed in ``report``."""
    target = sql.Identifier(role)
    for (granted,) in conn.execute(
        "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = %s::regrole ORDER BY 1",
        (role,),
    ).fetchall():
        _revoke(
            conn,
            sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), target),
            f"membership in {granted}",
            report,
        )
    attributes = conn.execute(
        f"SELECT {', '.join(ATTRIBUTES)} FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    for (attribute, revoked), held in zip(ATTRIBUTES.items(), attributes, strict=True):
        if held:
            _revoke(
                conn,
                sql.SQL("ALTER ROLE {} " + revoked).format(target),
                f"attribute {attribute.removeprefix('rol').upper()}",
                report,
            )
    for kind, name, privileges in conn.execute(_GRANTED, {"role": role}).fetchall():
        statement = sql.SQL("REVOKE ALL ON {} {} FROM {}").format(
            sql.SQL(kind), sql.SQL(name), target
        )
        conn.execute(statement)  # names come quoted from the catalog (regclass, quote_ident)
        if not _is_what_we_grant(kind, name, privileges, report.relations):
            report.revoked.append(f"{privileges} on {kind.lower()} {name}")


def _is_what_we_grant(kind: str, name: str, privileges: str, relations: tuple[str, ...]) -> bool:
    granted = {("TABLE", relation.removeprefix("public."), "SELECT") for relation in relations} | {
        ("SCHEMA", "public", "USAGE")
    }
    return (kind, name, privileges) in granted or (kind == "DATABASE" and privileges == "CONNECT")


def _revoke(conn, statement, what: str, report: GrantReport) -> None:
    try:
        with conn.transaction():
            conn.execute(statement)
    except errors.InsufficientPrivilege:
        raise ConfigurationError(
            f"the role holds {what}, and this command may not take it back: revoke it as a "
            "superuser, or grant the dashboard a role of its own"
        ) from None
    report.revoked.append(what)


def _take_away_large_objects(conn: psycopg.Connection, report: GrantReport) -> None:
    """Only their owner (the bootstrap superuser) may revoke them; anyone else gets a warning."""
    try:
        with conn.transaction():
            for function in LARGE_OBJECT_FUNCTIONS:
                conn.execute(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC")
    except errors.InsufficientPrivilege:
        report.warnings.append(
            "large objects: only a superuser can take lo_create and lo_import away from PUBLIC; "
            "until one runs this command, the role can create large objects in a read-write "
            "transaction"
        )
