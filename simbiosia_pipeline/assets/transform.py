"""The dbt project (``dbt_project/``) as Dagster assets: attribution and the cost tables.

Two asset definitions share the project:

- ``hourly_cost_models``, partitioned by UTC hour like the raw assets: the attributed records
  (``staging.stg_*``) and the old system's ``twilio_snapshots`` / ``elevenlabs_snapshots``. A run
  passes its partition time window to dbt as the vars ``min_ts``/``max_ts``, and each model
  replaces exactly those hours, so a backfill of a month is one ``dbt build``.
- ``cost_views``, not partitioned: ``call_costs``, ``workspace_daily_costs``,
  ``unattributed_numbers`` and ``attribution_rule_counts``, views over staging that are always
  current once created.

dbt sources carry the asset keys of the raw assets and of ``workspace_directory``, so the UI shows
one lineage graph from API to snapshot; dbt tests become asset checks. The dbt profile reads its
connection from environment variables that are set here from the same warehouse URL the Python
side uses, so dbt and Python can never point at different databases.
"""

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.settings import PROJECT_DIR, ConfigurationError, Settings
from simbiosia_pipeline.warehouse.connection import connection_params
from simbiosia_pipeline.warehouse.resource import WarehouseResource

DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
# The models rebuilt per time window (dbt tag), and the views over them. Selected positively, not
# as "everything but hourly": dagster-dbt builds checks from an eager selection, which drops a test
# that joins a view to staging when staging is excluded.
HOURLY_MODELS = "tag:hourly"
VIEWS = "config.materialized:view"
# dbt folders -> Dagster asset groups
_GROUP_OF_FOLDER = {"staging": "attribution", "marts": "costs"}

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The ``dbt`` next to the running interpreter, so that no PATH set-up is ever needed."""
    beside_interpreter = Path(sys.executable).parent / "dbt"
    return str(beside_interpreter) if beside_interpreter.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource for this project (resource key ``dbt``)."""
    return DbtCliResource(
        project_dir=DBT_PROJECT, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )


def prepare_manifest(project: DbtProject = DBT_PROJECT) -> None:
    """Parse the project into ``target/manifest.json`` when it is missing or older than its sources.

    This is ``project.prepare_if_dev()`` made to work everywhere (tests, CI, run workers), with our
    dbt executable: dagster-dbt's own preparer looks ``dbt`` up on PATH and only runs under
    ``dagster dev``. A file lock keeps concurrent first imports (several run workers at once) from
    parsing over each other.
    """
    if not _manifest_is_stale(project):
        return
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with project.manifest_path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_is_stale(project):  # another process may have parsed while we waited
            # plain `dbt parse`: the CLI resource would first ask `dbt --version`, seconds more
            subprocess.run(  # noqa: S603 - our own dbt, with arguments we build
                [
                    dbt_executable(),
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(project.project_dir),
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                    "--target-path",
                    str(project.target_path),
                ],
                check=True,
            )


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    sources = [
        path
        for folder in ("models", "macros", "tests")
        for path in (project.project_dir / folder).rglob("*")
        if path.suffix in {".sql", ".yml"}
    ] + [project.project_dir / "dbt_project.yml"]
    parsed_at = project.manifest_path.stat().st_mtime
    return any(path.stat().st_mtime > parsed_at for path in sources)


prepare_manifest()


def dbt_profile_env(url: str) -> dict[str, str]:
    """The variables ``dbt_project/profiles.yml`` reads, for the warehouse at ``url``."""
    return {f"SIMBIOSIA_DBT_{key.upper()}": value for key, value in connection_params(url).items()}


