"""Fixtures of the dbt tests: a warehouse of its own, with raw tables, a directory and a dbt runner.

dbt costs seconds per invocation, so each test module builds one warehouse and runs dbt as few
times as its scenarios allow, then asserts many things about the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

from simbiosia_pipeline.dbt.environment import dbt_build_args
from simbiosia_pipeline.dbt.resources import dbt_invocation, dbt_resource
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.workspaces import Directory, write_directory
from simbiosia_pipeline_tests.transform.api_records import store_records
from simbiosia_testing.local_servers import create_database, drop_database

# The settings dbt runs with in these tests: the defaults (reporting in Europe/Madrid).
DEFAULT_SETTINGS = PipelineSettings.from_settings(Settings.from_env({}))
# One resource for the session: it asks `dbt --version` once per instance, which costs seconds.
DBT = dbt_resource()


@dataclass
class Warehouse:
    """A fresh database with the raw schema, and the means to fill it and run dbt on it."""

    url: str
    dbt_state: Path
    """dbt's state between builds (partial parsing) and the builds' own directories."""

    def connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
        # JSON numbers as Decimal: money inside llm_usage must compare exactly.
        set_json_loads(lambda text: json.loads(text, parse_float=Decimal), conn)
        return conn

    def rows(self, query: str, params: dict | tuple | None = None) -> list[dict]:
        with self.connect() as conn:
            return conn.execute(query, params).fetchall()

    def load_directory(self, directory: Directory) -> None:
        with psycopg.connect(self.url) as conn:
            write_directory(conn, directory)

    def store(self, calls=(), conversations=()) -> None:
        with psycopg.connect(self.url) as conn:
            store_records(conn, calls, conversations)

    def build(
        self, start: datetime | None = None, end: datetime | None = None, select: str = ""
    ) -> str:
        """``dbt build`` over ``[start, end)`` (all history without a window), as Dagster would;
        returns dbt's log of it (debug level), read before its directory goes."""
        window = dg.TimeWindow(start, end) if start and end else None
        args = dbt_build_args() + (["--select", select] if select else [])
        with dbt_invocation(self.url, window, DEFAULT_SETTINGS, self.dbt_state) as target:
            DBT.cli(args, target_path=target).wait()
            return (target / "dbt.log").read_text()


@contextmanager
def new_warehouse(dbt_state: Path) -> Iterator[Warehouse]:
    url = create_database("simbiosia_dbt")
    try:
        with psycopg.connect(url) as conn:
            ensure_raw_schema(conn)
        yield Warehouse(url=url, dbt_state=dbt_state)
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One warehouse for a whole test module (build once, assert many times)."""
    with new_warehouse(tmp_path_factory.mktemp("dbt_state")) as shared:
        yield shared


@pytest.fixture
def fresh_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse of the test's own, for scenarios that change data and rebuild."""
    with new_warehouse(tmp_path / "dbt_state") as own:
        yield own
