"""Whether schedules and sensors start running on deploy: ``SIMBIOSIA_AUTOMATION``.

The factories of ``automation/`` take the status as an argument (Dagster's default, stopped,
when not given); ``definitions.py`` passes these, from the settings it read once.
"""

from __future__ import annotations

import dagster as dg


def sensor_status(automation_enabled: bool) -> dg.DefaultSensorStatus:
    """Sensors start running on deploy, unless ``SIMBIOSIA_AUTOMATION=off``."""
    return dg.DefaultSensorStatus.RUNNING if automation_enabled else dg.DefaultSensorStatus.STOPPED


def schedule_status(automation_enabled: bool) -> dg.DefaultScheduleStatus:
    """Schedules start running on deploy, unless ``SIMBIOSIA_AUTOMATION=off``."""
    if automation_enabled:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED
