"""The warehouse tables that hold the workspace directory, in the ``public`` schema.

``workspaces`` and ``workspace_phones`` keep the old system's names and columns so its dashboard
still finds them (``seed-system.md`` §1.1), with two deliberate differences:
``workspaces.phone_number`` is not UNIQUE (every workspace without a primary number says
``unknown``, as the old catch-all did), and ``workspace_phones`` gains the validity period
that attribution evaluates at the time of each record. The other tables are new: agents,
budgets, the dated credit→USD rate, the dated USD rate of each other currency Twilio may price
calls in (``currency_rates``), and ``workspace_directory``, one row saying which workspace
is the catch-all and which version of the file is loaded. dbt reads all of them as the source
``directory``.
"""

from __future__ import annotations

import psycopg

DIRECTORY_DDL = """
CREATE TABLE IF NOT EXISTS public.workspaces (
    id            integer     PRIMARY KEY,
    name          text        NOT NULL,
    phone_number  text        NOT NULL,  -- the primary number, else 'unknown' (old catch-all)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.workspace_phones (
    workspace_id  integer     NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
    phone_number  text        NOT NULL,  -- E.164
    is_primary    boolean     NOT NULL DEFAULT false,
    valid_from    timestamptz,           -- NULL: owned since always
    valid_to      timestamptz            -- NULL: still owned; the period is [valid_from, valid_to)
);
CREATE INDEX IF NOT EXISTS workspace_phones_number_idx
    ON public.workspace_phones (phone_number, valid_from);

CREATE TABLE IF NOT EXISTS public.workspace_agents (
    agent_id      text        PRIMARY KEY,
    workspace_id  integer     NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS public.workspace_budgets (
    workspace_id  integer     PRIMARY KEY REFERENCES public.workspaces (id) ON DELETE CASCADE,
    daily_usd     numeric,
    monthly_usd   numeric
);

CREATE TABLE IF NOT EXISTS public.elevenlabs_credit_rates (
    valid_from      timestamptz PRIMARY KEY,
    valid_to        timestamptz,          -- the next rate's start; NULL for the current rate
    usd_per_credit  numeric     NOT NULL
);

-- USD per unit of the currency Twilio prices calls in, when it is not USD (ISO 4217 code).
CREATE TABLE IF NOT EXISTS public.currency_rates (
    currency        text        NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,          -- the currency's next rate's start; NULL for the current
    usd_per_unit    numeric     NOT NULL,
    PRIMARY KEY (currency, valid_from)
);

CREATE TABLE IF NOT EXISTS public.workspace_directory (
    singleton               boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    catch_all_workspace_id  integer     NOT NULL REFERENCES public.workspaces (id),
    content_hash            text        NOT NULL,
    loaded_at               timestamptz NOT NULL
);
"""


def ensure_directory_schema(conn: psycopg.Connection) -> None:
    """Create the directory tables if missing (idempotent; call inside the writer's transaction)."""
    conn.execute(DIRECTORY_DDL)
