"""Freshness: checks that watch the pipeline over time, rather than one load.

(The settlement-age check runs inside the raw assets: ``assets/raw_checks.py``.)

Dagster 1.13 marks both builders below as superseded by ``FreshnessPolicy`` on the assets. Not
taken yet, on purpose: a policy judges when an asset was last materialized, not whether the
newest *hourly partition* exists, and it reports a freshness state rather than an asset check —
so ``check_failure_alert_sensor`` would stop alerting on a late hour. Exactly those two
``SupersessionWarning``s are silenced (a user of ``simbiosia`` cannot act on them).
"""

from __future__ import annotations

import warnings

import dagster as dg


def freshness_checks(raw_assets) -> list[dg.AssetChecksDefinition]:
    """The newest hourly partition of each raw asset must exist by :45 of the next hour."""
    with warnings.catch_warnings():
        _ignore_supersession("build_time_partition_freshness_checks")
        return list(
            dg.build_time_partition_freshness_checks(assets=raw_assets, deadline_cron="45 * * * *")
        )


def freshness_sensor(
    checks, status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED
) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        _ignore_supersession("build_sensor_for_freshness_checks")
        return dg.build_sensor_for_freshness_checks(freshness_checks=checks, default_status=status)


def _ignore_supersession(function: str) -> None:
    warnings.filterwarnings(
        "ignore", message=f"Function `{function}` is superseded", category=dg.SupersessionWarning
    )
