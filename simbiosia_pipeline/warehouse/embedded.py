"""The embedded PostgreSQL that lets a fresh checkout run with no server to install.

``pgserver`` ships PostgreSQL binaries in a wheel. The data directory lives under
``SIMBIOSIA_HOME``; the server is started once and left running (``cleanup_mode=None``) so that
every process of the pipeline — the CLI, ``dagster dev``, each Dagster run worker, dbt — reuses
the same instance instead of racing to start its own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

DATABASE_NAME = "simbiosia"

log = logging.getLogger(__name__)


def pgdata_dir(home: Path) -> Path:
    return home / "pgdata"


def embedded_url(home: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server under ``home``; return a URL for ``database``."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver only keeps a lock
    # file there, so a private directory under our home is as good as the system one.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_private_dir(home / "run")))
    import pgserver  # imported lazily: it touches the runtime dir at import time

    pgdata = pgdata_dir(home)
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    _ensure_database(server, database)
    return server.get_uri(database)


def stop_embedded(home: Path) -> bool:
    """Stop the embedded server if it runs; return whether one was running."""
    pgdata = pgdata_dir(home)
    if not (pgdata / "postmaster.pid").exists():
        return False
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=_system_user())
    return True


def _ensure_database(server, database: str) -> None:
    # pgserver's URL (postgresql://postgres:@/db?host=/socket/dir) is plain libpq: psql, psycopg,
    # dbt and dagster-postgres all accept it.
    listing = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in listing:
        log.info("creating database %s in the embedded server", database)
        server.psql(f"CREATE DATABASE {database};")


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _system_user() -> str | None:
    return "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
