"""What every page shares: the connection, the cached reads, the sidebar filters, the cards,
tables and download buttons, and the messages that replace a page when there is nothing to show.
Streamlit does the work (caching, widgets, charts); this module only decides what goes in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from simbiosia_pipeline.backoffice import exports, money, periods, queries, views
from simbiosia_pipeline.backoffice.config import BackofficeConfig, database_url
from simbiosia_pipeline.backoffice.dagster_api import DagsterClient
from simbiosia_pipeline.warehouse.connection import sqlalchemy_url

CACHE_SECONDS = 60  # the hourly pipeline changes the marts a few times an hour
SELECTION = "backoffice_selection"
ALL_WORKSPACES = "All workspaces"


@st.cache_resource
def config() -> BackofficeConfig:
    return BackofficeConfig.from_env()


@st.cache_resource
def engine() -> sa.Engine:
    """One pool per server process, connected as the read-only dashboard role; sessions are
    read-only and in UTC whatever the server's defaults."""
    return sa.create_engine(
        sqlalchemy_url(database_url()),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 5,
            "options": "-c default_transaction_read_only=on -c TimeZone=UTC",
        },
    )


def dagster() -> DagsterClient | None:
    url = config().dagster_url
    return DagsterClient(url) if url else None


@dataclass(frozen=True)
class Selection:
    days: periods.DayRange
    workspace_id: int | None
    workspace_name: str

    @property
    def filters(self) -> queries.Filters:
        zone = config().reporting_tz
        start, end = self.days.utc_bounds(zone)
        return queries.Filters(start, end, self.workspace_id, zone.key)

    def describe(self) -> str:
        return f"{self.workspace_name} · {self.days.label()} ({config().reporting_tz.key})"


def filters_for(days: periods.DayRange, workspace_id: int | None) -> queries.Filters:
    zone = config().reporting_tz
    start, end = days.utc_bounds(zone)
    return queries.Filters(start, end, workspace_id, zone.key)


# Cached reads: keyed by their arguments, kept a minute. Errors are not cached.
@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def daily(filters: queries.Filters) -> pd.DataFrame:
    return queries.daily(engine(), filters)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def hourly(filters: queries.Filters) -> pd.DataFrame:
    return queries.hourly(engine(), filters)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def workspaces() -> pd.DataFrame:
    return queries.workspaces(engine())


def today() -> date:
    return periods.local_today(config().now(), config().reporting_tz)


def sidebar_filters() -> Selection:
    """The filters every page shares, in the sidebar; kept while moving between pages."""
    sidebar = st.sidebar
    sidebar.header("Filters")
    choice = sidebar.selectbox(
        "Period", [*periods.PRESETS, periods.CUSTOM], key="filter_period", index=0
    )
    current = today()
    if choice == periods.CUSTOM:
        picked = sidebar.date_input(
            "Days",
            value=(current - pd.Timedelta(days=6), current),
            key="filter_days",
            format="YYYY-MM-DD",
        )
        first, last = (picked[0], picked[-1]) if isinstance(picked, tuple | list) else (picked,) * 2
        days = periods.DayRange(first, last) if picked else periods.last_days(7, current)
    else:
        days = periods.last_days(periods.PRESETS[choice], current)
    try:
        listing = workspaces()
        options = [None, *listing["workspace_id"].tolist()]
        names = dict(zip(listing["workspace_id"], listing["name"], strict=True))
    except (queries.WarehouseDownError, queries.NotBuiltError):
        options, names = [None], {}
    workspace_id = sidebar.selectbox(
        "Workspace",
        options,
        key="filter_workspace",
        format_func=lambda wid: ALL_WORKSPACES if wid is None else f"{wid} · {names[wid]}",
    )
    name = ALL_WORKSPACES if workspace_id is None else f"{workspace_id} · {names[workspace_id]}"
    sidebar.caption(f"Times in {config().reporting_tz.key}.")
    selection = Selection(days, workspace_id, name)
    st.session_state[SELECTION] = selection
    return selection


def selection() -> Selection:
    return st.session_state[SELECTION]


def show(render: Callable[[Selection], None]) -> None:
    """Run a page; a warehouse that is down or empty gets a message, never a stack trace."""
    try:
        render(selection())
    except queries.WarehouseDownError as exc:
        st.error(str(exc))
    except queries.NotBuiltError as exc:
        st.info(str(exc))


def no_data(what: Selection) -> None:
    st.info(f"No calls or conversations for {what.describe()}.")


def money_columns(table: pd.DataFrame) -> dict:
    """Column formats: USD with separators and 2 decimals, credits and tokens with separators."""
    formats = {}
    for column in table.columns:
        if column in views.MONEY_LABELS:
            formats[column] = st.column_config.NumberColumn(column, format="dollar")
        elif column in ("ElevenLabs credits", "Tokens"):
            formats[column] = st.column_config.NumberColumn(column, format="localized")
    return formats


def dataframe(frame: pd.DataFrame, **options) -> None:
    """A table on screen; a missing value (a cost not known yet, a call without a conversation)
    shows as "—", like the cards, rather than Streamlit's "None"."""
    st.dataframe(frame, placeholder=money.MISSING, **options)


def table(frame: pd.DataFrame, key: str, **config_more) -> None:
    """An exact table on screen, money rounded to the cent."""
    dataframe(
        views.for_display(frame),
        hide_index=True,
        key=key,
        column_config={**money_columns(frame), **config_more},
    )


def csv_button(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        f"Download {name} (CSV)",
        exports.csv_bytes(frame),
        file_name=f"{name.lower().replace(' ', '_')}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
