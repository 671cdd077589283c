"""Runtime configuration, read from environment variables in one place, validated once.

Every knob the operator can turn is listed here with its default and its range, so the README
table and the code cannot drift apart, and a bad value is refused when the settings are read —
at the start of a command, a run or the code location — with one line naming the variable
(``ConfigurationError``), never later as an overflow, a retried request or a traceback.

Secrets are *not* kept here: they are resolved by the resources that need them
(``dagster.EnvVar``) so that they never travel inside a settings object that might be logged.
``check_credentials`` only looks at their shape (present, no whitespace) and never repeats them.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_WORKSPACES_FILE = PACKAGE_DIR / "sandbox" / "workspaces.yaml"

# The earliest first partition: neither API has records from before (Twilio's call logs start
# in 2008, ElevenLabs' agents in 2023); a year 1 start would make millions of empty partitions.
EARLIEST_START_DATE = date(2008, 1, 1)
CONCURRENCY_RANGE = (1, 64)  # concurrent ElevenLabs requests: more is a flood, not a budget
STEP_RETRIES_RANGE = (0, 10)
SETTLE_MAX_AGE_RANGE = (timedelta(hours=1), timedelta(days=3660))  # up to ten years
STEP_RETRY_DELAY_RANGE = (timedelta(0), timedelta(hours=1))
RECONCILE_AGE_RANGE = (timedelta(0), timedelta(days=366))  # providers finalise within days
CREDENTIAL_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "ELEVENLABS_API_KEY")
ALERT_WEBHOOK_VARIABLE = "SIMBIOSIA_ALERT_WEBHOOK_URL"  # a secret: whoever holds it may post
SMTP_PASSWORD_VARIABLE = "SIMBIOSIA_SMTP_PASSWORD"  # noqa: S105 — a variable's name
SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_SHOWN_CHARACTERS = 60  # of a refused value, in its message (one line, whatever was given)


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
class AlertEmail:
    """Where email alerts go and through which SMTP server (the password is a secret: not here,
    the ``AlertChannels`` resource reads it as an ``EnvVar``)."""

    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    username: str | None
    security: str  # starttls | ssl | none


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
    twilio_base_url: str | None = None
    elevenlabs_base_url: str | None = None
    # Reconciliation with the providers' bills (billing_reconciliation; README "Reconciliation").
    reconcile_tolerance: ReconcileTolerance = field(default_factory=lambda: ReconcileTolerance())
    reconcile_final_after: timedelta = timedelta(hours=96)
    reconcile_pending_max_age: timedelta = timedelta(days=7)
    alert_email: AlertEmail | None = None  # None: no email alerts
    smtp_password_set: bool = False  # whether SIMBIOSIA_SMTP_PASSWORD is set (never its value)
    # The first partition is the sandbox's history start (sandbox mode, no SIMBIOSIA_START_DATE).
    starts_with_sandbox_history: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Every setting of ``env`` (default: the process environment), each checked; the first
        bad one raises ``ConfigurationError`` naming it."""
        env = dict(os.environ if env is None else env)
        source = _enum(env, "SIMBIOSIA_SOURCE", SourceMode, SourceMode.SANDBOX)
        home = _path(env, "SIMBIOSIA_HOME", PROJECT_DIR / ".simbiosia").resolve()
        sandbox_history = source is SourceMode.SANDBOX and not env.get("SIMBIOSIA_START_DATE")
        return cls(
            source=source,
            start_date=(
                sandbox_start_date(home)
                if sandbox_history
                else _start_date(env, "SIMBIOSIA_START_DATE", LIVE_START_DATE)
            ),
            starts_with_sandbox_history=sandbox_history,
            database_url=_database_url(env, "SIMBIOSIA_DATABASE_URL"),
            home=home,
            workspaces_file=_workspaces_file(env, "SIMBIOSIA_WORKSPACES_FILE", source),
            reporting_tz=_time_zone(env, "SIMBIOSIA_REPORTING_TZ", "Europe/Madrid"),
            settle_max_age=_duration(
                env, "SIMBIOSIA_SETTLE_MAX_AGE", timedelta(hours=48), SETTLE_MAX_AGE_RANGE
            ),
            store_transcripts=_bool(env, "SIMBIOSIA_STORE_TRANSCRIPTS", False),
            elevenlabs_concurrency=_int(
                env, "SIMBIOSIA_ELEVENLABS_CONCURRENCY", 8, CONCURRENCY_RANGE
            ),
            elevenlabs_reserved_concurrency=_int(
                env, "SIMBIOSIA_ELEVENLABS_RESERVED_CONCURRENCY", 2, CONCURRENCY_RANGE
            ),
            alert_webhook_url=_http_url(env, ALERT_WEBHOOK_VARIABLE, secret=True),
            step_retries=_int(env, "SIMBIOSIA_STEP_RETRIES", 3, STEP_RETRIES_RANGE),
            automation_enabled=_bool(env, "SIMBIOSIA_AUTOMATION", True),
            step_retry_delay_seconds=_duration(
                env, "SIMBIOSIA_STEP_RETRY_DELAY", timedelta(seconds=20), STEP_RETRY_DELAY_RANGE
            ).total_seconds(),
            twilio_base_url=_http_url(env, "TWILIO_API_BASE_URL"),
            elevenlabs_base_url=_http_url(env, "ELEVENLABS_API_BASE_URL"),
            reconcile_tolerance=_tolerance(env, "SIMBIOSIA_RECONCILE_TOLERANCE"),
            reconcile_final_after=_duration(
                env, "SIMBIOSIA_RECONCILE_FINAL_AFTER", timedelta(hours=96), RECONCILE_AGE_RANGE
            ),
            reconcile_pending_max_age=_duration(
                env,
                "SIMBIOSIA_RECONCILE_PENDING_MAX_AGE",
                timedelta(days=7),
                RECONCILE_AGE_RANGE,
            ),
            alert_email=alert_email(env),
            smtp_password_set=bool(env.get(SMTP_PASSWORD_VARIABLE)),
        )

    @property
    def start_datetime(self) -> datetime:
        return datetime(
            self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC
        )


