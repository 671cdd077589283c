"""What the tests and the benchmarks start on, or take from, this machine: scratch databases on
the PostgreSQL server at 127.0.0.1:5432 (``SIMBIOSIA_TEST_PG_ADMIN_URL`` to use another one) and
free ports on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import uuid

import psycopg

ADMIN_URL = os.environ.get(
    "SIMBIOSIA_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def create_database(prefix: str = "simbiosia_test") -> str:
    """A new, uniquely named database; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
