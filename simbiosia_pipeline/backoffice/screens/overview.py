"""Overview: the range's totals, their evolution per day, and a card per workspace."""

from __future__ import annotations

import streamlit as st

from simbiosia_pipeline.backoffice import completeness, money, periods, queries, ui, views

CARDS = (
    ("Calls", "calls", money.count),
    ("Conversations", "conversations", money.count),
    ("Billable minutes", "billable_minutes", money.count),
    ("Twilio USD", "twilio_usd", money.usd),
    ("ElevenLabs credits", "elevenlabs_credits", money.credits),
    ("ElevenLabs USD", "elevenlabs_usd", money.usd),
    ("Total USD", "total_usd", money.usd),
    ("Costs pending", "pending", money.count),
)


def render(selection: ui.Selection) -> None:
    st.title("Overview")
    st.caption(selection.describe())
    daily = ui.daily(selection.filters)
    totals = queries.totals(daily)
    for row in (CARDS[:4], CARDS[4:]):
        for column, (label, key, formatted) in zip(st.columns(4), row, strict=True):
            column.metric(label, formatted(totals[key]))
    if totals["pending"]:
        st.caption(
            "Costs pending: calls Twilio has not priced yet and conversations not final yet; "
            "their amounts will still change."
        )
    if daily.empty:
        ui.no_data(selection)
        return

    loaded = completeness.cached_loaded_hours(selection.days)
    table = views.per_day(daily, loaded)
    st.subheader("Per day")
    completeness.warn_if_incomplete(loaded, set(daily["day"]))
    left, right = st.columns(2)
    left.bar_chart(
        views.chart_frame(table, "Day", ["Twilio USD", "ElevenLabs USD"]),
        stack=True,
        y_label="USD",
    )
    right.line_chart(
        views.chart_frame(table, "Day", ["Calls", "Conversations", "Billable minutes"])
    )
    ui.table(table, key="overview_days")
    ui.csv_button(table, "Per day", key="overview_days_csv")

    st.subheader("Workspaces")
    _workspace_cards(selection, daily)


def _workspace_cards(selection: ui.Selection, daily) -> None:
    """Each workspace's total for the range, and its monthly budget used so far this month."""
    listing = ui.workspaces()
    if selection.workspace_id is not None:
        listing = listing[listing["workspace_id"] == selection.workspace_id]
    month = periods.month_to_date(selection.days.last)
    month_spend = views.per_workspace(
        ui.daily(ui.filters_for(month, selection.workspace_id)), listing
    ).set_index("Workspace")["Total USD"]
    range_rows = views.per_workspace(daily, listing).set_index("Workspace")
    for column, workspace in zip(st.columns(4) * len(listing), listing.itertuples(), strict=False):
        figures = range_rows.loc[workspace.workspace_id]
        with column.container(border=True, key=f"workspace_card_{workspace.workspace_id}"):
            st.markdown(f"**{workspace.workspace_id} · {workspace.name}**")
            st.metric("Total USD", money.usd(figures["Total USD"]))
            st.caption(
                f"{money.count(figures['Calls'])} calls · "
                f"{money.count(figures['Conversations'])} conversations"
            )
            use = views.budget_use(month_spend.loc[workspace.workspace_id], workspace.monthly_usd)
            if use is None:
                st.caption("No monthly budget")
            else:
                st.progress(
                    min(float(use) / 100, 1.0),
                    text=f"{use}% of the monthly budget "
                    f"({money.usd(workspace.monthly_usd)}) used in {month.first:%B}",
                )


ui.show(render)