def check_credentials(source: SourceMode, env: dict[str, str] | None = None) -> None:
    """In ``live`` mode every credential must be set, without whitespace or control characters
    (a key pasted with its newline would otherwise become a header-injection error, retried).
    The message names the variable, never its value."""
    if source is not SourceMode.LIVE:
        return
    env = dict(os.environ if env is None else env)
    missing = [name for name in CREDENTIAL_VARIABLES if not env.get(name)]
    if missing:
        raise ConfigurationError(
            f"{', '.join(missing)} must be set when SIMBIOSIA_SOURCE=live (the API credentials)"
        )
    for name in CREDENTIAL_VARIABLES:
        if any(character.isspace() or not character.isprintable() for character in env[name]):
            raise ConfigurationError(
                f"{name} holds whitespace or a control character (a trailing newline?): "
                "set it to the credential alone"
            )


def secret_values(names: Iterable[str]) -> dict[str, str]:
    """The values of the secret variables ``names`` that are set: for removing them from texts
    (alerts, logs), never for use — resources read their secrets as ``dagster.EnvVar``."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def alert_email(env: dict[str, str]) -> AlertEmail | None:
    """None when ``SIMBIOSIA_ALERT_EMAIL_TO`` is unset (no email alerts)."""
    to = tuple(
        a.strip() for a in (env.get("SIMBIOSIA_ALERT_EMAIL_TO") or "").split(",") if a.strip()
    )
    if not to:
        return None
    security = (env.get("SIMBIOSIA_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY_PORTS:
        raise ConfigurationError(
            f"SIMBIOSIA_SMTP_SECURITY={_shown(security)} is not one of: "
            + ", ".join(SMTP_SECURITY_PORTS)
        )
    port = env.get("SIMBIOSIA_SMTP_PORT") or str(SMTP_SECURITY_PORTS[security])
    if not port.isdigit():
        raise ConfigurationError(f"SIMBIOSIA_SMTP_PORT={_shown(port)} is not a port number")
    return AlertEmail(
        to=to,
        sender=env.get("SIMBIOSIA_ALERT_EMAIL_FROM") or f"simbiosia-alerts@{socket.getfqdn()}",
        host=env.get("SIMBIOSIA_SMTP_HOST") or "localhost",
        port=int(port),
        username=env.get("SIMBIOSIA_SMTP_USER") or None,
        security=security,
    )


def _shown(raw: str) -> str:
    """A refused value as its message shows it: quoted, escaped (one line), cut short."""
    text = raw if len(raw) <= _SHOWN_CHARACTERS else raw[:_SHOWN_CHARACTERS] + "…"
    return repr(text)


def _enum(env, name, kind, default):
    raw = env.get(name)
    if not raw:
        return default
    try:
        return kind(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ConfigurationError(f"{name}={_shown(raw)} is not one of: {allowed}") from None


# The first hourly partition. Live: SIMBIOSIA_START_DATE, default below. Sandbox without
# SIMBIOSIA_START_DATE: the sandbox's history, which begins where the first `simbiosia run` of
# this SIMBIOSIA_HOME began (recorded in SANDBOX_START_FILE), else SANDBOX_HISTORY_DAYS before
# today — so a fresh `make run` + `make ui` shows every partition filled, not months missing.
LIVE_START_DATE = date(2025, 8, 1)
SANDBOX_HISTORY_DAYS = 3
SANDBOX_START_FILE = "sandbox_start_date"


def sandbox_start_date(home: Path, today: date | None = None) -> date:
    """The first day of the sandbox's history for this home (see LIVE_START_DATE)."""
    recorded = home / SANDBOX_START_FILE
    if recorded.exists():
        return date.fromisoformat(recorded.read_text().strip())
    return (today or datetime.now(UTC).date()) - timedelta(days=SANDBOX_HISTORY_DAYS)


