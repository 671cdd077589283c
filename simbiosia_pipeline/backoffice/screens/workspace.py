"""Workspace: one workspace's history per day and per hour, a period comparison, and its numbers
with their validity periods."""

from __future__ import annotations

import streamlit as st

from simbiosia_pipeline.backoffice import completeness, periods, queries, ui, views

MONTH_TO_DATE = "This month to date against the same days of last month"
TWO_RANGES = "Two ranges of my choice"


def render(selection: ui.Selection) -> None:
    st.title("Workspace")
    listing = ui.workspaces()
    ids = listing["workspace_id"].tolist()
    names = dict(zip(listing["workspace_id"], listing["name"], strict=True))
    default = ids.index(selection.workspace_id) if selection.workspace_id in ids else 0
    workspace_id = st.selectbox(
        "Workspace", ids, index=default, key="workspace_page_id",
        format_func=lambda wid: f"{wid} · {names[wid]}",
    )  # fmt: skip
    st.caption(f"{selection.days.label()} ({ui.config().reporting_tz.key})")
    filters = ui.filters_for(selection.days, workspace_id)

    daily = ui.daily(filters)
    if daily.empty:
        st.info(f"Workspace {workspace_id} ({names[workspace_id]}) has no activity in this range.")
    else:
        by_day, by_hour = st.tabs(["Per day", "Per hour"])
        with by_day:
            loaded = completeness.cached_loaded_hours(selection.days)
            completeness.warn_if_incomplete(loaded, set(daily["day"]))
            table = views.per_day(daily, loaded)
            st.bar_chart(
                views.chart_frame(table, "Day", ["Twilio USD", "ElevenLabs USD"]), stack=True
            )
            ui.table(table, key="workspace_days")
        with by_hour:
            table = views.per_hour(ui.hourly(filters), ui.config().reporting_tz)
            st.line_chart(views.chart_frame(table, "Hour", ["Total USD"]))
            ui.table(table, key="workspace_hours")

    st.subheader("Period comparison")
    _comparison(workspace_id)

    st.subheader("Numbers")
    _numbers(workspace_id)


def _comparison(workspace_id: int) -> None:
    mode = st.radio("Compare", [MONTH_TO_DATE, TWO_RANGES], key="comparison_mode")
    current = periods.month_to_date(ui.today())
    previous = periods.same_days_last_month(current)
    if mode == TWO_RANGES:
        left, right = st.columns(2)
        previous = _picked(left, "Period A", previous, "comparison_a")
        current = _picked(right, "Period B", current, "comparison_b")
    before = queries.totals(ui.daily(ui.filters_for(previous, workspace_id)))
    after = queries.totals(ui.daily(ui.filters_for(current, workspace_id)))
    st.caption(f"Period A: {previous.label()} · Period B: {current.label()}")
    ui.table(views.comparison(before, after), key="comparison")


def _picked(column, label: str, default: periods.DayRange, key: str) -> periods.DayRange:
    picked = column.date_input(
        label, value=(default.first, default.last), key=key, format="YYYY-MM-DD"
    )
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return periods.DayRange(picked[0], picked[1])
    return default  # the second day of the range is still being picked


def _numbers(workspace_id: int) -> None:
    numbers = queries.phones(ui.engine(), workspace_id)
    if numbers.empty:
        st.caption(
            "No phone numbers: calls reach this workspace through its agents, or not at all."
        )
        return
    zone = ui.config().reporting_tz
    numbers = numbers.assign(
        valid_from=[views.local_time(v, zone) or "always" for v in numbers["valid_from"]],
        valid_to=[views.local_time(v, zone) or "still owned" for v in numbers["valid_to"]],
    ).rename(
        columns={
            "phone_number": "Number",
            "is_primary": "Primary",
            "valid_from": "Owned from",
            "valid_to": "Owned until",
        }
    )
    ui.dataframe(numbers, hide_index=True, key="workspace_numbers")


ui.show(render)
