"""Data health: how fresh the figures are, what is still pending or unattributed, the
reconciliation with the bills when it exists, and the last pipeline runs in the Dagster UI."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from simbiosia_pipeline.backoffice import queries, ui, views
from simbiosia_pipeline.backoffice.dagster_api import DagsterUnavailableError


def render(selection: ui.Selection) -> None:
    st.title("Data health")
    zone = ui.config().reporting_tz
    newest = queries.newest_hour(ui.engine())
    st.metric(
        "Newest hour in the snapshots (its start)",
        views.local_time(newest, zone) if newest else "none yet",
        help="The latest hour with any call or conversation that the pipeline has built. The "
        "hourly schedule builds each hour ten minutes after it closes.",
    )

    st.subheader("Hours with costs still pending")
    pending = queries.pending_hours(ui.engine(), selection.filters)
    if pending.empty:
        st.success(f"Every cost of {selection.describe()} is final.")
    else:
        pending = pending.assign(hour=[views.local_time(h, zone) for h in pending["hour"]])
        ui.dataframe(
            pending.rename(
                columns={
                    "hour": "Hour",
                    "workspace_id": "Workspace",
                    "unpriced_calls": "Calls not priced yet",
                    "unsettled_conversations": "Conversations not final",
                }
            ),
            hide_index=True,
            key="health_pending",
        )

    st.subheader("Unattributed numbers")
    fallen = queries.unattributed(ui.engine(), selection.filters)
    if fallen.empty:
        st.success("Every call and conversation of the range belongs to a workspace.")
    else:
        st.caption(
            "Calls and conversations of the range from these numbers went to the catch-all "
            "workspace."
        )
        fallen = fallen.assign(
            first_seen=[views.local_time(t, zone) for t in fallen["first_seen"]],
            last_seen=[views.local_time(t, zone) for t in fallen["last_seen"]],
        )
        ui.dataframe(
            fallen.rename(
                columns={
                    "phone_number": "Number",
                    "is_e164": "E.164",
                    "twilio_calls": "Twilio calls",
                    "elevenlabs_conversations": "ElevenLabs conversations",
                    "records": "Records",
                    "first_seen": "First seen",
                    "last_seen": "Last seen",
                }
            ),
            hide_index=True,
            key="health_unattributed",
        )

    st.subheader("Reconciliation with the bills")
    reconciliation = queries.reconciliation(ui.engine())
    if reconciliation is None:
        st.caption("Not available: this warehouse has no billing reconciliation yet.")
    else:
        ui.dataframe(reconciliation, hide_index=True, key="health_reconciliation")

    st.subheader("Last pipeline runs")
    _runs()


def _runs() -> None:
    client = ui.dagster()
    if client is None or not client.answers():
        st.info(
            "No Dagster webserver answers at "
            f"{ui.config().dagster_url or '(none configured)'}: set SIMBIOSIA_DAGSTER_URL."
        )
        return
    try:
        runs = client.recent_runs()
    except DagsterUnavailableError as exc:
        st.warning(str(exc))
        return
    zone = ui.config().reporting_tz
    ui.dataframe(
        pd.DataFrame(
            {
                "Run": [client.run_url(run.run_id) for run in runs],
                "Job": [run.job_name for run in runs],
                "Hours": [run.partition or "" for run in runs],
                "Status": [run.status for run in runs],
                "Started": [views.local_time(run.started, zone) for run in runs],
                "Ended": [views.local_time(run.ended, zone) for run in runs],
            }
        ),
        hide_index=True,
        key="health_runs",
        column_config={
            "Run": st.column_config.LinkColumn("Run", display_text=r"/runs/([0-9a-f]{8})")
        },
    )


ui.show(render)
