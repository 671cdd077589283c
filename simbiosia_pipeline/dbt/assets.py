"""The dbt project as Dagster assets: attribution and the cost tables.

Two asset definitions share the project:

- ``hourly_cost_models``, partitioned by UTC hour like the raw assets: the attributed records
  (``staging.stg_*``) and the old system's ``twilio_snapshots`` / ``elevenlabs_snapshots``. A run
  hands its partition time window to dbt (``environment``), and each model replaces exactly
  those hours, so a backfill of a month is one ``dbt build``.
- ``cost_views``, not partitioned: ``call_costs``, ``workspace_daily_costs``,
  ``unattributed_numbers``, ``attribution_rule_counts`` and ``billing_reconciliation``, views
  over staging that are always current once created.

dbt sources carry the asset keys of the raw assets and of ``workspace_directory``, so the UI shows
one lineage graph from API to snapshot; dbt tests become asset checks.
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from simbiosia_pipeline.dbt.environment import dbt_build_args
from simbiosia_pipeline.dbt.metadata import with_cost_metadata
from simbiosia_pipeline.dbt.project import require_manifest
from simbiosia_pipeline.dbt.resources import dbt_invocation
from simbiosia_pipeline.dbt.translator import TRANSLATOR
from simbiosia_pipeline.partitions import HOURLY
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource

# The models rebuilt per time window (dbt tag), and the views over them. Selected positively, not
# as "everything but hourly": dagster-dbt builds checks from an eager selection, which drops a test
# that joins a view to staging when staging is excluded.
HOURLY_MODELS = "tag:hourly"
VIEWS = "config.materialized:view"

DBT_PROJECT = require_manifest()


class DbtRunConfig(dg.Config):
    """Launchpad options of the dbt assets."""

    full_refresh: bool = False
    """Drop and rebuild the tables from all history instead of replacing the run's window."""


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
    settings: PipelineSettings,
    config: DbtRunConfig,
):
    """Attribute the calls and conversations of the run's UTC hours to workspaces, and rebuild
    those hours of ``twilio_snapshots`` and ``elevenlabs_snapshots``.

    Reads the raw tables for the run's partition time window (plus index lookups into history: a
    child leg's parent, a lead's earlier call) and the workspace directory. Each model deletes
    every row of the window and inserts the window again in one transaction, so materializing
    any hours any number of times, in any order, leaves the same tables; a ranged backfill is a
    single ``dbt build``. A full refresh rebuilds all history, so it passes no window.

    Each hour of the snapshot tables is reported on its own (calls or conversations, minutes,
    cost in USD and credits), read back from the warehouse after the build.
    """
    window = None if config.full_refresh else context.partition_time_window
    args = dbt_build_args(full_refresh=config.full_refresh)
    with dbt_invocation(warehouse.url, window, settings) as target_path:
        events = dbt.cli(args, context=context, target_path=target_path).stream()
        yield from with_cost_metadata(events, context, warehouse.connect)


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
    settings: PipelineSettings,
):
    """Per-call costs (``call_costs``), per-workspace local-day costs
    (``workspace_daily_costs``, in SIMBIOSIA_REPORTING_TZ), the numbers that fell to the
    catch-all (``unattributed_numbers``), the count of records per attribution rule and the
    reconciliation with the providers' bills.

    Views over all of staging: creating them is instant and idempotent, and they are current
    whenever they are read; materialize again only when a model or the reporting time zone
    changes, or after a full refresh of the hourly models (which drops dependent views).
    ``workspace_daily_costs`` reports the latest day's costs per workspace.
    """
    with dbt_invocation(warehouse.url, None, settings) as target_path:
        events = dbt.cli(dbt_build_args(), context=context, target_path=target_path).stream()
        yield from with_cost_metadata(events, context, warehouse.connect)
