"""Every page of the backoffice, driven by Streamlit's AppTest against the three-day warehouse of
``conftest.py``: each card, table and chart series equals the independent computation of
``truth.py`` from the sandbox's records, to the cent (full precision in the exports); the filters
change exactly what they should; the period comparison is right across a month boundary and the
DST change; a warehouse that is down, empty or silent gets a message, never a stack trace."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pandas as pd
import psycopg
import pytest
import streamlit as st
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from simbiosia_pipeline.backoffice import exports, money, periods, views
from simbiosia_pipeline.backoffice.app import __file__ as APP
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.backoffice.conftest import (
    DST_DAY,
    FIRST_OF_NOVEMBER,
    LAST_OF_OCTOBER,
    ZONE,
)
from simbiosia_testing.local_servers import create_database, drop_database, free_port

TODAY = FIRST_OF_NOVEMBER  # the conftest's clock, in Madrid
LAST_7 = (TODAY - timedelta(days=6), TODAY)
CARD_FORMATS = {
    "Calls": ("calls", money.count),
    "Conversations": ("conversations", money.count),
    "Billable minutes": ("billable_minutes", money.count),
    "Twilio USD": ("twilio_usd", money.usd),
    "ElevenLabs credits": ("elevenlabs_credits", money.credits),
    "ElevenLabs USD": ("elevenlabs_usd", money.usd),
    "Total USD": ("total_usd", money.usd),
    "Costs pending": ("pending", money.count),
}
TABLE_COLUMNS = {label: name for name, label in views.LABELS.items()}


def open_app(address: str = "127.0.0.1") -> AppTest:
    """A fresh app run: its caches emptied (the environment may have changed), listening on
    ``address`` as far as the login is concerned."""
    streamlit_config.set_option("server.address", address)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    return app


def on_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"screens/{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def cards(app: AppTest) -> dict[str, str]:
    """The eight cards at the top of the overview."""
    return {metric.label: metric.value for metric in list(app.metric)[:8]}


def expected_cards(truth, first: date, last: date, workspace_id=None) -> dict[str, str]:
    totals = truth.totals(first, last, workspace_id)
    return {label: show(totals[name]) for label, (name, show) in CARD_FORMATS.items()}


def shown_days(frame: pd.DataFrame) -> dict[date, dict]:
    return {
        date.fromisoformat(row["Day"]): {
            TABLE_COLUMNS[label]: row[label] for label in TABLE_COLUMNS if label in row
        }
        for row in frame.to_dict("records")
    }


def rounded(figures: dict) -> dict:
    """Money to the cent as the screen shows it (credits too); counts as they are."""
    return {
        name: money.cents(Decimal(value)) if isinstance(value, Decimal) else value
        for name, value in figures.items()
    }


def test_overview_cards_and_days_equal_the_truth(backoffice_env):
    truth = backoffice_env.truth
    app = open_app()
    assert not app.exception
    assert cards(app) == expected_cards(truth, *LAST_7)
    days = shown_days(app.dataframe[0].value)
    assert days == {day: rounded(f) for day, f in truth.per_day(*LAST_7).items()}
    assert set(days) == {DST_DAY, LAST_OF_OCTOBER, FIRST_OF_NOVEMBER}
    assert truth.totals(*LAST_7)["pending"] > 0  # the clock leaves the last hours unsettled

    # A card per workspace: its total for the range.
    workspace_totals = [metric.value for metric in list(app.metric)[8:]]
    workspaces = sorted({fact.workspace_id for fact in truth.facts} | {1, 4, 5, 6})
    assert workspace_totals == [
        money.usd(truth.totals(*LAST_7, workspace)["total_usd"]) for workspace in workspaces
    ]


def test_incomplete_days_say_so(backoffice_env):
    """1 November is loaded until 17:00 UTC (18 of its 24 hours): its totals are partial, and
    the per-day table and a warning say so; the DST day has all of its 25 hours."""
    app = open_app()
    assert not app.exception
    table = app.dataframe[0].value
    shown = dict(zip(table["Day"], table[views.HOURS_LOADED], strict=True))
    assert shown == {
        DST_DAY.isoformat(): "25/25",
        LAST_OF_OCTOBER.isoformat(): "24/24",
        FIRST_OF_NOVEMBER.isoformat(): "18/24 incomplete",
    }
    [warning] = app.warning
    assert f"{FIRST_OF_NOVEMBER} (18/24 h)" in warning.value


def test_the_chart_series_are_the_table_columns(backoffice_env):
    """The charts draw the per-day table's own columns (floats for the axes only): their series
    equal the truth to far below a cent. (AppTest hands over a chart's spec, not its rows.)"""
    truth = backoffice_env.truth
    app = open_app()
    assert len(app.get("vega_lite_chart")) == 2  # cost stacked by provider; calls and minutes
    table = views.per_day(_daily(*LAST_7))
    costs = views.chart_frame(table, "Day", ["Twilio USD", "ElevenLabs USD"])
    counts = views.chart_frame(table, "Day", ["Calls", "Conversations", "Billable minutes"])
    micro = Decimal("0.000001")
    for day, figures in truth.per_day(*LAST_7).items():
        for column, name in (("Twilio USD", "twilio_usd"), ("ElevenLabs USD", "elevenlabs_usd")):
            shown = Decimal(str(costs.loc[day.isoformat(), column])).quantize(micro)
            assert shown == figures[name].quantize(micro)
        for column, name in (("Calls", "calls"), ("Billable minutes", "billable_minutes")):
            assert counts.loc[day.isoformat(), column] == figures[name]


def _daily(first: date, last: date, workspace_id=None) -> pd.DataFrame:
    from simbiosia_pipeline.backoffice import ui

    return ui.daily(ui.filters_for(periods.DayRange(first, last), workspace_id))


@pytest.mark.parametrize("workspace_id", [4, None])
def test_the_filters_change_exactly_what_they_should(backoffice_env, workspace_id):
    truth = backoffice_env.truth
    app = open_app()
    app.sidebar.selectbox(key="filter_workspace").set_value(workspace_id).run()
    assert cards(app) == expected_cards(truth, *LAST_7, workspace_id)
    days = shown_days(app.dataframe[0].value)
    assert days == {d: rounded(f) for d, f in truth.per_day(*LAST_7, workspace_id).items()}

    # Two days: the DST day drops out.
    app.sidebar.selectbox(key="filter_period").set_value(periods.CUSTOM).run()
    app.sidebar.date_input(key="filter_days").set_value((LAST_OF_OCTOBER, TODAY)).run()
    assert cards(app) == expected_cards(truth, LAST_OF_OCTOBER, TODAY, workspace_id)
    assert set(shown_days(app.dataframe[0].value)) == {LAST_OF_OCTOBER, FIRST_OF_NOVEMBER}

    # The 25-hour day alone: a custom range.
    app.sidebar.date_input(key="filter_days").set_value((DST_DAY, DST_DAY)).run()
    assert cards(app) == expected_cards(truth, DST_DAY, DST_DAY, workspace_id)
    assert set(shown_days(app.dataframe[0].value)) == {DST_DAY}

    # The filters stay while moving between pages.
    on_page(app, "providers")
    shown = {
        row["Direction"]: (row["Calls"], row["Twilio USD"])
        for row in app.dataframe[0].value.to_dict("records")
    }
    assert shown == {
        direction: (calls, money.cents(usd))
        for direction, (calls, usd) in truth.per_direction(DST_DAY, DST_DAY, workspace_id).items()
    }


def test_the_dst_day_has_25_hours_and_each_is_its_own_row(backoffice_env):
    truth = backoffice_env.truth
    start, end = periods.DayRange(DST_DAY, DST_DAY).utc_bounds(ZONE)
    assert end - start == timedelta(hours=25)
    app = open_app()
    app.sidebar.selectbox(key="filter_period").set_value(periods.CUSTOM).run()
    app.sidebar.date_input(key="filter_days").set_value((DST_DAY, DST_DAY)).run()
    on_page(app, "workspace")
    app.selectbox(key="workspace_page_id").set_value(4).run()
    hours = app.dataframe[1].value
    assert hours["Hour"].is_unique
    expected_hours = {
        views.local_time(pd.Timestamp(fact.at).floor("h"), ZONE)
        for fact in truth.selected(DST_DAY, DST_DAY, 4)
    }
    assert set(hours["Hour"]) == expected_hours
    assert sum(hours["Calls"]) == truth.totals(DST_DAY, DST_DAY, 4)["calls"]


@pytest.mark.parametrize(
    ("period_a", "period_b"),
    [
        ((LAST_OF_OCTOBER, LAST_OF_OCTOBER), (FIRST_OF_NOVEMBER, FIRST_OF_NOVEMBER)),  # a month
        ((DST_DAY, DST_DAY), (FIRST_OF_NOVEMBER, FIRST_OF_NOVEMBER)),  # the 25-hour day
        ((DST_DAY, LAST_OF_OCTOBER), (FIRST_OF_NOVEMBER, TODAY)),  # across both
    ],
)
def test_the_period_comparison_across_a_month_and_a_dst_change(backoffice_env, period_a, period_b):
    truth = backoffice_env.truth
    app = on_page(open_app(), "workspace")
    app.selectbox(key="workspace_page_id").set_value(4).run()
    app.radio(key="comparison_mode").set_value("Two ranges of my choice").run()
    app.date_input(key="comparison_a").set_value(period_a).run()
    app.date_input(key="comparison_b").set_value(period_b).run()
    shown = _comparison(app)
    before, after = truth.totals(*period_a, 4), truth.totals(*period_b, 4)
    for name in views.COMPARED:
        a, b = before[name], after[name]
        show = money.usd if name.endswith("usd") else (lambda n: f"{n:,}")
        change = money.percent_change(a, b)
        assert shown[views.LABELS[name]] == {
            "Period A": show(a),
            "Period B": show(b),
            "Change": ("+" if b > a else "") + show(b - a),
            "Change %": "— (A is 0)" if change is None else f"{change:+}%",
        }, name
    assert shown["Total USD"]["Period A"] != "$0.00"


def test_month_to_date_compares_with_the_same_days_of_last_month(backoffice_env):
    truth = backoffice_env.truth
    app = on_page(open_app(), "workspace")
    app.selectbox(key="workspace_page_id").set_value(5).run()
    shown = _comparison(app)
    # 1 November against 1 October: nothing was ingested on 1 October.
    assert shown["Total USD"]["Period A"] == "$0.00"
    assert shown["Total USD"]["Period B"] == money.usd(
        truth.totals(FIRST_OF_NOVEMBER, TODAY, 5)["total_usd"]
    )
    assert shown["Total USD"]["Change %"] == "— (A is 0)"


def _comparison(app: AppTest) -> dict[str, dict]:
    frame = next(df.value for df in app.dataframe if "Figure" in df.value.columns)
    return {
        row["Figure"]: {
            key: _none(row[key]) for key in ("Period A", "Period B", "Change", "Change %")
        }
        for row in frame.to_dict("records")
    }


def _none(value):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def test_same_days_last_month_and_day_lengths():
    assert periods.same_days_last_month(periods.DayRange(date(2025, 3, 1), date(2025, 3, 31))) == (
        periods.DayRange(date(2025, 2, 1), date(2025, 2, 28))
    )
    assert periods.same_days_last_month(periods.DayRange(date(2025, 11, 1), date(2025, 11, 2))) == (
        periods.DayRange(date(2025, 10, 1), date(2025, 10, 2))
    )
    start, end = periods.DayRange(date(2025, 3, 30), date(2025, 3, 30)).utc_bounds(ZONE)
    assert end - start == timedelta(hours=23)


def phone_calls_of(truth, first: date, last: date):
    """Every phone call (the reference pairing) whose time falls in the local days."""
    calls_by_sid = {call["sid"]: call for call in truth.calls}
    conversations = {c["conversation_id"]: c for c in truth.conversations}
    selected = []
    for phone_call in expected.pair_calls(truth.calls, truth.conversations):
        record = calls_by_sid.get(phone_call.twilio_call_sid)
        at = (
            expected.call_time(record)
            if record
            else expected.conversation_time(conversations[phone_call.conversation_id])
        )
        if first <= at.astimezone(ZONE).date() <= last:
            selected.append((phone_call, record, conversations.get(phone_call.conversation_id)))
    return selected


def test_calls_page_lists_every_call_paged_and_finds_a_number(backoffice_env):
    truth = backoffice_env.truth
    app = on_page(open_app(), "calls")
    everything = phone_calls_of(truth, *LAST_7)
    assert f"{len(everything):,} calls" in app.caption[1].value
    first_page = app.dataframe[0].value
    assert len(first_page) == min(100, len(everything))
    assert list(first_page["Time"]) == sorted(first_page["Time"], reverse=True)

    app.get("pagination")[0].set_value(2).run()
    second_page = app.dataframe[0].value
    assert set(second_page["Twilio call SID"].dropna()).isdisjoint(
        first_page["Twilio call SID"].dropna()
    )

    number = "+34 930 340 228"  # workspace 4's primary number, typed the way people do
    app.text_input(key="calls_search").set_value(number).run()
    found = app.dataframe[0].value
    wanted = {
        phone_call.twilio_call_sid or phone_call.conversation_id
        for phone_call, call, conversation in everything
        if "34930340228" in _digits(call, conversation)
    }
    assert wanted and len(found) == len(wanted)
    assert set(found["Twilio call SID"].fillna(found["ElevenLabs conversation"])) == wanted
    priced = [row for row in found.to_dict("records") if row["Twilio USD"] is not None]
    call = next(c for c in truth.calls if c["sid"] == priced[0]["Twilio call SID"])
    assert priced[0]["Twilio USD"] == money.cents(abs(Decimal(call["price"])))


@pytest.mark.parametrize("page", ["overview", "workspace", "calls", "providers", "health"])
def test_a_missing_value_shows_as_a_dash_in_every_table(backoffice_env, page):
    app = open_app()
    if page == "workspace":
        app.sidebar.selectbox(key="filter_workspace").set_value(4).run()
    app = on_page(app, page)
    assert app.dataframe
    assert [table.proto.placeholder for table in app.dataframe] == [money.MISSING] * len(
        app.dataframe
    )
    if page == "calls":  # calls without a conversation, conversations without a call: gaps
        assert (
            app.dataframe[0]
            .value[["Twilio call SID", "ElevenLabs conversation"]]
            .isna()
            .any(axis=None)
        )


def _digits(call, conversation) -> str:
    parts = []
    if call:
        parts += [call.get("from") or "", call.get("to") or ""]
    else:
        phone = conversation["metadata"].get("phone_call") or {}
        parts += [phone.get("agent_number") or "", phone.get("external_number") or ""]
    return " ".join("".join(ch for ch in part if ch.isdigit()) for part in parts)


def test_providers_page(backoffice_env):
    """Twilio per direction, ElevenLabs' charges and its LLM use per model and token category
    (from elevenlabs_llm_usage_hours), each equal to the truth; one workspace narrows them."""
    truth = backoffice_env.truth
    app = on_page(open_app(), "providers")
    shown = {
        row["Direction"]: (row["Calls"], row["Twilio USD"])
        for row in app.dataframe[0].value.to_dict("records")
    }
    assert shown == {
        direction: (calls, money.cents(usd))
        for direction, (calls, usd) in truth.per_direction(*LAST_7).items()
    }
    assert provider_cards(app) == expected_provider_cards(truth, *LAST_7)
    assert shown_models(app) == expected_models(truth, *LAST_7)

    app.sidebar.selectbox(key="filter_workspace").set_value(4).run()
    assert not app.exception
    assert provider_cards(app) == expected_provider_cards(truth, *LAST_7, 4)
    assert shown_models(app) == expected_models(truth, *LAST_7, 4)
    assert expected_models(truth, *LAST_7, 4) != expected_models(truth, *LAST_7)


PROVIDER_CARDS = {
    "LLM charge (credits)": ("llm_charge_credits", money.credits),
    "Call charge (credits)": ("call_charge_credits", money.credits),
    "Total (credits)": ("total_credits", money.credits),
    "LLM price (USD)": ("llm_price_usd", money.usd),
}


def provider_cards(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric if m.label in PROVIDER_CARDS}


def expected_provider_cards(truth, first: date, last: date, workspace_id=None) -> dict:
    charges = truth.elevenlabs_charges(first, last, workspace_id)
    return {label: show(charges[name]) for label, (name, show) in PROVIDER_CARDS.items()}


def shown_models(app: AppTest) -> dict:
    return {
        (row["LLM model"], row["Token category"]): (row["Conversations"], row["Tokens"], row["USD"])
        for row in app.dataframe[1].value.to_dict("records")
    }


def expected_models(truth, first: date, last: date, workspace_id=None) -> dict:
    models = truth.per_model(first, last, workspace_id)
    assert models  # the sandbox's conversations report LLM usage
    return {
        key: (conversations, tokens, money.cents(usd))
        for key, (conversations, tokens, usd) in models.items()
    }


def test_data_health_page(backoffice_env):
    truth = backoffice_env.truth
    app = on_page(open_app(), "health")
    newest = max(fact.at for fact in truth.facts)
    assert app.metric[0].value == views.local_time(pd.Timestamp(newest).floor("h"), ZONE)
    pending = app.dataframe[0].value
    assert (
        sum(pending["Calls not priced yet"]) + sum(pending["Conversations not final"])
        == (truth.totals(*LAST_7)["pending"])
    )
    # The reconciliation with the bills, as the warehouse holds it, newest days first.
    with psycopg.connect(backoffice_env.owner_url) as owner:
        expected_days = owner.execute(
            "SELECT provider, day, category, status FROM public.billing_reconciliation"
            " ORDER BY day DESC, provider, category"
        ).fetchall()
    shown = app.dataframe[2].value
    assert expected_days
    assert list(shown[["provider", "day", "category", "status"]].itertuples(index=False)) == [
        tuple(row) for row in expected_days
    ]
    assert any("No Dagster webserver answers" in info.value for info in app.info)
    numbers = set(app.dataframe[1].value["Number"])
    assert {"+34930345511", "+34911672245", "+13527479010"} <= numbers  # nobody's numbers


def test_exports_are_the_tables_on_screen_at_full_precision(backoffice_env):
    truth = backoffice_env.truth
    app = on_page(open_app(), "export")
    assert not app.exception
    from simbiosia_pipeline.backoffice import ui

    selection = ui.Selection(periods.DayRange(*LAST_7), None, ui.ALL_WORKSPACES)
    days = views.per_day(_daily(*LAST_7))
    # CSV: every digit, equal to the truth exactly (not rounded).
    rows = list(csv.DictReader(io.StringIO(exports.csv_bytes(days).decode())))
    assert {
        date.fromisoformat(row["Day"]): {
            TABLE_COLUMNS[label]: (
                Decimal(row[label]) if name.endswith(("usd", "credits")) else int(row[label])
            )
            for label, name in TABLE_COLUMNS.items()
        }
        for row in rows
    } == truth.per_day(*LAST_7)
    # The screen shows the same table, rounded.
    shown_first = app.dataframe[0].value
    assert list(shown_first.columns) == list(days.columns)
    assert shown_days(shown_first) == {d: rounded(f) for d, f in truth.per_day(*LAST_7).items()}
    # Excel: a sheet per table, the same rows.
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes({"Per day": days})))
    sheet = list(book["Per day"].values)
    assert sheet[0] == tuple(days.columns)
    assert [
        Decimal(str(row[list(days.columns).index("Total USD")])).quantize(Decimal("0.0000001"))
        for row in sheet[1:]
    ] == [
        figures["total_usd"].quantize(Decimal("0.0000001"))
        for figures in truth.per_day(*LAST_7).values()
    ]
    assert selection.days.days == 7


