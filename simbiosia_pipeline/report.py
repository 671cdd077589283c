"""What ``simbiosia run`` prints at the end: the window's counts and costs, from the warehouse."""

from __future__ import annotations

import click

from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.connection import connect, resolve_database_url

RAW_TOTALS = """
SELECT 'twilio calls' AS source, count(*) AS records,
       count(*) FILTER (WHERE price IS NULL) AS not_final,
       coalesce(sum(abs(price)), 0) AS cost, 'USD' AS unit
FROM raw.twilio_calls WHERE event_time >= %(start)s AND event_time < %(end)s
UNION ALL
SELECT 'elevenlabs conversations', count(*),
       count(*) FILTER (WHERE status NOT IN ('done', 'failed')),
       coalesce(sum(cost), 0), 'credits'
FROM raw.elevenlabs_conversations WHERE start_time >= %(start)s AND start_time < %(end)s
"""


def print_report(window: Window) -> None:
    with connect(resolve_database_url()) as conn:
        rows = conn.execute(RAW_TOTALS, {"start": window.start, "end": window.end}).fetchall()
    click.echo(f"\nWarehouse, {window}:")
    click.echo(f"  {'source':<26}{'records':>9}{'not final':>11}{'cost':>16}")
    for source, records, not_final, cost, unit in rows:
        click.echo(f"  {source:<26}{records:>9}{not_final:>11}{cost:>16} {unit}")
