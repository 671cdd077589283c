"""The backoffice's Streamlit entry point (``streamlit run``; ``simbiosia backoffice`` starts it).

Login first (``auth.py``), then the shared sidebar filters, then the page picked in Streamlit's
navigation. Each page is a script of ``screens/`` (not ``pages/``: Streamlit would also run
that folder's scripts by themselves, its older multipage layout, skipping login and filters).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from simbiosia_pipeline.backoffice import auth, ui
from simbiosia_pipeline.backoffice.config import is_loopback

HERE = Path(__file__).parent
PAGES = [
    st.Page(
        HERE / "screens/overview.py", title="Overview", icon=":material/dashboard:", default=True
    ),
    st.Page(HERE / "screens/workspace.py", title="Workspace", icon=":material/business:"),
    st.Page(HERE / "screens/calls.py", title="Calls", icon=":material/call:"),
    st.Page(HERE / "screens/providers.py", title="Providers", icon=":material/hub:"),
    st.Page(HERE / "screens/health.py", title="Data health", icon=":material/monitor_heart:"),
    st.Page(HERE / "screens/export.py", title="Export", icon=":material/download:"),
    st.Page(HERE / "screens/sync.py", title="Sync now", icon=":material/sync:"),
]


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


st.set_page_config(
    page_title="Simbiosia backoffice", page_icon=":material/payments:", layout="wide"
)
address = st.get_option("server.address") or ""
if auth.gate(st, loopback=bool(address) and is_loopback(address), oidc=_oidc_configured()):
    navigation = st.navigation(PAGES)
    ui.sidebar_filters()
    navigation.run()