def record_sandbox_start(home: Path, start: date) -> date:
    """Fix the sandbox's history start for this home, unless already fixed; the start in force."""
    recorded = home / SANDBOX_START_FILE
    if not recorded.exists():
        home.mkdir(parents=True, exist_ok=True)
        recorded.write_text(f"{start.isoformat()}\n")
    return sandbox_start_date(home)


def _start_date(env, name, default):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"{name}={_shown(raw)} is not a date (expected YYYY-MM-DD)"
        ) from None
    today = datetime.now(UTC).date()
    if not EARLIEST_START_DATE <= value <= today:
        raise ConfigurationError(
            f"{name}={_shown(raw)} must be between {EARLIEST_START_DATE} and today ({today})"
        )
    return value


def _int(env, name, default, bounds):
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={_shown(raw)} is not an integer") from None
    low, high = bounds
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={_shown(raw)} must be between {low} and {high}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 3600}


def _duration(env, name, default, bounds):
    """``48h``, ``2d``, ``90m``, ``30s`` or a bare number of hours, within ``bounds``."""
    raw = env.get(name)
    if not raw:
        return default
    match = _DURATION.match(raw.lower())
    if not match:
        raise ConfigurationError(f"{name}={_shown(raw)} is not a duration (e.g. 48h, 2d, 90m)")
    amount, unit = match.groups()
    seconds = float(amount) * _UNIT_SECONDS[unit]
    low, high = bounds
    if not math.isfinite(seconds) or not low.total_seconds() <= seconds <= high.total_seconds():
        raise ConfigurationError(
            f"{name}={_shown(raw)} must be between {_describe(low)} and {_describe(high)}"
        )
    return timedelta(seconds=seconds)


def _describe(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _tolerance(env, name) -> ReconcileTolerance:
    """``ABSOLUTE,RELATIVE`` — e.g. ``0.01,0.001`` (one cent or credit, or 0.1 %)."""
    raw = env.get(name)
    if not raw:
        return ReconcileTolerance()
    try:
        absolute, relative = (Decimal(part.strip()) for part in raw.split(","))
    except (ValueError, ArithmeticError):
        raise ConfigurationError(
            f"{name}={_shown(raw)} is not ABSOLUTE,RELATIVE (e.g. 0.01,0.001)"
        ) from None
    if absolute < 0 or relative < 0 or not absolute.is_finite() or not relative.is_finite():
        raise ConfigurationError(f"{name}={_shown(raw)}: both tolerances must be >= 0")
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
    raise ConfigurationError(f"{name}={_shown(raw)} is not a boolean (true/false)")


def _path(env, name, default: Path) -> Path:
    raw = env.get(name)
    if not raw:
        return Path(default)
    if not raw.isprintable():
        raise ConfigurationError(f"{name}={_shown(raw)} holds a control character")
    return Path(raw)


def _workspaces_file(env, name, source: SourceMode) -> Path:
    """The sandbox's fictional workspaces are a default for the sandbox only: with the real
    APIs they would silently attribute real money to invented customers."""
    if source is SourceMode.LIVE and not env.get(name):
        raise ConfigurationError(
            f"{name} must be set when SIMBIOSIA_SOURCE=live: the default is the sandbox's "
            "fictional workspaces, which would attribute real costs to invented customers"
        )
    return _path(env, name, SANDBOX_WORKSPACES_FILE)


def _time_zone(env, name, default):
    raw = env.get(name)
    if not raw:
        return default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{name}={_shown(raw)} is not an IANA time zone (e.g. Europe/Madrid)"
        ) from None
    return raw


def _http_url(env, name, secret: bool = False) -> str | None:
    """An ``http(s)://host…`` URL. A secret one (a webhook authorises whoever holds it) is
    refused without being shown."""
    raw = env.get(name)
    if not raw:
        return None
    shown = "" if secret else f"={_shown(raw)}"
    if not raw.isprintable() or any(character.isspace() for character in raw):
        raise ConfigurationError(f"{name}{shown} holds whitespace or a control character")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 — raises on a port that is not a number or out of range
    except ValueError:
        raise ConfigurationError(f"{name}{shown} is not a URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"{name}{shown} must be an http:// or https:// URL with a host")
    if not secret and (parts.username or parts.password):
        raise ConfigurationError(f"{name} must not hold credentials (user:password@)")
    return raw


def _database_url(env, name) -> str | None:
    raw = env.get(name)
    if not raw:
        return None
    from simbiosia_pipeline.warehouse.address import AddressError, parse_address

    try:
        parse_address(raw)
    except AddressError as exc:  # never shown: the value holds a password
        raise ConfigurationError(f"{name} {exc}") from None
    return raw
