"""One warehouse for every backoffice test: three local days of the sandbox — the 25-hour day of
the October 2025 DST change, and the last day of October with the first of November — built by
the real pipeline (raw assets, dbt) once per test session, copied for each xdist worker
(``shared_warehouse``), read through the read-only dashboard role."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from simbiosia_pipeline.backoffice.launcher import with_user
from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.roles import grant_dashboard_role
from simbiosia_pipeline.workspaces import load_directory
from simbiosia_pipeline_tests.backoffice import shared_warehouse, truth
from simbiosia_pipeline_tests.support import materialize_pipeline
from simbiosia_testing.local_servers import ADMIN_URL, drop_database

ZONE = ZoneInfo("Europe/Madrid")
# Local days: Sunday 26 October 2025 (clocks back: 25 hours), Friday 31 October, and Saturday
# 1 November until the sandbox's clock (17:10 in Madrid), so the last calls' costs are pending.
DST_DAY, LAST_OF_OCTOBER, FIRST_OF_NOVEMBER = (
    date(2025, 10, 26),
    date(2025, 10, 31),
    date(2025, 11, 1),
)
WINDOWS = (
    (datetime(2025, 10, 25, 22, tzinfo=UTC), datetime(2025, 10, 26, 23, tzinfo=UTC)),
    (datetime(2025, 10, 30, 23, tzinfo=UTC), datetime(2025, 11, 1, 17, tzinfo=UTC)),
)
NOW = datetime(2025, 11, 1, 16, 10, tzinfo=UTC)
SANDBOX = SandboxConfig(seed=29, scale=0.4, now=NOW)


@dataclass(frozen=True)
class Warehouse:
    owner_url: str
    dashboard_url: str
    role: str
    truth: truth.Truth


def build_warehouse(url: str, home: Path) -> None:
    """The three days through the real pipeline, into the database at ``url``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIMBIOSIA_DATABASE_URL", url)
        patch.setenv("SIMBIOSIA_HOME", str(home))
        with start_sandbox_server(Sandbox(SANDBOX)) as server:
            for number, (start, end) in enumerate(WINDOWS):
                steps = ("directory", "hours") if number == 0 else ("hours", "views")
                materialize_pipeline(server.url, start, end, steps=steps)


@pytest.fixture(scope="session")
def backoffice_warehouse(tmp_path_factory) -> Warehouse:
    """A copy of the session's three-day warehouse (built once: shared_warehouse), this worker's
    own to read and write, with a dashboard role of its own."""
    template = shared_warehouse.template_url(
        tmp_path_factory,
        lambda url: build_warehouse(url, tmp_path_factory.mktemp("simbiosia_home")),
    )
    url = shared_warehouse.copy_of(template)
    role = f"dashboard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url) as conn:
        grant_dashboard_role(conn, role)
    sandbox = Sandbox(SANDBOX)
    calls = [call for start, end in WINDOWS for call in sandbox.twilio_calls(start, end)]
    conversations = [c for start, end in WINDOWS for c in sandbox.conversations(start, end)]
    yield Warehouse(
        owner_url=url,
        dashboard_url=with_user(url, role),
        role=role,
        truth=truth.build(calls, conversations, load_directory(WORKSPACES_FILE), ZONE),
    )
    drop_database(url)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def backoffice_env(backoffice_warehouse, monkeypatch) -> Warehouse:
    """The environment `simbiosia backoffice` gives the app: the dashboard role's URL, the
    sandbox's clock, no Dagster webserver."""
    monkeypatch.setenv("SIMBIOSIA_BACKOFFICE_DATABASE_URL", backoffice_warehouse.dashboard_url)
    monkeypatch.setenv("SIMBIOSIA_BACKOFFICE_NOW", NOW.isoformat())
    monkeypatch.setenv("SIMBIOSIA_REPORTING_TZ", ZONE.key)
    monkeypatch.setenv("SIMBIOSIA_DAGSTER_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("SIMBIOSIA_BACKOFFICE_PASSWORD", raising=False)
    assert "SIMBIOSIA_BACKOFFICE_PASSWORD" not in os.environ
    return backoffice_warehouse
