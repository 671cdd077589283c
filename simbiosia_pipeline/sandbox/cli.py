"""``simbiosia sandbox …``: serve the simulated APIs, or print what they hold."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from simbiosia_pipeline.sandbox.clock import iso_z, parse_iso
from simbiosia_pipeline.sandbox.config import DEFAULT_HISTORY_START, SandboxConfig
from simbiosia_pipeline.sandbox.credentials import credential_sources, credentials_from_env
from simbiosia_pipeline.sandbox.faults import FaultConfig
from simbiosia_pipeline.sandbox.server import SandboxServer
from simbiosia_pipeline.sandbox.simulator import Sandbox


def _timestamp(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or datetime") from None


def _rate(name: str, help_text: str):
    return click.option(
        f"--{name}-rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        show_default=True,
        help=help_text,
    )


@click.group(name="sandbox")
def sandbox() -> None:
    """The Twilio + ElevenLabs API simulator (no credentials or network needed)."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--scale", default=1.0, show_default=True, type=float, help="Traffic multiplier.")
@click.option("--days", type=int, help="History starts this many days before now.")
@click.option(
    "--history-start",
    callback=_timestamp,
    help=f"First moment with records [default: {DEFAULT_HISTORY_START.date()}].",
)
@click.option("--now", callback=_timestamp, help="Fix the clock (ISO-8601) [default: wall clock].")
@click.option("--latency-ms", type=float, default=0.0, show_default=True)
@click.option("--jitter-ms", type=float, default=0.0, show_default=True)
@click.option("--max-concurrency", type=int, help="In-flight limit for both APIs (429 beyond).")
@click.option("--twilio-max-concurrency", type=int, help="Overrides --max-concurrency.")
@click.option("--elevenlabs-max-concurrency", type=int, help="Overrides --max-concurrency.")
@click.option("--retry-after-s", type=int, default=1, show_default=True)
@click.option("--no-retry-after", is_flag=True, help="Send 429/503 without Retry-After.")
@_rate("error", "500/503 answers.")
@_rate("hang", "Answers delayed by --hang-seconds.")
@click.option("--hang-seconds", type=float, default=30.0, show_default=True)
@_rate("truncate", "200 answers with the JSON cut short.")
@_rate("reset", "Connections dropped mid-body.")
@_rate("duplicate", "Twilio pages repeating records of the previous page.")
@_rate("cursor-expiry", "ElevenLabs cursors refused as invalid.")
@_rate("missing-detail", "Conversations whose detail is permanently 404.")
@click.option(
    "--price-unit",
    default="USD",
    show_default=True,
    help="The Twilio account's currency (ISO 4217): every call price is served in it.",
)
@click.option(
    "--zero-price-unanswered",
    is_flag=True,
    help='Price unanswered calls "0.00000" (the old sandbox) instead of null for good.',
)
def serve(**options) -> None:
    """Serve both APIs until Ctrl-C."""
    try:
        config, faults = _serve_settings(options)
        server = SandboxServer(Sandbox(config), faults, options["host"], options["port"])
    except ValueError as problem:
        raise click.UsageError(str(problem)) from None
    except OSError as problem:
        raise click.ClickException(
            f"cannot listen on {options['host']}:{options['port']}: {problem}"
        ) from None
    clock = "wall clock" if config.now is None else f"fixed at {iso_z(config.now)}"
    click.echo(f"Sandbox serving on {server.url}")
    click.echo(f"  seed {config.seed}, scale {config.scale}, {clock}")
    click.echo(f"  history from {iso_z(config.history_start)}")
    click.echo(f"  Twilio prices in {config.price_unit}")
    click.echo(f"  TWILIO_API_BASE_URL={server.url}  ELEVENLABS_API_BASE_URL={server.url}")
    for line in credential_sources():
        click.echo(f"  {line}")
    click.echo(f"  admin: {server.url}/_sandbox/clock, /_sandbox/stats, /_sandbox/faults")
    server.run()


def _serve_settings(options: dict) -> tuple[SandboxConfig, FaultConfig]:
    config = SandboxConfig(
        seed=options["seed"],
        scale=options["scale"],
        history_start=options["history_start"] or DEFAULT_HISTORY_START,
        now=options["now"],
        days=options["days"],
        price_unit=options["price_unit"],
        zero_price_unanswered=options["zero_price_unanswered"],
        **credentials_from_env(),
    )
    both = options["max_concurrency"]
    twilio, elevenlabs = options["twilio_max_concurrency"], options["elevenlabs_max_concurrency"]
    faults = FaultConfig(
        latency_ms=options["latency_ms"],
        jitter_ms=options["jitter_ms"],
        twilio_max_concurrency=both if twilio is None else twilio,
        elevenlabs_max_concurrency=both if elevenlabs is None else elevenlabs,
        retry_after=not options["no_retry_after"],
        retry_after_s=options["retry_after_s"],
        error_rate=options["error_rate"],
        hang_rate=options["hang_rate"],
        hang_seconds=options["hang_seconds"],
        truncate_rate=options["truncate_rate"],
        reset_rate=options["reset_rate"],
        duplicate_rate=options["duplicate_rate"],
        cursor_expiry_rate=options["cursor_expiry_rate"],
        missing_detail_rate=options["missing_detail_rate"],
    )
    return config, faults


@sandbox.command()
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--scale", default=1.0, show_default=True, type=float)
@click.option("--now", callback=_timestamp, help="Clock reading (ISO-8601) [default: now].")
def summary(days: int, seed: int, scale: float, now: datetime | None) -> None:
    """Print what the sandbox holds for the last DAYS days."""
    box = Sandbox(SandboxConfig(seed=seed, scale=scale, now=now))
    end = box.now()
    for line in box.summary(end - timedelta(days=days), end).lines():
        click.echo(line)
