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
