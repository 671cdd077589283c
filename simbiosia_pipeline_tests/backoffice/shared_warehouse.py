"""The backoffice tests' warehouse, built once per test session however many xdist workers run
them: the first worker that needs it builds it as a template database, under a file lock in
the session's shared temporary directory, and every worker takes a copy of its own
(``CREATE DATABASE ... TEMPLATE``: a file copy, about a second). A pytest plugin (registered by
the top conftest, so the xdist controller has it too) drops the template when the session ends.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from simbiosia_testing.local_servers import ADMIN_URL, create_database, drop_database

TEMPLATE_FILE = "backoffice_warehouse.template"


def _session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory every worker of this session shares (a worker's is inside it)."""
    own = tmp_path_factory.getbasetemp()
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


def template_url(tmp_path_factory: pytest.TempPathFactory, build: Callable[[str], None]) -> str:
    """The session's template warehouse, ``build``-t into a new database by whoever asks first."""
    root = _session_root(tmp_path_factory)
    with (root / f"{TEMPLATE_FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        recorded = root / TEMPLATE_FILE
        if not recorded.exists():
            url = create_database("simbiosia_backoffice_template")
            recorded.write_text(url)  # before the build: a failed one is dropped at the end too
            build(url)
            _disconnect_all(url)  # a template must have no session open while it is copied
        return recorded.read_text()


def copy_of(template: str) -> str:
    """A new database with the template's contents (its tables, rows, indexes and grants)."""
    name = f"simbiosia_backoffice_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(_name(template))
            )
        )
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _disconnect_all(url: str) -> None:
    """End the sessions the build left open (connection pools of the in-process runs)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (_name(url),),
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the template, on the xdist controller (or the only process) once every worker is
    done with it."""
    if hasattr(session.config, "workerinput"):  # a worker: others may still copy it
        return
    factory = getattr(session.config, "_tmp_path_factory", None)  # pytest's own, no new dir
    basetemp = getattr(factory, "_basetemp", None)
    recorded = basetemp / TEMPLATE_FILE if basetemp else None
    if recorded and recorded.exists():
        drop_database(recorded.read_text())
        recorded.unlink()