def test_clear_messages_instead_of_stack_traces(backoffice_env, monkeypatch):
    # A range with no data.
    app = open_app()
    app.sidebar.selectbox(key="filter_period").set_value(periods.CUSTOM).run()
    app.sidebar.date_input(key="filter_days").set_value((date(2025, 9, 1), date(2025, 9, 7))).run()
    assert not app.exception
    assert any("No calls or conversations" in info.value for info in app.info)
    # A workspace without activity in the range (the Tuesday between the ingested days).
    quiet_day = date(2025, 10, 28)
    app.sidebar.date_input(key="filter_days").set_value((quiet_day, quiet_day)).run()
    on_page(app, "workspace")
    app.selectbox(key="workspace_page_id").set_value(6).run()
    assert any("has no activity in this range" in info.value for info in app.info)

    # A warehouse that is down.
    monkeypatch.setenv(
        "SIMBIOSIA_BACKOFFICE_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    )
    for page in ("overview", "calls", "health"):
        app = open_app()
        if page != "overview":
            on_page(app, page)
        assert not app.exception
        assert any("The warehouse does not answer" in error.value for error in app.error), page

    # An empty warehouse (nothing ingested yet).
    empty = create_database("simbiosia_backoffice_empty")
    try:
        monkeypatch.setenv("SIMBIOSIA_BACKOFFICE_DATABASE_URL", empty)
        app = open_app()
        assert not app.exception
        assert any("no cost tables yet" in info.value for info in app.info)
    finally:
        drop_database(empty)


PASSWORD = "correct horse battery staple 42"


def test_login_is_required_off_loopback_and_refuses_a_wrong_password(backoffice_env, monkeypatch):
    # Off loopback with no login configured: nothing is shown.
    app = open_app(address="0.0.0.0")
    assert not app.metric
    assert any("no login is configured" in error.value for error in app.error)

    monkeypatch.setenv("SIMBIOSIA_BACKOFFICE_PASSWORD", PASSWORD)
    app = open_app(address="0.0.0.0")
    assert not app.metric
    app.text_input(key="login_password").input("not the password")
    app.button[0].click().run()
    assert any(error.value == "Wrong password." for error in app.error)
    assert not app.metric
    app.text_input(key="login_password").input(PASSWORD)
    app.button[0].click().run()
    assert cards(app) == expected_cards(backoffice_env.truth, *LAST_7)
    # The password is nowhere on the page, not even in the cleared field.
    assert PASSWORD not in str(list(app.main)) + str(list(app.sidebar))
