"""Runtime configuration, read from environment variables in one place.

Every knob the operator can turn is listed here with its default, so the README table and the
code cannot drift apart. Secrets are *not* read here: they are resolved by the resources that
need them (``dagster.EnvVar``) so that they never travel inside a settings object that might be
logged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_WORKSPACES_FILE = PACKAGE_DIR / "sandbox" / "workspaces.yaml"


class ConfigurationError(ValueError):
    """A setting has a value the pipeline cannot work with; the message names the variable."""


class SourceMode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


@dataclass(frozen=True)
class ReconcileTolerance:
    """How far our sum may be from the provider's and still be ``ok``: the larger of an
    absolute amount (in the row's currency, or credits) and a share of the provider's amount."""

    absolute: Decimal = Decimal("0.01")
    relative: Decimal = Decimal("0.001")


@dataclass(frozen=True)
class Settings:
    source: SourceMode
    start_date: date
    database_url: str | None
    home: Path
    workspaces_file: Path
    reporting_tz: str
    settle_max_age: timedelta
    store_transcripts: bool
    elevenlabs_concurrency: int
    elevenlabs_reserved_concurrency: int
    alert_webhook_url: str | None
    step_retries: int
    automation_enabled: bool
    step_retry_delay_seconds: float
    # Reconciliation with the providers' bills (billing_reconciliation; README "Reconciliation").
    reconcile_tolerance: ReconcileTolerance = field(default_factory=lambda: ReconcileTolerance())
    reconcile_final_after: timedelta = timedelta(hours=96)
    reconcile_pending_max_age: timedelta = timedelta(days=7)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            source=_enum(env, "SIMBIOSIA_SOURCE", SourceMode, SourceMode.SANDBOX),
            start_date=_date(env, "SIMBIOSIA_START_DATE", date(2025, 8, 1)),
            database_url=env.get("SIMBIOSIA_DATABASE_URL") or None,
            home=Path(env.get("SIMBIOSIA_HOME") or PROJECT_DIR / ".simbiosia").resolve(),
            workspaces_file=Path(env.get("SIMBIOSIA_WORKSPACES_FILE") or SANDBOX_WORKSPACES_FILE),
            reporting_tz=env.get("SIMBIOSIA_REPORTING_TZ") or "Europe/Madrid",
            settle_max_age=_duration(env, "SIMBIOSIA_SETTLE_MAX_AGE", timedelta(hours=48)),
            store_transcripts=_bool(env, "SIMBIOSIA_STORE_TRANSCRIPTS", False),
            elevenlabs_concurrency=_int(env, "SIMBIOSIA_ELEVENLABS_CONCURRENCY", 8, minimum=1),
            elevenlabs_reserved_concurrency=_int(
                env, "SIMBIOSIA_ELEVENLABS_RESERVED_CONCURRENCY", 2, minimum=1
            ),
            alert_webhook_url=env.get("SIMBIOSIA_ALERT_WEBHOOK_URL") or None,
            step_retries=_int(env, "SIMBIOSIA_STEP_RETRIES", 3),
            automation_enabled=_bool(env, "SIMBIOSIA_AUTOMATION", True),
            step_retry_delay_seconds=_duration(
                env, "SIMBIOSIA_STEP_RETRY_DELAY", timedelta(seconds=20)
            ).total_seconds(),
            reconcile_tolerance=_tolerance(env, "SIMBIOSIA_RECONCILE_TOLERANCE"),
            reconcile_final_after=_duration(
                env, "SIMBIOSIA_RECONCILE_FINAL_AFTER", timedelta(hours=96)
            ),
            reconcile_pending_max_age=_duration(
                env, "SIMBIOSIA_RECONCILE_PENDING_MAX_AGE", timedelta(days=7)
            ),
        )

    @property
    def start_datetime(self) -> datetime:
        return datetime(
            self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC
        )


def _enum(env, name, kind, default):
    raw = env.get(name)
    if not raw:
        return default
    try:
        return kind(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ConfigurationError(f"{name}={raw!r} is not one of: {allowed}") from None


def _date(env, name, default):
    raw = env.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a date (expected YYYY-MM-DD)") from None


def _int(env, name, default, minimum=0):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} must be at least {minimum}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "hours"}


def _duration(env, name, default):
    """``48h``, ``2d``, ``90m`` or a bare number of hours."""
    raw = env.get(name)
    if not raw:
        return default
    match = _DURATION.match(raw.lower())
    if not match:
        raise ConfigurationError(f"{name}={raw!r} is not a duration (e.g. 48h, 2d, 90m)")
    amount, unit = match.groups()
    return timedelta(**{_DURATION_UNITS[unit]: float(amount)})


def _tolerance(env, name) -> ReconcileTolerance:
    """``ABSOLUTE,RELATIVE`` — e.g. ``0.01,0.001`` (one cent or credit, or 0.1 %)."""
    raw = env.get(name)
    if not raw:
        return ReconcileTolerance()
    try:
        absolute, relative = (Decimal(part.strip()) for part in raw.split(","))
    except (ValueError, ArithmeticError):
        raise ConfigurationError(
            f"{name}={raw!r} is not ABSOLUTE,RELATIVE (e.g. 0.01,0.001)"
        ) from None
    if absolute < 0 or relative < 0 or not absolute.is_finite() or not relative.is_finite():
        raise ConfigurationError(f"{name}={raw!r}: both tolerances must be >= 0")
    return ReconcileTolerance(absolute, relative)


def _bool(env, name, default):
    raw = env.get(name)
    if not raw:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (true/false)")
