"""The one job the automation launches: ingest a range of hours and rebuild what depends on it."""

from __future__ import annotations

import dagster as dg

HOURLY_PIPELINE_JOB = "hourly_pipeline_job"


def hourly_pipeline_job(selection: dg.AssetSelection) -> dg.UnresolvedAssetJobDefinition:
    """Raw ingestion plus the hourly models downstream of it, for a partition or a range."""
    return dg.define_asset_job(
        HOURLY_PIPELINE_JOB,
        selection=selection,
        description="Fetch the window from both APIs and restate its snapshots.",
    )


def directory_job(directory_asset) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "workspace_directory_job",
        selection=dg.AssetSelection.assets(directory_asset),
        description="Load the workspaces file into the warehouse.",
    )


def restate_attribution_job(hourly_models) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "restate_attribution_job",
        selection=dg.AssetSelection.assets(hourly_models),
        description="Rebuild the attributed records and snapshots of a range (no API calls).",
    )


RECONCILIATION_JOB = "daily_reconciliation_job"


def reconciliation_job(selection: dg.AssetSelection) -> dg.UnresolvedAssetJobDefinition:
    """The providers' daily usage and the reconciliation of those days, for a day or a range."""
    return dg.define_asset_job(
        RECONCILIATION_JOB,
        selection=selection,
        description="Read what Twilio and ElevenLabs bill for the days and reconcile them.",
    )
