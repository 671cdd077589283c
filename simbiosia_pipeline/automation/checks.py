"""Checks that watch the pipeline over time, rather than one load: settlement age, freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.warehouse.resource import WarehouseResource

# Costs still pending past the max age: the settlement sensor has given up on them.
_OVERDUE_SQL = {
    "twilio_calls": (
        "SELECT count(*), min(event_time) FROM raw.twilio_calls"
        " WHERE price IS NULL AND event_time < %(cutoff)s"
    ),
    "elevenlabs_conversations": (
        "SELECT count(*), min(start_time) FROM raw.elevenlabs_conversations"
        " WHERE status NOT IN ('done', 'failed') AND start_time < %(cutoff)s"
    ),
}


def unsettled_beyond_max_age_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    table = asset.key.path[-1]

    @dg.asset_check(
        asset=asset,
        name="no_unsettled_record_beyond_max_age",
        description=(
            "No record still waiting for its final cost after SIMBIOSIA_SETTLE_MAX_AGE; those "
            "are left for a person (settlement stops re-fetching them)."
        ),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        cutoff = datetime.now(UTC) - Settings.from_env().settle_max_age
        with warehouse.connect() as conn:
            overdue, oldest = conn.execute(_OVERDUE_SQL[table], {"cutoff": cutoff}).fetchone()
        return dg.AssetCheckResult(
            passed=overdue == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"overdue_records": overdue, "oldest": str(oldest) if oldest else ""},
        )

    return _check


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
