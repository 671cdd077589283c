"""The units of UTC time the whole pipeline counts in, defined once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)  # the partition, the unit of every window and restatement
# The start of time: day numbers count from it, and a validity period or an attribution change
# with no beginning starts there.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