@contextmanager
def dbt_environment(url: str) -> Iterator[None]:
    """The environment of the dbt processes started inside; the previous one is restored after.

    - the profile variables for the warehouse at ``url``;
    - dbt's "buildable" indirect selection: a run builds the tests of what it builds, and the
      tests that join it to upstream sources, but not the tests of downstream models (an hourly
      run must not run the whole-history tests of the views). dagster-dbt still narrows this
      when a run deselects some checks.
    """
    variables = {**dbt_profile_env(url), "DBT_INDIRECT_SELECTION": "buildable"}
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_vars(window: dg.TimeWindow | None, settings: Settings) -> dict[str, str]:
    """The dbt vars of a run: its time window (whole UTC hours) and the reporting time zone.

    Without a window the models' defaults apply, which span all history.
    """
    try:
        ZoneInfo(settings.reporting_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"SIMBIOSIA_REPORTING_TZ={settings.reporting_tz!r} is not an IANA time zone "
            "(e.g. Europe/Madrid)"
        ) from None
    variables = {"reporting_tz": settings.reporting_tz, **reconcile_vars(settings)}
    if window is not None:
        variables["min_ts"] = _utc_iso(window.start)
        variables["max_ts"] = _utc_iso(window.end)
    return variables


def reconcile_vars(settings: Settings) -> dict[str, str]:
    """``billing_reconciliation``'s tolerances and provider finality, from the settings."""
    return {
        "reconcile_tolerance_abs": str(settings.reconcile_tolerance.absolute),
        "reconcile_tolerance_rel": str(settings.reconcile_tolerance.relative),
        "reconcile_final_after_hours": str(settings.reconcile_final_after.total_seconds() / 3600),
    }


def dbt_build_args(
    window: dg.TimeWindow | None, settings: Settings, *, full_refresh: bool = False
) -> list[str]:
    """``dbt build`` for a window. A full refresh rebuilds all history, so it takes no window."""
    if full_refresh:
        return ["build", "--full-refresh", "--vars", json.dumps(dbt_vars(None, settings))]
    return ["build", "--vars", json.dumps(dbt_vars(window, settings))]


def _utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


class DbtRunConfig(dg.Config):
    """Launchpad options of the dbt assets."""

    full_refresh: bool = False
    """Drop and rebuild the tables from all history instead of replacing the run's window."""


class CostModelsTranslator(DagsterDbtTranslator):
    """Groups by dbt folder, and a code version per model so an edited model shows as changed."""

    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
        )

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folder = dbt_resource_props.get("fqn", [None, None])[1]
        return _GROUP_OF_FOLDER.get(folder) or super().get_group_name(dbt_resource_props)

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        checksum = dbt_resource_props.get("checksum") or {}
        return checksum.get("checksum") or super().get_code_version(dbt_resource_props)


TRANSLATOR = CostModelsTranslator()


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    select=HOURLY_MODELS,
    name="hourly_cost_models",
    partitions_def=HOURLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="dbt",
    dagster_dbt_translator=TRANSLATOR,
)
def hourly_cost_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtRunConfig,
):
    """Attribute the calls and conversations of the run's UTC hours to workspaces, and rebuild
    those hours of ``twilio_snapshots`` and ``elevenlabs_snapshots``.

    Reads the raw tables for the run's partition time window (plus index lookups into history: a
    child leg's parent, a lead's earlier call) and the workspace directory. Each model deletes
    every row of the window and inserts the window again in one transaction, so materializing
    any hours any number of times, in any order, leaves the same tables; a ranged backfill is a
    single ``dbt build``.
    """
    args = dbt_build_args(
        context.partition_time_window, Settings.from_env(), full_refresh=config.full_refresh
    )
    with dbt_environment(warehouse.url):
        yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    select=VIEWS,
    name="cost_views",
    pool="dbt",
    dagster_dbt_translator=TRANSLATOR,
)
def cost_views(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
):
    """Per-call costs (``call_costs``), per-workspace local-day costs
    (``workspace_daily_costs``, in SIMBIOSIA_REPORTING_TZ), the numbers that fell to the
    catch-all (``unattributed_numbers``) and the count of records per attribution rule.

    Views over all of staging: creating them is instant and idempotent, and they are current
    whenever they are read; materialize again only when a model or the reporting time zone
    changes, or after a full refresh of the hourly models (which drops dependent views).
    """
    with dbt_environment(warehouse.url):
        yield from dbt.cli(dbt_build_args(None, Settings.from_env()), context=context).stream()
