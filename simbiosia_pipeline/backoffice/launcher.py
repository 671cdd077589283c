"""``simbiosia backoffice``: start the Streamlit app, safely.

* It listens on 127.0.0.1 unless told otherwise, and refuses any other address unless a login is
  configured (``SIMBIOSIA_BACKOFFICE_PASSWORD``, or an ``[auth]`` section in Streamlit's secrets).
* It reads as the read-only dashboard role: ``SIMBIOSIA_BACKOFFICE_DATABASE_URL`` when set;
  with the embedded warehouse it grants the role ``simbiosia_backoffice`` itself and connects as
  it. A configured ``SIMBIOSIA_DATABASE_URL`` (the pipeline's own credentials) is never used.
* The URL reaches Streamlit through the environment, never the command line (``ps`` shows that).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from simbiosia_pipeline.backoffice import auth
from simbiosia_pipeline.backoffice.config import DATABASE_URL_VARIABLE, is_loopback
from simbiosia_pipeline.settings import PROJECT_DIR, ConfigurationError, Settings

APP = Path(__file__).with_name("app.py")
EMBEDDED_ROLE = "simbiosia_backoffice"


def secrets_files() -> list[Path]:
    """Where Streamlit looks for its secrets, as the app is started (from the project)."""
    return [
        Path.home() / ".streamlit" / "secrets.toml",
        PROJECT_DIR / ".streamlit" / "secrets.toml",
    ]


def check_exposure(host: str, env: dict[str, str]) -> None:
    """Refuse a non-loopback address without any login configured."""
    if is_loopback(host):
        return
    if auth.password_configured(env) or auth.oidc_configured_in(secrets_files()):
        return
    raise ConfigurationError(
        f"refusing to listen on {host} without a login: set SIMBIOSIA_BACKOFFICE_PASSWORD, or "
        "configure Streamlit's OIDC login ([auth] in .streamlit/secrets.toml), or listen on "
        "127.0.0.1 behind a reverse proxy that authenticates"
    )


def with_user(url: str, user: str) -> str:
    """``url`` connecting as ``user`` without a password (the embedded server trusts its
    socket)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def dashboard_database_url(env: dict[str, str]) -> str:
    if env.get(DATABASE_URL_VARIABLE):
        return env[DATABASE_URL_VARIABLE]
    settings = Settings.from_env(env)
    if settings.database_url:
        raise ConfigurationError(
            f"set {DATABASE_URL_VARIABLE} to the dashboard role's URL (`simbiosia db "
            "grant-dashboard-role NAME`): the backoffice does not read with the pipeline's "
            "credentials"
        )
    from simbiosia_pipeline.warehouse.connection import connect, resolve_database_url
    from simbiosia_pipeline.warehouse.roles import grant_dashboard_role

    url = resolve_database_url(settings)
    with connect(url) as conn:
        grant_dashboard_role(conn, EMBEDDED_ROLE)
    return with_user(url, EMBEDDED_ROLE)


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8501, show_default=True)
def backoffice(host: str, port: int) -> None:
    """Start the cost dashboard (Streamlit) for operations and finance."""
    env = dict(os.environ)
    check_exposure(host, env)
    env[DATABASE_URL_VARIABLE] = dashboard_database_url(env)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Simbiosia backoffice on http://{shown}:{port}", err=True)
    os.chdir(PROJECT_DIR)
    command = streamlit_command(host, port)
    os.execve(command[0], command, env)  # noqa: S606 (replace this process: Ctrl-C stops it)
