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

from simbiosia_pipeline.assets.transform import dbt_build_args, dbt_environment, dbt_resource
from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.workspaces import Directory, write_directory
from simbiosia_pipeline_tests.transform.api_records import store_records
from simbiosia_testing.local_servers import create_database, drop_database

# The settings dbt runs with in these tests: the defaults (reporting in Europe/Madrid).
DEFAULT_SETTINGS = Settings.from_env({})
# One resource for the session: it asks `dbt --version` once per instance, which costs seconds.
DBT = dbt_resource()


@dataclass
class Warehouse:
    """A fresh database with the raw schema, and the means to fill it and run dbt on it."""

    url: str
    dbt_target: Path

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
    ) -> None:
        """``dbt build`` over ``[start, end)`` (all history without a window), as Dagster would."""
        window = dg.TimeWindow(start, end) if start and end else None
        args = dbt_build_args(window, DEFAULT_SETTINGS) + (["--select", select] if select else [])
        with dbt_environment(self.url):
            DBT.cli(args, target_path=self.dbt_target).wait()


@contextmanager
def new_warehouse(dbt_target: Path) -> Iterator[Warehouse]:
    url = create_database("simbiosia_dbt")
    try:
        with psycopg.connect(url) as conn:
            ensure_raw_schema(conn)
        yield Warehouse(url=url, dbt_target=dbt_target)
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One warehouse for a whole test module (build once, assert many times)."""
    with new_warehouse(tmp_path_factory.mktemp("dbt_target")) as shared:
        yield shared


@pytest.fixture
def fresh_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A warehouse of the test's own, for scenarios that change data and rebuild."""
    with new_warehouse(tmp_path / "dbt_target") as own:
        yield own
