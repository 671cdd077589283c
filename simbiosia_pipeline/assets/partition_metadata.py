"""A ranged run's metadata: each partition's own figures on its materialization, the window's once.

A ranged run (a backfill) materializes every partition of its window — hours or days — at once.
Dagster gives each partition its own materialization event, and
``context.add_asset_metadata(..., partition_key=key)`` (Dagster 1.13,
``StepExecutionContext.add_asset_metadata``) scopes metadata to one of them; what the
``MaterializeResult`` carries goes to every partition. So each partition gets its own numbers —
an hour's or a day's rows and amounts, 0 when it has none — and the asset's plots (in Dagster
1.13 the Overview's Metadata → Plots, by Partitions) are a series of per-partition volumes. The
window's own figures (requests, retries, seconds, rows replaced, the partitions' totals) belong
to the run: they go to the run's log once, and with the write as one JSON entry
(``WINDOW_FIGURES``), never as numbers that would plot as one partition's; a run of a single
partition shows them as plain numbers, as they are that partition's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

import dagster as dg

# A ranged run's own figures, as one JSON entry: numbers of the whole window must not read as
# one partition's.
WINDOW_FIGURES = "window_figures"


def result_per_partition(
    context: dg.AssetExecutionContext,
    own_figures: Mapping[str, dict],
    window_figures: dict,
    shared: dict | None = None,
    check_results: Sequence[dg.AssetCheckResult] | None = None,
) -> dg.MaterializeResult:
    """The materialization of ``context``'s partitions: each partition's ``own_figures`` (by
    partition key) on it alone, ``window_figures`` once, ``shared`` (what the write itself is,
    the same for every partition) on all of them."""
    shared = shared or {}
    if len(own_figures) == 1:
        (own,) = own_figures.values()
        return dg.MaterializeResult(
            metadata={**shared, **own, **window_figures}, check_results=check_results
        )
    figures = {**partition_totals(own_figures), **window_figures}
    keys = context.partition_key_range
    context.log.info(f"window {keys.start}..{keys.end}: {json.dumps(figures)}")
    for partition_key, own in own_figures.items():
        context.add_asset_metadata(own, partition_key=partition_key)
    # Also kept with the write, as one JSON entry (never plotted, clearly the window's): what
    # tools read back from the event log (retries, requests) without parsing log lines.
    return dg.MaterializeResult(
        metadata={**shared, WINDOW_FIGURES: dg.MetadataValue.json(figures)},
        check_results=check_results,
    )


def partition_totals(own_figures: Mapping[str, dict]) -> dict:
    """The partitions' figures summed: the window's totals. Counts are added up; amounts
    exactly, from their exact text (alone or per unit); the rest — floats (for the plots
    only), timestamps, Dagster's own entries — is each partition's alone."""
    totals: dict = {}
    for own in own_figures.values():
        for name, value in own.items():
            if name.startswith("dagster/"):
                continue
            if isinstance(value, int):
                totals[name] = totals.get(name, 0) + value
            elif isinstance(value, dict):  # amounts per currency, as exact text
                summed = totals.setdefault(name, {})
                for unit, amount in value.items():
                    summed[unit] = str(Decimal(summed.get(unit, "0")) + Decimal(amount))
            elif isinstance(value, str):  # an exact amount as text
                totals[name] = str(Decimal(totals.get(name, "0")) + Decimal(value))
    return totals
