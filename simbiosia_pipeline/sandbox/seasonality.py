"""How much traffic an hour carries: daily and weekly seasonality, and Poisson counts.

Call centres phone people in office hours of the *lead's* time zone: busy late morning
and afternoon, a lunch dip, nearly nothing at night, less on Saturday and very little on
Sunday. The weights below are relative; ``hourly_rate`` scales them so that a week
averages exactly the requested events per day, whatever the time zone.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

# Local hour 0..23.
HOUR_WEIGHTS = (
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15,
    0.55, 1.00, 1.10, 1.10, 1.00, 0.80, 0.55, 0.70,
    0.95, 1.00, 0.90, 0.70, 0.40, 0.20, 0.08, 0.04,
)  # fmt: skip
# Monday..Sunday.
DAY_WEIGHTS = (1.00, 1.05, 1.05, 1.00, 0.90, 0.35, 0.12)

_MEAN_DAY = sum(HOUR_WEIGHTS) * sum(DAY_WEIGHTS) / len(DAY_WEIGHTS)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hourly_rate(events_per_day: float, hour_start: int, timezone: str) -> float:
    """Expected events in the UTC hour starting at ``hour_start`` (unix seconds)."""
    local = datetime.fromtimestamp(hour_start, UTC).astimezone(_zone(timezone))
    weight = HOUR_WEIGHTS[local.hour] * DAY_WEIGHTS[local.weekday()]
    return events_per_day * weight / _MEAN_DAY


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; a normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
