"""What ``simbiosia run`` prints at the end: the window's costs per workspace (warehouse), which
days of the reporting time zone are complete, and the reconciliation of its days with what the
providers bill."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import click

from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.connection import connect, resolve_database_url

# From the snapshots (what the dashboard reads); credits converted at the rate of their hour.
WORKSPACE_COSTS = """
WITH twilio AS (
    SELECT workspace_id, sum(total_calls) AS calls, sum(real_minutes) AS minutes,
           sum(total_cost) AS usd, sum(unpriced_calls) AS unpriced,
           sum(unconverted_calls) AS unconverted
      FROM public.twilio_snapshots
     WHERE snapshot_date >= %(start)s AND snapshot_date < %(end)s
     GROUP BY 1
), elevenlabs AS (
    SELECT snapshots.workspace_id, sum(total_conversations) AS conversations,
           sum(total_cost) AS credits, sum(total_cost * rates.usd_per_credit) AS usd,
           sum(unsettled_conversations) AS unsettled
      FROM public.elevenlabs_snapshots AS snapshots
      LEFT JOIN public.elevenlabs_credit_rates AS rates
        ON snapshots.snapshot_date >= rates.valid_from
       AND (rates.valid_to IS NULL OR snapshots.snapshot_date < rates.valid_to)
     WHERE snapshot_date >= %(start)s AND snapshot_date < %(end)s
     GROUP BY 1
)
SELECT workspaces.id, workspaces.name,
       coalesce(twilio.calls, 0), coalesce(twilio.minutes, 0), coalesce(twilio.usd, 0),
       coalesce(elevenlabs.conversations, 0), coalesce(elevenlabs.credits, 0),
       coalesce(elevenlabs.usd, 0),
       coalesce(twilio.usd, 0) + coalesce(elevenlabs.usd, 0),
       coalesce(twilio.unpriced, 0) + coalesce(elevenlabs.unsettled, 0),
       coalesce(twilio.unconverted, 0)
  FROM public.workspaces
  LEFT JOIN twilio ON twilio.workspace_id = workspaces.id
  LEFT JOIN elevenlabs ON elevenlabs.workspace_id = workspaces.id
 ORDER BY workspaces.id
"""

HEADER = (
    f"{'id':>3} {'workspace':<22}{'calls':>7}{'minutes':>9}{'Twilio USD':>12}"
    f"{'convs':>7}{'EL credits':>12}{'EL USD':>10}{'total USD':>11}{'pending':>9}"
)


def print_report(window: Window) -> None:
    with connect(resolve_database_url()) as conn:
        rows = conn.execute(WORKSPACE_COSTS, {"start": window.start, "end": window.end}).fetchall()
    click.echo(
        f"\nCosts per workspace, {window} (pending = costs that may still change: answered calls"
        " not priced yet, conversations not finished):"
    )
    click.echo(HEADER)
    totals = [0] * 8
    unconverted = 0
    for workspace_id, name, *figures, workspace_unconverted in rows:
        click.echo(_line(str(workspace_id), name, figures))
        totals = [total + figure for total, figure in zip(totals, figures, strict=True)]
        unconverted += workspace_unconverted
    click.echo(_line("", "all workspaces", totals))
    if unconverted:
        click.echo(
            f"{unconverted} Twilio call(s) priced in a currency without a USD rate are not in "
            "these USD totals: add the rate under pricing.usd_per_currency_unit in the "
            "workspaces file (see the check prices_convertible_to_usd)."
        )


def _line(workspace_id: str, name: str, figures: list) -> str:
    calls, minutes, twilio_usd, conversations, credits, el_usd, total_usd, pending = figures
    return (
        f"{workspace_id:>3} {name[:21]:<22}{calls:>7}{minutes:>9}{twilio_usd:>12.4f}"
        f"{conversations:>7}{credits:>12}{el_usd:>10.4f}{total_usd:>11.4f}{pending:>9}"
    )


# The reporting days the window touches, from the dbt view (hours both raw sources ingested).
COMPLETENESS = """
SELECT day, hours_loaded, hours_expected, is_complete
  FROM public.daily_completeness
 WHERE day BETWEEN %(first)s AND %(last)s
 ORDER BY day
"""


def print_completeness(window: Window, reporting_tz: str) -> None:
    """One line per local day of the window: its loaded hours, and whether its costs are whole.

    A day the window only partly covers reads as incomplete unless its other hours were loaded
    before: its totals are not the day's spend yet."""
    zone = ZoneInfo(reporting_tz)
    first = window.start.astimezone(zone).date()
    last = (window.end - timedelta(hours=1)).astimezone(zone).date()
    with connect(resolve_database_url()) as conn:
        rows = conn.execute(COMPLETENESS, {"first": first, "last": last}).fetchall()
    click.echo(f"\nDays in {reporting_tz} (incomplete: hours not loaded, totals partial):")
    for day, loaded, expected, complete in rows:
        status = "complete" if complete else "INCOMPLETE"
        click.echo(f"{day} {loaded:>2}/{expected} hours loaded  {status}")


# One line per provider and day: Twilio's `total` (everything billed) and ElevenLabs' `agents`;
# the day's status is its worst category's.
RECONCILIATION = """
SELECT day, provider,
       sum(our_amount) FILTER (WHERE category IN ('total', 'agents')) AS ours,
       sum(provider_amount) FILTER (WHERE category IN ('total', 'agents')) AS theirs,
       max(currency) AS currency,
       (array_agg(status ORDER BY array_position(
            ARRAY['mismatch', 'no_provider_data', 'provider_pending', 'ok'], status)))[1]
  FROM public.billing_reconciliation
 WHERE day BETWEEN %(first)s AND %(last)s
 GROUP BY day, provider
 ORDER BY day, provider
"""


def print_reconciliation(first: date, last: date) -> None:
    with connect(resolve_database_url()) as conn:
        rows = conn.execute(RECONCILIATION, {"first": first, "last": last}).fetchall()
    click.echo(
        f"\nReconciliation with the providers' bills, {first}..{last} (UTC days; details in "
        "public.billing_reconciliation):"
    )
    for day, provider, ours, theirs, currency, status in rows:
        click.echo(
            f"{day} {provider:<11} ours {amount_text(ours)} {currency:<8} "
            f"theirs {amount_text(theirs)} {currency:<8} {status}"
        )


def amount_text(amount) -> str:
    """An exact amount without trailing zeros (2.91600 and 2.916 print alike); '-' for none."""
    if amount is None:
        return "-"
    return format(amount.normalize(), "f")
