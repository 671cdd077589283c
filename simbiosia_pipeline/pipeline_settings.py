"""The operator's knobs as a Dagster resource: what assets and sensors read at run time.

``settings.py`` reads the environment and checks every value; ``definitions.py`` hands the values
the runs need to this resource (key ``settings``), so they show in the UI's resource config and a
test gives a resource instead of setting variables before importing. Secrets are not here: they
are ``EnvVar`` fields of the resources that use them (``LiveApis``, ``AlertChannels``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg

from simbiosia_pipeline.settings import ReconcileTolerance, Settings


class PipelineSettings(dg.ConfigurableResource):
    """What the runs and sensors of the code location read (variables: README "Configuration")."""

    home: str  # SIMBIOSIA_HOME: where dbt keeps its state between runs
    workspaces_file: str  # SIMBIOSIA_WORKSPACES_FILE
    reporting_tz: str  # SIMBIOSIA_REPORTING_TZ: the day of budgets and daily costs
    settle_max_age_seconds: float  # SIMBIOSIA_SETTLE_MAX_AGE
    store_transcripts: bool  # SIMBIOSIA_STORE_TRANSCRIPTS
    # SIMBIOSIA_RECONCILE_TOLERANCE, as exact decimal text (config has no Decimal type)
    reconcile_tolerance_absolute: str
    reconcile_tolerance_relative: str
    reconcile_final_after_seconds: float  # SIMBIOSIA_RECONCILE_FINAL_AFTER
    reconcile_pending_max_age_seconds: float  # SIMBIOSIA_RECONCILE_PENDING_MAX_AGE

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineSettings:
        return cls(
            home=str(settings.home),
            workspaces_file=str(settings.workspaces_file),
            reporting_tz=settings.reporting_tz,
            settle_max_age_seconds=settings.settle_max_age.total_seconds(),
            store_transcripts=settings.store_transcripts,
            reconcile_tolerance_absolute=str(settings.reconcile_tolerance.absolute),
            reconcile_tolerance_relative=str(settings.reconcile_tolerance.relative),
            reconcile_final_after_seconds=settings.reconcile_final_after.total_seconds(),
            reconcile_pending_max_age_seconds=settings.reconcile_pending_max_age.total_seconds(),
        )

    @classmethod
    def from_env(cls) -> PipelineSettings:
        """The environment's values, read and checked by ``Settings``."""
        return cls.from_settings(Settings.from_env())

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def workspaces_path(self) -> Path:
        return Path(self.workspaces_file)

    @property
    def settle_max_age(self) -> timedelta:
        return timedelta(seconds=self.settle_max_age_seconds)

    @property
    def reconcile_tolerance(self) -> ReconcileTolerance:
        return ReconcileTolerance(
            Decimal(self.reconcile_tolerance_absolute), Decimal(self.reconcile_tolerance_relative)
        )

    @property
    def reconcile_final_after(self) -> timedelta:
        return timedelta(seconds=self.reconcile_final_after_seconds)

    @property
    def reconcile_pending_max_age(self) -> timedelta:
        return timedelta(seconds=self.reconcile_pending_max_age_seconds)
