"""Calls: one row per phone call of the range (``call_costs``), searchable by number, paged."""

from __future__ import annotations

import math

import streamlit as st

from simbiosia_pipeline.backoffice import queries, ui, views


def render(selection: ui.Selection) -> None:
    st.title("Calls")
    st.caption(selection.describe())
    search = st.text_input("Search a number", key="calls_search", placeholder="+34 911 67…")
    size = ui.config().calls_page_size
    # The page picker sits under the table; its value from the last run picks this page.
    page = st.session_state.get("calls_page") or 1
    frame, total = queries.calls_page(ui.engine(), selection.filters, search, page, size)
    pages = max(1, math.ceil(total / size))
    if page > pages:  # the search or the range changed under a later page
        page = st.session_state["calls_page"] = 1
        frame, total = queries.calls_page(ui.engine(), selection.filters, search, page, size)
    if total == 0:
        what = f" matching “{search}”" if queries.search_digits(search) else ""
        st.info(f"No calls{what} for {selection.describe()}.")
        return
    first = (page - 1) * size + 1
    st.caption(f"{total:,} calls; {first:,}–{first + len(frame) - 1:,} shown, newest first.")
    ui.table(views.calls_table(frame, ui.config().reporting_tz), key="calls_table")
    st.pagination(pages, key="calls_page")


ui.show(render)
