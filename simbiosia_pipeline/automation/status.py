"""Whether schedules and sensors start running on deploy: ``SIMBIOSIA_AUTOMATION``."""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.settings import Settings


def default_sensor_status() -> dg.DefaultSensorStatus:
    """Sensors start running on deploy, unless ``SIMBIOSIA_AUTOMATION=off``."""
    if Settings.from_env().automation_enabled:
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED


def default_schedule_status() -> dg.DefaultScheduleStatus:
    """Schedules start running on deploy, unless ``SIMBIOSIA_AUTOMATION=off``."""
    if Settings.from_env().automation_enabled:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED
