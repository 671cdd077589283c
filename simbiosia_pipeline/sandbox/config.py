"""What a sandbox serves is a pure function of this configuration and the clock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simbiosia_pipeline.sandbox.anomalies import Anomaly, anomalies_of
from simbiosia_pipeline.sandbox.clock import as_utc, floor_hour, from_unix, to_unix
from simbiosia_pipeline.sandbox.credentials import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)

DEFAULT_HISTORY_START = datetime(2025, 8, 1, tzinfo=UTC)
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class SandboxConfig:
    """Seed, volume, time span and accepted credentials of a sandbox.

    * ``seed``: same seed, same data, byte for byte.
    * ``scale``: multiplies traffic (1.0 ≈ 650 Twilio calls and 380 conversations a day).
    * ``history_start``: no record exists before it; floored to the UTC hour.
    * ``now``: a fixed clock reading, or None for the wall clock.
    * ``days``: alternative to ``history_start``: start ``days`` before ``now`` (taken at
      construction for a wall clock), floored to the hour.
    * credentials: what the sandbox accepts (see ``credentials.py`` for the defaults);
      kept out of ``repr`` so a logged config never shows them.
    * ``anomalies``: records served altered (bad input for tests), by record id; see
      ``anomalies.py``. Empty by default.
    * ``price_unit``: the account's currency (ISO 4217), in which every Twilio price is served.
    * ``zero_price_unanswered``: price unanswered calls ``"0.00000"`` after the rating delay
      (the sandbox's first behaviour) instead of leaving them null for good as real accounts do.
    """

    seed: int = 7
    scale: float = 1.0
    history_start: datetime = DEFAULT_HISTORY_START
    now: datetime | None = None
    days: int | None = None
    twilio_account_sid: str = DEFAULT_TWILIO_ACCOUNT_SID
    twilio_auth_token: str = field(default=DEFAULT_TWILIO_AUTH_TOKEN, repr=False)
    elevenlabs_api_key: str = field(default=DEFAULT_ELEVENLABS_API_KEY, repr=False)
    anomalies: Mapping[str, Anomaly | Mapping[str, Any]] = field(default_factory=dict)
    price_unit: str = "USD"
    zero_price_unanswered: bool = False

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.price_unit):
            raise ValueError(f"price_unit must be an ISO 4217 code, e.g. EUR: {self.price_unit!r}")
        object.__setattr__(self, "anomalies", anomalies_of(self.anomalies))
        if self.scale < 0:
            raise ValueError(f"scale must be >= 0, got {self.scale}")
        if not _ACCOUNT_SID.match(self.twilio_account_sid):
            raise ValueError("twilio_account_sid must look like AC + 32 hex characters")
        if not self.twilio_auth_token or not self.elevenlabs_api_key:
            raise ValueError("credentials must not be empty")
        if self.now is not None:
            object.__setattr__(self, "now", as_utc(self.now))
        start = as_utc(self.history_start)
        if self.days is not None:
            if self.days < 0:
                raise ValueError(f"days must be >= 0, got {self.days}")
            reference = self.now if self.now is not None else datetime.now(UTC)
            start = as_utc(reference) - timedelta(days=self.days)
        object.__setattr__(self, "history_start", from_unix(floor_hour(to_unix(start))))

    @property
    def history_start_unix(self) -> int:
        return to_unix(self.history_start)
