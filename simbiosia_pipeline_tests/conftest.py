"""Shared fixtures: real PostgreSQL databases, created fresh for a test run and dropped after.

The "production-like" server is the PostgreSQL at 127.0.0.1:5432 (``SIMBIOSIA_TEST_PG_ADMIN_URL``
overrides it). Every test session gets its own database there, named uniquely, and drops it at
the end; tests that need isolation from each other take ``fresh_database_url``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

# Dagster's step retries wait 20 s and more in production; the tests keep the retries (they
# are part of what is tested) but not the wait. Set before any asset module is imported.
os.environ.setdefault("SIMBIOSIA_STEP_RETRY_DELAY", "0.2s")

import pytest

from simbiosia_pipeline_tests.local_servers import create_database, drop_database

# The reliability scenarios' summary table (printed, and written to last_results.md), and the
# end of the backoffice tests' template warehouse; here so that the xdist controller, which
# collects no test module, has their hooks too.
pytest_plugins = [
    "simbiosia_pipeline_tests.reliability.plugin",
    "simbiosia_pipeline_tests.backoffice.shared_warehouse",
]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database on the PostgreSQL server for the whole session."""
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """A database of the test's own."""
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def warehouse_env(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """Point the whole pipeline (Python and dbt) at a fresh database; return its URL."""
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SIMBIOSIA_HOME", str(tmp_path / "simbiosia_home"))
    return fresh_database_url


@pytest.fixture
def postgres_instance(fresh_database_url: str):
    """A Dagster instance whose storage is PostgreSQL, as in production."""
    import dagster as dg

    url = fresh_database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    with dg.instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as inst:
        yield inst


@pytest.fixture(autouse=True)
def _isolated_dagster_state_storage():
    """Start every test without a "current" Dagster state storage.

    Entering a DagsterInstance (``instance_for_test``) sets a process-wide context variable that
    can outlive the instance; a later test then fails to build a repository with "Attempted to
    resolve undefined DagsterInstance weakref". Each test starts from a clean value.
    """
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield
