"""The Dagster instance the CLI uses: ``$SIMBIOSIA_HOME/dagster`` with the project's dagster.yaml.

Run history, schedules and sensors live in PostgreSQL (``DAGSTER_PG_URL``, or a ``dagster``
database in the embedded server) — never SQLite, which locks under concurrent run workers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from simbiosia_pipeline.settings import PROJECT_DIR, Settings
from simbiosia_pipeline.warehouse.embedded import embedded_url

INSTANCE_CONFIG = PROJECT_DIR / "dagster.yaml"
# Pools whose limit differs from dagster.yaml's default_limit (limits live in the instance DB).
POOL_LIMITS = {"dbt": 1}


def prepare_dagster_home(settings: Settings | None = None) -> Path:
    """Set ``DAGSTER_HOME`` and ``DAGSTER_PG_URL`` for this process and its children."""
    if os.environ.get("DAGSTER_HOME"):  # an operator's own instance (production): leave it be
        return Path(os.environ["DAGSTER_HOME"])
    settings = settings or Settings.from_env()
    home = (settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_bytes() != INSTANCE_CONFIG.read_bytes():
        shutil.copyfile(INSTANCE_CONFIG, config)
    os.environ["DAGSTER_HOME"] = str(home)
    if not os.environ.get("DAGSTER_PG_URL"):
        # dagster-postgres speaks psycopg2 (SQLAlchemy 2.1 would otherwise pick psycopg 3, whose
        # server-side parameters break dagster's NOTIFY statements).
        url = embedded_url(settings.home, database="dagster")
        os.environ["DAGSTER_PG_URL"] = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance)
    return home


def apply_pool_limits(instance) -> None:
    """Store the project's pool limits in the instance (`dagster instance concurrency set`)."""
    for pool, limit in POOL_LIMITS.items():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
