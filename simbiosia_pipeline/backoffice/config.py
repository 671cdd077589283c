"""The backoffice's settings, from the environment (its own knobs; the warehouse's are in
``simbiosia_pipeline.settings``). Secrets are not read here: the login password is read by
``auth.py`` when it checks one, and the database URL stays in the environment of the process."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simbiosia_pipeline.settings import ConfigurationError, Settings

DATABASE_URL_VARIABLE = "SIMBIOSIA_BACKOFFICE_DATABASE_URL"
PASSWORD_VARIABLE = "SIMBIOSIA_BACKOFFICE_PASSWORD"  # noqa: S105 (the variable's name)
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
CALLS_PAGE_SIZE = 100


@dataclass(frozen=True)
class BackofficeConfig:
    reporting_tz: ZoneInfo
    # Where the Dagster webserver answers (GraphQL for "Sync now" and the runs; its UI for links).
    dagster_url: str | None
    # A fixed clock for demos and tests (SIMBIOSIA_BACKOFFICE_NOW); None: the wall clock.
    fixed_now: datetime | None
    calls_page_size: int = CALLS_PAGE_SIZE

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BackofficeConfig:
        env = dict(os.environ if env is None else env)
        zone = Settings.from_env(env).reporting_tz
        try:
            reporting_tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"SIMBIOSIA_REPORTING_TZ={zone!r} is not a time zone"
            ) from None
        dagster_url = env.get("SIMBIOSIA_DAGSTER_URL", DEFAULT_DAGSTER_URL).strip().rstrip("/")
        return cls(
            reporting_tz=reporting_tz,
            dagster_url=dagster_url or None,
            fixed_now=_instant(env.get("SIMBIOSIA_BACKOFFICE_NOW")),
        )

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)


def _instant(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"SIMBIOSIA_BACKOFFICE_NOW={raw!r} is not an instant like 2025-10-03T09:20:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ConfigurationError(f"SIMBIOSIA_BACKOFFICE_NOW={raw!r} needs a UTC offset")
    return moment.astimezone(UTC)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address only this machine can reach."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def database_url(env: dict[str, str] | None = None) -> str:
    """The URL the backoffice reads with: the dashboard role's (set by ``simbiosia backoffice``
    for the embedded warehouse, by the operator otherwise)."""
    env = os.environ if env is None else env
    url = env.get(DATABASE_URL_VARIABLE)
    if not url:
        raise ConfigurationError(
            f"{DATABASE_URL_VARIABLE} is not set: the backoffice reads the warehouse as the "
            "read-only dashboard role (`simbiosia db grant-dashboard-role NAME`)"
        )
    return url
