"""Shared fixtures: real PostgreSQL databases, created fresh for a test run and dropped after;
the module's sandbox and its server; an alert webhook.

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
# The tests' sandbox data is from 2025 (fixed clocks): their partitions start where the sandbox's
# history does by default, not where the demo's sandbox mode would put them (days before today).
os.environ.setdefault("SIMBIOSIA_START_DATE", "2025-08-01")

import pytest

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, SandboxServer, start_sandbox_server
from simbiosia_pipeline_tests.webhook import WebhookReceiver
from simbiosia_testing.local_servers import create_database, drop_database

# The reliability scenarios' summary table (printed, and written to last_results.md), and the
# end of the backoffice tests' template warehouse; here so that the xdist controller, which
# collects no test module, has their hooks too.
pytest_plugins = [
    "simbiosia_pipeline_tests.reliability.plugin",
    "simbiosia_pipeline_tests.backoffice.shared_warehouse",
]


def pytest_configure(config: pytest.Config) -> None:
    """The dbt manifest the code location reads, parsed again if a model changed since."""
    from simbiosia_pipeline.dbt.project import prepare

    prepare()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with a ``slow`` test first, then the others by their number of tests.

    ``make test`` hands whole modules to 4 xdist workers (``--dist loadscope``), in this order
    (``--no-loadscope-reorder``): a few-minute module started last would run alone while the
    other workers idle, so the longest start first and the short ones fill in behind them.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def weight(tests: list[pytest.Item]) -> tuple[bool, int]:
        return (not any(test.get_closest_marker("slow") for test in tests), -len(tests))

    items[:] = [item for tests in sorted(modules.values(), key=weight) for item in tests]


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


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    """The sandbox of a test module (seed, scale, clock): a module chooses its own by defining
    this fixture; ``sandbox`` and ``sandbox_server`` follow."""
    return SandboxConfig()


@pytest.fixture(scope="module")
def sandbox(sandbox_config: SandboxConfig) -> Sandbox:
    """The module's sandbox: what its server serves and the ground truth the tests compare with.
    Shared by the module's tests: one that moves its clock puts it back."""
    return Sandbox(sandbox_config)


@pytest.fixture(scope="module")
def sandbox_server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    """The module's sandbox over real HTTP on a free port of 127.0.0.1 (``sandbox_server.url``).
    Shared by the module's tests: one that sets faults turns them off again."""
    with start_sandbox_server(sandbox) as server:
        yield server


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """An alert webhook for the test, in ``SIMBIOSIA_ALERT_WEBHOOK_URL``."""
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("SIMBIOSIA_ALERT_WEBHOOK_URL", receiver.url)
        yield receiver


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
