"""Where the warehouse is: ``SIMBIOSIA_DATABASE_URL`` when set, else the embedded server.

Everything that talks to the warehouse — the raw assets, dbt, the CLI, the tests — resolves the
connection here, so the Python side and dbt can never point at different databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.address import (
    AddressError,
    address_url,
    libpq_address,
    parse_address,
    passwords_of,
    redact_address,
    redact_text,
)
from simbiosia_pipeline.warehouse.embedded import embedded_url

# A server that answers with one of these is there, but cannot take the connection right now.
_SERVER_BUSY = (
    "starting up",
    "shutting down",
    "in recovery mode",
    "too many clients",
    "too many connections",
)


class WarehouseUnavailableError(ConfigurationError):
    """Nothing answered at the warehouse's address, or the server was starting or stopping.

    Either the URL is wrong or the server is down or restarting; only time tells them apart, so
    the raw assets retry (their step ``RetryPolicy``) before the run fails with this message.
    A server that answers and refuses (no such database, wrong password) is a plain
    ``ConfigurationError``: retrying cannot fix it.
    """


def resolve_database_url(settings: Settings | None = None) -> str:
    """The libpq URL of the warehouse, starting the embedded server if that is the one in use."""
    settings = settings or Settings.from_env()
    if settings.database_url:
        return _validated(settings.database_url)
    return embedded_url(settings.home)


def libpq_url(url: str) -> str:
    """The address as libpq takes it (no SQLAlchemy driver suffix, the password encoded)."""
    try:
        return libpq_address(url)
    except AddressError as exc:
        raise ConfigurationError(f"the warehouse address {exc}") from None


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + address_url(_params(url)).partition("://")[2]


def connection_params(url: str) -> dict[str, str]:
    """Host, port, user, password and database of an address, for dbt's profile (env vars)."""
    params = _params(url)
    return {
        "host": params.get("host") or "localhost",
        "port": params.get("port") or "5432",
        "user": params.get("user") or "postgres",
        "password": params.get("password") or "",
        "dbname": params.get("dbname") or "postgres",
    }


def redact(url: str) -> str:
    """The address with its password replaced, safe for logs and messages."""
    return redact_address(url)


def _params(url: str) -> dict[str, str]:
    try:
        return parse_address(url)
    except AddressError as exc:
        raise ConfigurationError(f"the warehouse address {exc}") from None


@contextmanager
def connect(url: str, **kwargs) -> Iterator[psycopg.Connection]:
    """A psycopg connection; failures name the (redacted) URL instead of leaking it."""
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10, **kwargs)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        # libpq quotes the address back in some of its messages: hide the password there too.
        text = redact_text(str(exc), passwords_of(url)).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        error = WarehouseUnavailableError if _is_unavailable(str(exc)) else ConfigurationError
        raise error(f"cannot connect to the warehouse at {redact(url)}: {reason}") from None
    with conn:
        yield conn


def _is_unavailable(message: str) -> bool:
    """Whether a failed connection may succeed later: no answer at all (refused, no socket,
    timeout) or a server that is starting or stopping — not one that answered with a refusal."""
    if "FATAL:" in message:
        return any(busy in message for busy in _SERVER_BUSY)
    return "could not translate host name" not in message


def _validated(url: str) -> str:
    try:
        parse_address(url)
    except AddressError as exc:
        raise ConfigurationError(f"SIMBIOSIA_DATABASE_URL {exc}") from None
    return libpq_url(url)
