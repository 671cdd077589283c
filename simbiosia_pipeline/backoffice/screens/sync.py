"""Sync now: the hourly job for the latest closed hour, launched through the Dagster webserver's
GraphQL API; its status follows until it ends, with the link to its page in the Dagster UI."""

from __future__ import annotations

import streamlit as st

from simbiosia_pipeline.backoffice import ui
from simbiosia_pipeline.backoffice.dagster_api import DagsterUnavailableError, latest_closed_hour

LAUNCHED = "sync_run_id"


def render(_selection: ui.Selection) -> None:
    st.title("Sync now")
    client = ui.dagster()
    partition = latest_closed_hour(ui.config().now())
    st.write(
        f"Runs the hourly pipeline (both APIs, then the snapshots) for the hour that closed last, "
        f"**{partition} UTC**. The schedule does this at ten past every hour; use it when you "
        "cannot wait."
    )
    if client is None or not client.answers():
        st.warning(
            "Sync is unavailable: no Dagster webserver answers at "
            f"{ui.config().dagster_url or '(none configured)'}. Start it (`make ui`) or set "
            "SIMBIOSIA_DAGSTER_URL to where it runs."
        )
        st.button("Sync now", disabled=True, key="sync_button")
        return
    if st.button("Sync now", type="primary", key="sync_button"):
        try:
            st.session_state[LAUNCHED] = client.launch_hourly(partition)
        except DagsterUnavailableError as exc:
            st.error(str(exc))
    if LAUNCHED in st.session_state:
        _status(st.session_state[LAUNCHED])


@st.fragment(run_every=2)
def _status(run_id: str) -> None:
    client = ui.dagster()
    try:
        run = client.run(run_id)
    except DagsterUnavailableError as exc:
        st.warning(str(exc))
        return
    st.markdown(
        f"Run [{run_id[:8]}]({client.run_url(run_id)}) for {run.partition}: **{run.status}**"
    )


ui.show(render)
