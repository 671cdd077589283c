"""Freshness: checks that watch the pipeline over time, rather than one load.

(The settlement-age check runs inside the raw assets: ``assets/raw_checks.py``.)
"""

from __future__ import annotations

import dagster as dg


def freshness_checks(raw_assets) -> list[dg.AssetChecksDefinition]:
    """The newest hourly partition of each raw asset must exist by :45 of the next hour."""
    return list(
        dg.build_time_partition_freshness_checks(assets=raw_assets, deadline_cron="45 * * * *")
    )


def freshness_sensor(checks) -> dg.SensorDefinition:
    from simbiosia_pipeline.automation.sensors import default_sensor_status

    return dg.build_sensor_for_freshness_checks(
        freshness_checks=checks, default_status=default_sensor_status()
    )
