"""Export: every table of the current filters as CSV, or all of them in one Excel workbook —
the same rows and columns as on screen, amounts at full precision."""

from __future__ import annotations

import streamlit as st

from simbiosia_pipeline.backoffice import exports, queries, ui, views


def tables(selection: ui.Selection) -> dict:
    """The tables the pages show for ``selection``, by name (the calls: every matching row)."""
    zone = ui.config().reporting_tz
    filters = selection.filters
    daily = ui.daily(filters)
    listing = ui.workspaces()
    if selection.workspace_id is not None:
        listing = listing[listing["workspace_id"] == selection.workspace_id]
    search = st.session_state.get("calls_search", "")
    return {
        "Per day": views.per_day(daily),
        "Per workspace": views.per_workspace(daily, listing),
        "Per hour": views.per_hour(ui.hourly(filters), zone),
        "Twilio by direction": views.direction_table(
            queries.twilio_by_direction(ui.engine(), filters)
        ),
        "ElevenLabs by model": views.model_table(queries.elevenlabs_by_model(ui.engine(), filters)),
        "Calls": views.calls_table(queries.all_calls(ui.engine(), filters, search), zone),
    }


def render(selection: ui.Selection) -> None:
    st.title("Export")
    st.caption(selection.describe())
    everything = tables(selection)
    st.download_button(
        "Download all tables (Excel)",
        exports.xlsx_bytes(everything),
        file_name="simbiosia_costs.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="export_xlsx",
        on_click="ignore",
        type="primary",
    )
    for name, frame in everything.items():
        rows = f"{len(frame):,} row" + ("" if len(frame) == 1 else "s")
        with st.expander(f"{name} — {rows}"):
            ui.csv_button(frame, name, key=f"export_csv_{name}")
            ui.table(frame.head(1000), key=f"export_table_{name}")


ui.show(render)
