"""``simbiosia`` — the project's command line.

simbiosia run                      ingest the last days from the configured source, build the
                                   snapshots and print what they cost
simbiosia backfill START END       what a UI backfill does, headless, with progress
simbiosia db url                   the warehouse URL in use (starts the embedded server)
simbiosia db grant-dashboard-role NAME
                                   a read-only role for the dashboard: what the backoffice reads
simbiosia ui                       the Dagster UI on 127.0.0.1
simbiosia backoffice               the cost dashboard (Streamlit) on 127.0.0.1
simbiosia sandbox serve            the API simulator over HTTP
"""

from __future__ import annotations

import sys

import click

from simbiosia_pipeline.settings import ConfigurationError, Settings


@click.group()
def main() -> None:
    """Simbiosia voice-AI cost pipeline."""


@main.group()
def db() -> None:
    """The warehouse."""


@db.command("url")
def db_url() -> None:
    """Print the warehouse URL (starting the embedded PostgreSQL if it is the one in use)."""
    from simbiosia_pipeline.warehouse.connection import resolve_database_url

    settings = Settings.from_env()
    url = resolve_database_url(settings)
    if not settings.database_url:
        click.echo(f"# embedded PostgreSQL, data in {settings.home / 'pgdata'}", err=True)
    click.echo(url)


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (it is left running between commands)."""
    from simbiosia_pipeline.warehouse.embedded import stop_embedded

    home = Settings.from_env().home
    click.echo("stopped" if stop_embedded(home) else f"no embedded server running under {home}")


@db.command("grant-dashboard-role")
@click.argument("name")
def db_grant_dashboard_role(name: str) -> None:
    """Let role NAME read what the backoffice reads, and nothing else.

    Creates the role (LOGIN, no password) if it does not exist; refuses the pipeline's own role,
    superusers and owners; takes back, saying so, anything more it held. See
    simbiosia_pipeline/warehouse/roles.py and sql/dashboard_role.sql.
    """
    from simbiosia_pipeline.warehouse.connection import connect, resolve_database_url
    from simbiosia_pipeline.warehouse.roles import grant_dashboard_role

    with connect(resolve_database_url()) as conn:
        report = grant_dashboard_role(conn, name)
    for revoked in report.revoked:
        click.echo(f"role {name}: revoked {revoked}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"role {name}: {'created, ' if report.created else ''}reads "
        f"{', '.join(report.relations)} only"
    )
    if report.created:
        click.echo(f"set its password with: ALTER ROLE \"{name}\" PASSWORD '...';")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=3000, show_default=True, help="Port of the UI.")
def ui(host: str, port: int) -> None:
    """The Dagster UI and daemon (workspace.yaml), their logs in a file.

    A port already in use fails at once, starting nothing. See dagster_ui.py.
    """
    from simbiosia_pipeline.dagster_ui import serve

    sys.exit(0 if serve(host, port) else 1)


def _register_commands() -> None:
    from simbiosia_pipeline.backoffice.launcher import backoffice
    from simbiosia_pipeline.commands import backfill, run
    from simbiosia_pipeline.sandbox.cli import sandbox

    for command in (run, backfill, sandbox, backoffice):
        main.add_command(command)


_register_commands()


def entrypoint() -> None:
    try:
        main(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
