"""Load a directory into the warehouse: all its tables replaced in one transaction.

Readers (dbt runs, the dashboard) see the old directory or the new one, never a mix. Workspaces
are upserted rather than recreated, so ``created_at`` survives reloads and ``updated_at`` moves
only when a workspace's name or primary number actually changes; the other tables are plain
replacements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import tuple_row

from simbiosia_pipeline.workspaces.changes import (
    Attribution,
    attribution_changed_since,
    currency_rates_changed_since,
)
from simbiosia_pipeline.workspaces.models import Directory
from simbiosia_pipeline.workspaces.schema import ensure_directory_schema

# What the old system stored as the catch-all's number; kept for any workspace without a primary.
UNKNOWN_NUMBER = "unknown"


@dataclass(frozen=True)
class DirectorySummary:
    workspaces: int
    phone_assignments: int
    phone_numbers: int
    agents: int
    credit_rates: int
    content_hash: str
    # The earliest moment whose snapshots change with this load — by attribution or by a currency
    # rate (None: nothing changed).
    restate_from: datetime | None = None
    currency_rates: int = 0


def write_directory(conn: psycopg.Connection, directory: Directory) -> DirectorySummary:
    """Make the warehouse's directory tables say exactly what ``directory`` says."""
    workspace_rows = [
        (ws.id, ws.name, ws.primary_number or UNKNOWN_NUMBER) for ws in directory.workspaces
    ]
    phone_rows = [
        (ws.id, phone.number, phone.primary, phone.valid_from, phone.valid_to)
        for ws in directory.workspaces
        for phone in ws.phones
    ]
    agent_rows = [(agent_id, ws.id) for ws in directory.workspaces for agent_id in ws.agents]
    budget_rows = [
        (ws.id, ws.budgets.daily_usd, ws.budgets.monthly_usd)
        for ws in directory.workspaces
        if ws.budgets
    ]
    rates = directory.pricing.elevenlabs_usd_per_credit
    rate_rows = [
        (rate.valid_from, following.valid_from if following else None, rate.rate)
        for rate, following in zip(rates, (*rates[1:], None), strict=True)
    ]
    currency_rows = directory.pricing.currency_rate_periods()
    content_hash = directory.content_hash()

    # Tuple rows whatever the connection's row factory: the reads below index by position.
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
        # Two loads at once would interleave their deletes and inserts; take turns.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('simbiosia.workspace_directory'))")
        ensure_directory_schema(conn)
        previous = _stored_attribution(cursor)
        previous_rates = None if previous is None else _stored_currency_rates(cursor)
        cursor.executemany(
            """
            INSERT INTO public.workspaces AS current (id, name, phone_number)
            VALUES (%s, %s, %s)
            ON CONFLICT (id) DO UPDATE SET
                name = excluded.name,
                phone_number = excluded.phone_number,
                updated_at = CASE
                    WHEN (current.name, current.phone_number)
                         IS DISTINCT FROM (excluded.name, excluded.phone_number)
                    THEN now() ELSE current.updated_at END
            """,
            workspace_rows,
        )
        cursor.execute(
            """
            INSERT INTO public.workspace_directory
                (singleton, catch_all_workspace_id, content_hash, loaded_at)
            VALUES (true, %s, %s, now())
            ON CONFLICT (singleton) DO UPDATE SET
                catch_all_workspace_id = excluded.catch_all_workspace_id,
                content_hash = excluded.content_hash,
                loaded_at = excluded.loaded_at
            """,
            (directory.catch_all_workspace, content_hash),
        )
        cursor.execute(
            "DELETE FROM public.workspaces WHERE id <> ALL(%s)",
            ([row[0] for row in workspace_rows],),
        )
        for table in (
            "workspace_phones",
            "workspace_agents",
            "workspace_budgets",
            "elevenlabs_credit_rates",
            "currency_rates",
        ):
            cursor.execute(f"DELETE FROM public.{table}")
        cursor.executemany(
            "INSERT INTO public.workspace_phones "
            "(workspace_id, phone_number, is_primary, valid_from, valid_to) "
            "VALUES (%s, %s, %s, %s, %s)",
            phone_rows,
        )
        cursor.executemany(
            "INSERT INTO public.workspace_agents (agent_id, workspace_id) VALUES (%s, %s)",
            agent_rows,
        )
        cursor.executemany(
            "INSERT INTO public.workspace_budgets (workspace_id, daily_usd, monthly_usd) "
            "VALUES (%s, %s, %s)",
            budget_rows,
        )
        cursor.executemany(
            "INSERT INTO public.elevenlabs_credit_rates (valid_from, valid_to, usd_per_credit) "
            "VALUES (%s, %s, %s)",
            rate_rows,
        )
        cursor.executemany(
            "INSERT INTO public.currency_rates (currency, valid_from, valid_to, usd_per_unit) "
            "VALUES (%s, %s, %s, %s)",
            currency_rows,
        )

    new = Attribution(
        phones=frozenset(
            (ws, number, start, end) for ws, number, _primary, start, end in phone_rows
        ),
        agents=frozenset(agent_rows),
        catch_all=directory.catch_all_workspace,
    )
    changed_since = (
        attribution_changed_since(previous, new),
        currency_rates_changed_since(previous_rates, frozenset(currency_rows)),
    )
    return DirectorySummary(
        restate_from=min((moment for moment in changed_since if moment), default=None),
        workspaces=len(workspace_rows),
        phone_assignments=len(phone_rows),
        phone_numbers=len({row[1] for row in phone_rows}),
        agents=len(agent_rows),
        credit_rates=len(rate_rows),
        currency_rates=len(currency_rows),
        content_hash=content_hash,
    )


def _stored_attribution(cursor: psycopg.Cursor) -> Attribution | None:
    """What the warehouse attributes by before this load; None on the very first load."""
    catch_all = cursor.execute(
        "SELECT catch_all_workspace_id FROM public.workspace_directory"
    ).fetchone()
    if catch_all is None:
        return None
    phones = cursor.execute(
        "SELECT workspace_id, phone_number, valid_from, valid_to FROM public.workspace_phones"
    ).fetchall()
    agents = cursor.execute("SELECT agent_id, workspace_id FROM public.workspace_agents").fetchall()
    return Attribution(
        phones=frozenset(map(tuple, phones)), agents=frozenset(map(tuple, agents)),
        catch_all=catch_all[0],
    )  # fmt: skip


def _stored_currency_rates(cursor: psycopg.Cursor) -> frozenset:
    rows = cursor.execute(
        "SELECT currency, valid_from, valid_to, usd_per_unit FROM public.currency_rates"
    ).fetchall()
    return frozenset(map(tuple, rows))
