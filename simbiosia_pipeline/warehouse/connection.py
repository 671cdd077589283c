"""Where the warehouse is: ``SIMBIOSIA_DATABASE_URL`` when set, else the embedded server.

Everything that talks to the warehouse — the raw assets, dbt, the CLI, the tests — resolves the
connection here, so the Python side and dbt can never point at different databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.embedded import embedded_url

_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
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
    """Strip a SQLAlchemy driver suffix (``postgresql+psycopg://``) so libpq tools accept it."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme in _SCHEMES else url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + libpq_url(url).partition("://")[2]


def connection_params(url: str) -> dict[str, str]:
    """Host, port, user, password and database of a URL, for dbt's profile (via env vars)."""
    parts = urlsplit(libpq_url(url))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "localhost",
        "port": str(query.get("port") or parts.port or 5432),
        "user": unquote(parts.username or query.get("user") or "postgres"),
        "password": unquote(parts.password or query.get("password") or ""),
        "dbname": unquote(parts.path.lstrip("/") or query.get("dbname") or "postgres"),
    }


def redact(url: str) -> str:
    """The URL with its password replaced, safe for logs and messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@contextmanager
def connect(url: str, **kwargs) -> Iterator[psycopg.Connection]:
    """A psycopg connection; failures name the (redacted) URL instead of leaking it."""
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
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
    scheme = url.partition("://")[0]
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"SIMBIOSIA_DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme "
            f"{scheme!r}"
        )
    return libpq_url(url)
