"""Completeness of the reporting days: a day's totals are whole only once every hour is loaded.

Loaded hours are what the raw assets record (``raw.loaded_hours``), not the hours that happen to
have records: a day with 12 of its 24 hours loaded is incomplete even where the loaded half is
busy, and a day loaded in full is complete even where most hours had no call at all. Days are
Madrid's, so the DST days have 23 and 25 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from simbiosia_pipeline.warehouse.loaded_hours import mark_hours_loaded
from simbiosia_pipeline.warehouse.tables import ELEVENLABS_CONVERSATIONS, TWILIO_CALLS
from simbiosia_pipeline_tests.transform.dataset import directory, generate

MADRID = ZoneInfo("Europe/Madrid")
HALF_LOADED = date(2025, 11, 3)  # 24 hours; the first 12 loaded, busy
QUIET_FULL = date(2025, 11, 4)  # 24 hours loaded, records in two of them
SPRING = date(2026, 3, 29)  # 23 hours, all loaded
AUTUMN = date(2025, 10, 26)  # 25 hours, all loaded
TWILIO_ONLY = date(2025, 11, 5)  # loaded by one source only: not loaded


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=MADRID).astimezone(UTC)


def whole_day(day: date) -> tuple[datetime, datetime]:
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def mark(
    warehouse, start: datetime, end: datetime, tables=(TWILIO_CALLS, ELEVENLABS_CONVERSATIONS)
):
    with psycopg.connect(warehouse.url) as conn, conn.transaction():
        for table in tables:
            mark_hours_loaded(conn, table, start, end)


@pytest.fixture(scope="module")
def days(warehouse) -> dict[date, dict]:
    half_start = local_midnight(HALF_LOADED)
    warehouse.load_directory(directory(handover=half_start, rate_change=half_start))
    busy = generate(half_start, hours=12, per_hour=5, seed=17)
    quiet = generate(local_midnight(QUIET_FULL) + timedelta(hours=5), hours=2, per_hour=2, seed=18)
    warehouse.store(busy.calls + quiet.calls, busy.conversations + quiet.conversations)
    mark(warehouse, half_start, half_start + timedelta(hours=12))
    for day in (QUIET_FULL, SPRING, AUTUMN):
        mark(warehouse, *whole_day(day))
    mark(warehouse, *whole_day(TWILIO_ONLY), tables=(TWILIO_CALLS,))
    warehouse.build()
    rows = warehouse.rows("SELECT * FROM daily_completeness ORDER BY day")
    return {row.pop("day"): row for row in rows}


def test_a_day_with_12_of_24_hours_loaded_is_incomplete(days, warehouse):
    assert days[HALF_LOADED] == {
        "time_zone": "Europe/Madrid",
        "hours_loaded": 12,
        "hours_expected": 24,
        "is_complete": False,
    }
    costs = warehouse.rows(
        "SELECT workspace_name, hours_loaded, hours_expected, is_complete, total_usd"
        " FROM workspace_daily_costs WHERE day = %s",
        (HALF_LOADED,),
    )
    assert costs  # the loaded half has spend, and every row of the day says it is partial
    assert {(r["hours_loaded"], r["hours_expected"], r["is_complete"]) for r in costs} == {
        (12, 24, False)
    }
    assert all(row["workspace_name"] for row in costs)


def test_a_day_loaded_in_full_is_complete_however_quiet(days, warehouse):
    assert days[QUIET_FULL]["hours_loaded"] == days[QUIET_FULL]["hours_expected"] == 24
    assert days[QUIET_FULL]["is_complete"] is True
    costs = warehouse.rows(
        "SELECT DISTINCT is_complete FROM workspace_daily_costs WHERE day = %s", (QUIET_FULL,)
    )
    assert costs == [{"is_complete": True}]


def test_dst_days_expect_23_and_25_hours(days):
    assert (days[SPRING]["hours_expected"], days[SPRING]["is_complete"]) == (23, True)
    assert (days[AUTUMN]["hours_expected"], days[AUTUMN]["is_complete"]) == (25, True)


def test_an_hour_loaded_by_one_source_only_is_not_loaded(days):
    assert TWILIO_ONLY not in days


def test_pending_costs_count_what_may_still_change(warehouse, days):
    rows = warehouse.rows(
        "SELECT pending_costs, unpriced_calls + unsettled_conversations AS parts"
        " FROM workspace_daily_costs"
    )
    assert all(row["pending_costs"] == row["parts"] for row in rows)
    assert sum(row["pending_costs"] for row in rows) > 0


def test_simbiosia_run_says_which_days_are_incomplete(days, warehouse, monkeypatch, capsys):
    from simbiosia_pipeline.report import print_completeness
    from simbiosia_pipeline.sources.windows import Window

    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", warehouse.url)
    start = local_midnight(HALF_LOADED)
    print_completeness(Window(start, start + timedelta(hours=48)), "Europe/Madrid")
    lines = capsys.readouterr().out.splitlines()
    assert "2025-11-03 12/24 hours loaded  INCOMPLETE" in lines
    assert "2025-11-04 24/24 hours loaded  complete" in lines
