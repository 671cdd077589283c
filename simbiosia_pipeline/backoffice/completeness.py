"""Which days of a range are complete: every UTC hour of the local day loaded by both raw assets
(the ``daily_completeness`` view over ``raw.loaded_hours``; README "Complete days"). A day with
hours missing must read as partial, not as a cheap day.

Its own module (the read, the day arithmetic, the cached call) so that the pages' tables only
gain a column. The view exists once the cost views are built and the dashboard role reads it
(``warehouse.roles``); until then nothing is said rather than a guess.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import streamlit as st

from simbiosia_pipeline.backoffice import periods, ui
from simbiosia_pipeline.utc import HOUR

COMPLETENESS_SQL = sa.text(
    "SELECT day, hours_loaded FROM public.daily_completeness"
    " WHERE time_zone = :tz AND day BETWEEN :first AND :last"
)


def hours_expected(day: date, zone: ZoneInfo) -> int:
    """UTC hours of the local day: 24, or 23 / 25 when the clocks change."""
    start = periods.local_midnight(day, zone)
    return int((periods.local_midnight(day + timedelta(days=1), zone) - start) / HOUR)


def loaded_hours(engine: sa.Engine, days: periods.DayRange, zone: ZoneInfo) -> dict | None:
    """Each day of ``days``: (hours loaded, hours expected); None while the view is unreadable."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                COMPLETENESS_SQL, {"tz": zone.key, "first": days.first, "last": days.last}
            ).all()
    except sa.exc.ProgrammingError:  # not built yet, or not granted to this role yet
        return None
    loaded = dict(rows)
    return {
        day: (loaded.get(day, 0), hours_expected(day, zone))
        for day in (days.first + timedelta(days=n) for n in range(days.days))
    }


@st.cache_data(ttl=ui.CACHE_SECONDS, show_spinner=False)
def cached_loaded_hours(days: periods.DayRange) -> dict | None:
    return loaded_hours(ui.engine(), days, ui.config().reporting_tz)


def warn_if_incomplete(loaded: dict | None, days_shown) -> None:
    """A warning naming the shown days whose hours are not all loaded."""
    if not loaded:
        return
    partial = [
        f"{day} ({hours}/{expected} h)"
        for day, (hours, expected) in sorted(loaded.items())
        if day in days_shown and hours < expected
    ]
    if partial:
        st.warning(
            f"Incomplete days — not every hour is loaded yet, so their totals are partial: "
            f"{', '.join(partial)}."
        )
