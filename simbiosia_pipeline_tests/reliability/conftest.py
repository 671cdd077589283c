"""Fixtures of the reliability scenarios. The table of their results is ``plugin.py``'s."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import dagster as dg
import pytest

from simbiosia_pipeline.instance import apply_pool_limits
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline_tests.reliability import ledger
from simbiosia_testing.local_servers import create_database, drop_database


@pytest.fixture(autouse=True)
def _scenario_clock(request: pytest.FixtureRequest) -> None:
    ledger.start_clock(request.node.nodeid)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance of the test's own (runs, event logs) in a temporary directory."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def production_instance(tmp_path, monkeypatch):
    """DAGSTER_HOME with the project's dagster.yaml (its pools), storage in a fresh PostgreSQL
    database: (home, DAGSTER_PG_URL, the instance)."""
    storage = create_database("simbiosia_dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    pg_url = storage.replace("postgresql://", "postgresql+psycopg2://", 1)
    monkeypatch.setenv("DAGSTER_PG_URL", pg_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        apply_pool_limits(instance)  # dbt: one build at a time, as `simbiosia` sets it up
        yield home, pg_url, instance
    drop_database(storage)
