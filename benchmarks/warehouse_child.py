"""Child process of ``hour_refresh_flatness``, ``snapshot_query_speedup`` and
``backoffice_query_ms``: builds a warehouse of a given size on its own database
(``SIMBIOSIA_DATABASE_URL``), then times one of them.

History is made from real sandbox records (a template window written by the raw writer, parsed
as the assets parse them), replicated in SQL with fresh ids. Replicas keep every column the
models read; their ``payload`` is ``{}`` (no model reads it, and 5 M copies of it would only
measure the disk).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta

from simbiosia_pipeline.pipeline_settings import PipelineSettings

SNAPSHOT_QUERIES = {
    "snapshots_per_workspace": """
        SELECT workspace_id, COUNT(*) AS total_snapshots,
               SUM(total_conversations) AS total_conversations,
               ROUND(SUM(total_cost), 4) AS total_cost,
               MIN(snapshot_date) AS first_snapshot, MAX(snapshot_date) AS last_snapshot
        FROM public.elevenlabs_snapshots
        GROUP BY workspace_id ORDER BY total_conversations DESC, workspace_id""",
    "activity_by_hour_of_day": """
        SELECT EXTRACT(HOUR FROM snapshot_date) AS hour_of_day,
               SUM(total_conversations) AS conversations, ROUND(SUM(total_cost), 2) AS cost
        FROM public.elevenlabs_snapshots
        GROUP BY EXTRACT(HOUR FROM snapshot_date) ORDER BY hour_of_day""",
    "llm_vs_call_costs": """
        SELECT workspace_id, DATE(snapshot_date) AS date,
               SUM(total_conversations) AS conversations, ROUND(SUM(llm_charge), 2) AS llm_cost,
               ROUND(SUM(call_charge), 2) AS call_cost, ROUND(SUM(total_cost), 2) AS total_cost
        FROM public.elevenlabs_snapshots
        GROUP BY workspace_id, DATE(snapshot_date) ORDER BY date DESC, workspace_id""",
    "workspace_over_time": """
        SELECT DATE(snapshot_date) AS date, COUNT(*) AS hours_with_conversations,
               SUM(total_conversations) AS daily_conversations,
               ROUND(SUM(total_cost), 2) AS daily_cost
        FROM public.elevenlabs_snapshots
        WHERE workspace_id = 4
        GROUP BY DATE(snapshot_date) ORDER BY date DESC""",
}

# The same four questions asked of the per-conversation table (one attributed row per
# conversation: the old system's elevenlabs_conversations, which its 100x claim compared with).
RAW_QUERIES = {
    "snapshots_per_workspace": """
        SELECT workspace_id, COUNT(DISTINCT date_trunc('hour', start_time)) AS total_snapshots,
               COUNT(*) AS total_conversations, ROUND(COALESCE(SUM(cost), 0), 4) AS total_cost,
               MIN(date_trunc('hour', start_time)) AS first_snapshot,
               MAX(date_trunc('hour', start_time)) AS last_snapshot
        FROM staging.stg_elevenlabs_conversations
        GROUP BY workspace_id ORDER BY total_conversations DESC, workspace_id""",
    "activity_by_hour_of_day": """
        SELECT EXTRACT(HOUR FROM start_time) AS hour_of_day,
               COUNT(*) AS conversations, ROUND(COALESCE(SUM(cost), 0), 2) AS cost
        FROM staging.stg_elevenlabs_conversations
        GROUP BY EXTRACT(HOUR FROM start_time) ORDER BY hour_of_day""",
    "llm_vs_call_costs": """
        SELECT workspace_id, DATE(start_time) AS date, COUNT(*) AS conversations,
               ROUND(COALESCE(SUM(llm_charge), 0), 2) AS llm_cost,
               ROUND(COALESCE(SUM(call_charge), 0), 2) AS call_cost,
               ROUND(COALESCE(SUM(cost), 0), 2) AS total_cost
        FROM staging.stg_elevenlabs_conversations
        GROUP BY workspace_id, DATE(start_time) ORDER BY date DESC, workspace_id""",
    "workspace_over_time": """
        SELECT DATE(start_time) AS date,
               COUNT(DISTINCT date_trunc('hour', start_time)) AS hours_with_conversations,
               COUNT(*) AS daily_conversations, ROUND(COALESCE(SUM(cost), 0), 2) AS daily_cost
        FROM staging.stg_elevenlabs_conversations
        WHERE workspace_id = 4
        GROUP BY DATE(start_time) ORDER BY date DESC""",
}


def run(payload: dict) -> dict:
    from simbiosia_pipeline.warehouse.connection import connect

    url = os.environ["SIMBIOSIA_DATABASE_URL"]
    template = _template_window(payload)
    began = time.perf_counter()
    with connect(url) as conn:
        _load_directory()
        rows = _write_template(conn, payload, template)
        if payload.get("rows_count") == "conversations":  # rows: conversations, calls alongside
            (conversations,) = conn.execute(
                "SELECT count(*) FROM raw.elevenlabs_conversations"
            ).fetchone()
            payload = {**payload, "rows": math.ceil(payload["rows"] / conversations) * rows}
        total = _replicate(conn, payload, template, rows)
    _dbt_run_all(url, payload["models"])
    if payload["op"] == "backoffice":
        _vacuum(url)
    setup_seconds = time.perf_counter() - began
    if payload["op"] == "hour_refresh":
        result = _hour_refresh(payload)
    elif payload["op"] == "backoffice":
        result = _backoffice_pages(url, payload)
    else:
        with connect(url) as conn:
            result = _queries(conn, payload["repeats"])
    return {"raw_rows": total, "setup_seconds": setup_seconds, **result}


def _template_window(payload: dict) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(payload["template_start"])
    return start, start + timedelta(days=payload["template_days"])


def _load_directory() -> None:
    import dagster as dg

    from simbiosia_pipeline.assets.directory import workspace_directory
    from simbiosia_pipeline.warehouse.resource import WarehouseResource

    dg.materialize(
        [workspace_directory],
        resources={"warehouse": WarehouseResource(), "settings": PipelineSettings.from_env()},
    )


def _write_template(conn, payload: dict, window) -> int:
    from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig
    from simbiosia_pipeline.settings import SourceMode
    from simbiosia_pipeline.sources.records import conversation_row, twilio_row
    from simbiosia_pipeline.warehouse.schema import claim_source_mode, ensure_raw_schema
    from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
    from simbiosia_pipeline.warehouse.writer import replace_window

    ensure_raw_schema(conn)
    claim_source_mode(conn, SourceMode.SANDBOX)
    sandbox = Sandbox(
        SandboxConfig(seed=7, scale=payload["scale"], now=datetime.fromisoformat(payload["now"]))
    )
    start, end = window
    now = datetime.now(UTC)
    written = 0
    if payload["with_calls"]:
        calls = [twilio_row(c, now) for c in sandbox.twilio_calls(start, end)]
        replace_window(conn, TWILIO_CALLS, start, end, calls)
        written += len(calls)
    conversations = [
        conversation_row(d, now, store_transcripts=False) for d in sandbox.conversations(start, end)
    ]
    replace_window(conn, ELEVENLABS_CONVERSATIONS, start, end, conversations)
    return written + len(conversations)


# ``workspaces_year``: copy k is the template shifted back by (k mod QUARTERS) template lengths
# and, for each further group of QUARTERS copies, moved to a workspace group of its own: every
# phone number of the copy gets the group's two digits appended (still E.164, and no SIP leg of
# one group can pair with a conversation of another), and the directory gains each group's
# workspaces owning those numbers. 90-day templates: a year of hours, ~4 workspaces per group.
_GROUP = "(k / %(quarters)s::int)"
_GROUPED_NUMBER = (
    "CASE WHEN " + _GROUP + " = 0 THEN {column} ELSE regexp_replace({column}, '(\\+[0-9]+)',"
    " '\\1' || lpad(" + _GROUP + "::text, 2, '0')) END"
)
_NUMBERS = ("from_number", "to_number", "agent_number", "external_number")
WORKSPACE_GROUP_SIZE = 100  # group g's copy of workspace w is g * 100 + w


def _replicate(conn, payload: dict, window, template_rows: int) -> int:
    """Copies of the template with fresh ids: shifted back in time by whole template lengths
    (``history``: a longer past), at the same moments (``density``: more traffic), or a year of
    history spread over groups of workspaces (``workspaces_year``)."""
    from simbiosia_pipeline.warehouse.tables import CONVERSATION_COLUMNS, TWILIO_COLUMNS

    copies = max(0, math.ceil(payload["rows"] / template_rows) - 1)
    start, end = window
    length = end - start
    quarters = max(1, round(timedelta(days=365) / length))
    shift = {
        "history": "%(length)s::interval * k",
        "density": "interval '0'",
        "workspaces_year": "%(length)s::interval * (k %% %(quarters)s::int)",
    }[payload["replicate"]]
    renamed = {
        "sid": "sid || '_' || k",
        "parent_call_sid": "parent_call_sid || '_' || k",
        "conversation_id": "conversation_id || '_' || k",
        "call_sid": "call_sid || '_' || k",
        "payload": "'{}'::jsonb",
    }
    if payload["replicate"] == "workspaces_year":
        renamed |= {column: _GROUPED_NUMBER.format(column=column) for column in _NUMBERS}
        _copy_directory_per_group(conn, groups=copies // quarters)
    times = {"start_time", "end_time", "date_created", "date_updated", "event_time"}
    tables = [("elevenlabs_conversations", CONVERSATION_COLUMNS, "start_time")]
    if payload["with_calls"]:
        tables.append(("twilio_calls", TWILIO_COLUMNS, "event_time"))
    batch = 50
    for table, columns, time_column in tables:
        select = ", ".join(renamed.get(c, f"{c} - {shift}" if c in times else c) for c in columns)
        for first in range(1, copies + 1, batch):
            last = min(copies, first + batch - 1)
            conn.execute(
                f"INSERT INTO raw.{table} ({', '.join(columns)}) SELECT {select} "
                f"FROM raw.{table} CROSS JOIN generate_series(%(first)s::int, %(last)s::int) AS k "
                f"WHERE {time_column} >= %(start)s AND {time_column} < %(end)s",
                {
                    "first": first,
                    "last": last,
                    "start": start,
                    "end": end,
                    "length": length,
                    "quarters": quarters,
                },
            )
            conn.commit()
    conn.execute("ANALYZE raw.twilio_calls")
    conn.execute("ANALYZE raw.elevenlabs_conversations")
    conn.commit()
    (total,) = conn.execute(
        "SELECT (SELECT count(*) FROM raw.twilio_calls)"
        " + (SELECT count(*) FROM raw.elevenlabs_conversations)"
    ).fetchone()
    return total


def _copy_directory_per_group(conn, groups: int) -> None:
    """Workspaces 1..groups of ``workspaces_year``: each a copy of the directory's workspaces,
    numbers (with the group's digits), agents' workspaces aside, and budgets."""
    for group in range(1, groups + 1):
        params = {"offset": group * WORKSPACE_GROUP_SIZE, "suffix": f"{group:02d}"}
        conn.execute(
            "INSERT INTO public.workspaces (id, name, phone_number) SELECT id + %(offset)s,"
            " name || ' ' || %(suffix)s, phone_number FROM public.workspaces WHERE id < 100",
            params,
        )
        conn.execute(
            "INSERT INTO public.workspace_phones"
            " (workspace_id, phone_number, is_primary, valid_from, valid_to)"
            " SELECT workspace_id + %(offset)s, phone_number || %(suffix)s, is_primary,"
            " valid_from, valid_to FROM public.workspace_phones WHERE workspace_id < 100",
            params,
        )
        conn.execute(
            "INSERT INTO public.workspace_budgets (workspace_id, daily_usd, monthly_usd)"
            " SELECT workspace_id + %(offset)s, daily_usd, monthly_usd"
            " FROM public.workspace_budgets WHERE workspace_id < 100",
            params,
        )
    conn.commit()


def _vacuum(url: str) -> None:
    """What autovacuum has long done to a live warehouse's tables: fresh visibility maps (so
    counting a month of calls is an index-only scan) and statistics."""
    from simbiosia_pipeline.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _dbt_run_all(url: str, models: list[str]) -> None:
    """Build the models over all history once (plain dbt: this is set-up, not what is timed)."""
    from simbiosia_pipeline.dbt.environment import profile_environment
    from simbiosia_pipeline.dbt.project import DBT_PROJECT, plain_dbt_executable

    project = str(DBT_PROJECT.project_dir)
    with tempfile.TemporaryDirectory(prefix="bench_dbt_") as target:
        subprocess.run(
            [
                plain_dbt_executable(), "run", "--quiet", "--select", *models,
                "--project-dir", project, "--profiles-dir", project,
                "--target-path", target, "--log-path", target,
            ],
            env={**os.environ, **profile_environment(url)},
            check=True,
        )  # fmt: skip


def _hour_refresh(payload: dict) -> dict:
    import dagster as dg

    from simbiosia_pipeline.dbt.assets import hourly_cost_models
    from simbiosia_pipeline.dbt.resources import dbt_resource
    from simbiosia_pipeline.warehouse.resource import WarehouseResource

    resources = {
        "dbt": dbt_resource(),
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
    }
    seconds = []
    for repetition in range(payload["repeats"] + 1):  # the first is a warm-up
        began = time.perf_counter()
        result = dg.materialize(
            [hourly_cost_models], partition_key=payload["hour"], resources=resources
        )
        elapsed = time.perf_counter() - began
        if not result.success:
            raise RuntimeError("the hourly dbt run failed")
        if repetition:
            seconds.append(elapsed)
    return {"seconds": seconds, "median_seconds": statistics.median(seconds)}


def _queries(conn, repeats: int) -> dict:
    conn.execute("SET TIME ZONE 'UTC'")
    timings = {}
    for name, snapshot_sql in SNAPSHOT_QUERIES.items():
        raw_sql = RAW_QUERIES[name]
        snapshot_rows = conn.execute(snapshot_sql).fetchall()  # warm both caches, and compare
        raw_rows = conn.execute(raw_sql).fetchall()
        if snapshot_rows != raw_rows:
            raise RuntimeError(f"{name}: the snapshot and per-conversation answers differ")
        snap, raw = [], []
        for _ in range(repeats):  # side by side, alternating
            began = time.perf_counter()
            conn.execute(snapshot_sql).fetchall()
            snap.append(time.perf_counter() - began)
            began = time.perf_counter()
            conn.execute(raw_sql).fetchall()
            raw.append(time.perf_counter() - began)
        timings[name] = {
            "snapshots_ms": statistics.median(snap) * 1000,
            "per_conversation_ms": statistics.median(raw) * 1000,
            "rows": len(raw_rows),
        }
    (conversations,) = conn.execute(
        "SELECT count(*) FROM staging.stg_elevenlabs_conversations"
    ).fetchone()
    (snapshots,) = conn.execute("SELECT count(*) FROM public.elevenlabs_snapshots").fetchone()
    return {"queries": timings, "conversations": conversations, "snapshot_rows": snapshots}


def _backoffice_pages(url: str, payload: dict) -> dict:
    """Each page's reads — the very functions the backoffice calls, as its read-only role — for
    the last 30 days of the workload, all workspaces (workspace 4 on its own page): the median
    of ``repeats`` after a warm-up, per page."""
    import sqlalchemy as sa

    from simbiosia_pipeline.backoffice import periods, queries
    from simbiosia_pipeline.backoffice.launcher import with_user
    from simbiosia_pipeline.warehouse.connection import connect, sqlalchemy_url
    from simbiosia_pipeline.warehouse.roles import grant_dashboard_role

    role = "bench_backoffice"
    with connect(url) as conn:
        grant_dashboard_role(conn, role)
    cap_ms = payload.get("statement_timeout_ms", 120_000)  # a page past it is reported as such
    engine = sa.create_engine(
        sqlalchemy_url(with_user(url, role)),
        connect_args={"options": f"-c statement_timeout={cap_ms}"},
    )
    zone = "Europe/Madrid"
    last = (datetime.fromisoformat(payload["end"]) - timedelta(hours=1)).date()
    days = periods.last_days(30, last)
    month = periods.month_to_date(last)

    def filters(day_range, workspace=None):
        from zoneinfo import ZoneInfo

        start, end = day_range.utc_bounds(ZoneInfo(zone))
        return queries.Filters(start, end, workspace, zone)

    everything, workspace_4 = filters(days), filters(days, 4)
    pages = {
        "overview": lambda: (
            queries.daily(engine, everything),
            queries.workspaces(engine),
            queries.daily(engine, filters(month)),
        ),
        "workspace": lambda: (
            queries.daily(engine, workspace_4),
            queries.hourly(engine, workspace_4),
            queries.phones(engine, 4),
            queries.daily(engine, filters(month, 4)),
            queries.daily(engine, filters(periods.same_days_last_month(month), 4)),
        ),
        "calls": lambda: queries.calls_page(engine, everything, "", 1, 100),
        "calls_search": lambda: queries.calls_page(engine, everything, "+34930340228", 1, 100),
        "providers": lambda: (
            queries.twilio_by_direction(engine, everything),
            queries.elevenlabs_charges(engine, everything),
            queries.elevenlabs_by_model(engine, everything),
        ),
        "data_health": lambda: (
            queries.newest_hour(engine),
            queries.pending_hours(engine, everything),
            queries.unattributed(engine, everything),
            queries.reconciliation(engine),
        ),
    }
    timings = {}
    try:
        for name, read_page in pages.items():
            seconds = []
            for repetition in range(payload["repeats"] + 1):  # the first is a warm-up
                began = time.perf_counter()
                try:
                    read_page()
                except queries.WarehouseDownError:  # what a page shows on a statement timeout
                    _check_answers(engine)  # still answering: the read was slower than the cap
                    seconds = [cap_ms / 1000]
                    break
                if repetition:
                    seconds.append(time.perf_counter() - began)
            timings[name] = statistics.median(seconds) * 1000
    finally:
        engine.dispose()
        with connect(url) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.commit()
        from simbiosia_testing.local_servers import ADMIN_URL

        with connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")
    with connect(url) as conn:
        (conversations,) = conn.execute(
            "SELECT count(*) FROM staging.stg_elevenlabs_conversations"
        ).fetchone()
        (calls,) = conn.execute("SELECT count(*) FROM staging.stg_twilio_calls").fetchone()
        (workspaces,) = conn.execute(
            "SELECT count(DISTINCT workspace_id) FROM public.twilio_snapshots"
        ).fetchone()
    return {
        "pages_ms": timings,
        "cap_ms": cap_ms,
        "conversations": conversations,
        "calls": calls,
        "workspaces_with_calls": workspaces,
    }


def _check_answers(engine) -> None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


if __name__ == "__main__":
    from benchmarks.infra import child_main

    child_main(run)
