"""Providers: Twilio by call direction; ElevenLabs' LLM and call charges, and LLM use by model."""

from __future__ import annotations

import streamlit as st

from simbiosia_pipeline.backoffice import money, queries, ui, views


def render(selection: ui.Selection) -> None:
    st.title("Providers")
    st.caption(selection.describe())
    st.subheader("Twilio by direction")
    directions = views.direction_table(queries.twilio_by_direction(ui.engine(), selection.filters))
    if directions.empty:
        st.info("No Twilio calls in this range.")
    else:
        st.bar_chart(directions.set_index("Direction")["Twilio USD"].astype(float))
        ui.table(directions, key="providers_directions")

    st.subheader("ElevenLabs")
    charges = queries.elevenlabs_charges(ui.engine(), selection.filters).iloc[0]
    for column, (label, key) in zip(
        st.columns(4),
        (
            ("LLM charge (credits)", "llm_charge_credits"),
            ("Call charge (credits)", "call_charge_credits"),
            ("Total (credits)", "total_credits"),
            ("LLM price (USD)", "llm_price_usd"),
        ),
        strict=True,
    ):
        value = charges[key]
        column.metric(label, money.usd(value) if key.endswith("usd") else money.credits(value))
    models = views.model_table(queries.elevenlabs_by_model(ui.engine(), selection.filters))
    if models.empty:
        st.info("No LLM use recorded in this range.")
    else:
        st.caption("LLM use by model and token category (USD: the LLM's own price).")
        ui.table(models, key="providers_models")


ui.show(render)
