"""Software-defined assets: raw ingestion, the workspace directory, and the dbt models."""

import warnings

import dagster as dg

# `backfill_policy` and `pool` are marked beta in Dagster 1.13; we rely on them deliberately.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
