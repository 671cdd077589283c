"""The environment of one dbt process: which warehouse, which hours, which settings.

Everything a run tells dbt travels as environment variables that the dbt project reads with
``env_var()`` (``profiles.yml`` for the warehouse, ``macros/run_settings.sql`` for the rest),
never as ``--vars``: dbt throws its partial-parse state away whenever ``--vars`` change, and the
time window changes every run. The models read the window only when they execute, so a new
window re-parses nothing.

The warehouse variables come from the same URL the Python side resolved
(``WarehouseResource.url``), so dbt and Python can never point at different databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import ConfigurationError
from simbiosia_pipeline.warehouse.connection import connection_params

PREFIX = "SIMBIOSIA_DBT_"
# dbt's "buildable" indirect selection: a run builds the tests of what it builds, and the tests
# that join it to upstream sources, but not the tests of downstream models (an hourly run must
# not run the whole-history tests of the views). Only a default: dagster-dbt narrows it further
# when a run deselects some checks.
DEFAULTS = {"DBT_INDIRECT_SELECTION": "buildable"}


def dbt_environment(
    url: str, window: dg.TimeWindow | None, settings: PipelineSettings
) -> dict[str, str]:
    """The variables of a dbt process for the warehouse at ``url`` and the run's window.

    Without a window the models' defaults apply (``dbt_project.yml`` vars), spanning all history.
    """
    return {**profile_environment(url), **run_settings(window, settings)}


def profile_environment(url: str) -> dict[str, str]:
    """The variables ``dbt_project/profiles.yml`` reads, for the warehouse at ``url``."""
    return {f"{PREFIX}{key.upper()}": value for key, value in connection_params(url).items()}


def run_settings(window: dg.TimeWindow | None, settings: PipelineSettings) -> dict[str, str]:
    """The run's time window (whole UTC hours), the reporting time zone and the reconciliation
    tolerances, as the variables ``macros/run_settings.sql`` reads."""
    values = {
        "reporting_tz": _checked_time_zone(settings.reporting_tz),
        "reconcile_tolerance_abs": str(settings.reconcile_tolerance.absolute),
        "reconcile_tolerance_rel": str(settings.reconcile_tolerance.relative),
        "reconcile_final_after_hours": str(settings.reconcile_final_after.total_seconds() / 3600),
    }
    if window is not None:
        values["min_ts"] = _utc_iso(window.start)
        values["max_ts"] = _utc_iso(window.end)
    return {f"{PREFIX}{name.upper()}": value for name, value in values.items()}


def dbt_build_args(*, full_refresh: bool = False) -> list[str]:
    """``dbt build``; a full refresh rebuilds all history (so its run passes no window)."""
    return ["build", "--full-refresh"] if full_refresh else ["build"]


def _checked_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"SIMBIOSIA_REPORTING_TZ={name!r} is not an IANA time zone (e.g. Europe/Madrid)"
        ) from None
    return name


def _utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()
