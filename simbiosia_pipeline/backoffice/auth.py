"""Who may see the backoffice.

On a loopback address with nothing configured, anyone on this machine may. Otherwise a login is
required: Streamlit's built-in OIDC login (``st.login``) when an ``[auth]`` section is in its
secrets, else the password of ``SIMBIOSIA_BACKOFFICE_PASSWORD``. With neither, the launcher
refuses to start on any other address (``launcher.py``), and the app refuses to show anything.

The password never reaches a page, a log or the query string: it is typed into a password field
of a form that clears itself, compared in constant time, and only "signed in" is kept in the
session.
"""

from __future__ import annotations

import hmac
import os
import time
import tomllib
from pathlib import Path

from simbiosia_pipeline.backoffice.config import PASSWORD_VARIABLE

SIGNED_IN = "backoffice_signed_in"
FAILED_SIGN_IN_DELAY_SECONDS = 1.0  # slows down guessing; a person does not notice


def password_configured(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get(PASSWORD_VARIABLE))


def password_matches(candidate: str, env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    expected = env.get(PASSWORD_VARIABLE) or ""
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


def oidc_configured_in(secrets_files: list[Path]) -> bool:
    """Whether one of Streamlit's secrets files has an ``[auth]`` section with a provider."""
    for path in secrets_files:
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            auth = tomllib.load(handle).get("auth")
        if isinstance(auth, dict) and (
            "client_id" in auth or any(isinstance(value, dict) for value in auth.values())
        ):
            return True
    return False


def gate(st, loopback: bool, oidc: bool) -> bool:
    """Show the login the configuration asks for; True once the visitor may see the pages."""
    if oidc:
        if st.user.is_logged_in:
            st.sidebar.button("Log out", on_click=st.logout)
            return True
        st.title("Simbiosia backoffice")
        st.button("Log in", on_click=st.login, type="primary")
        return False
    if password_configured():
        return _password_gate(st)
    if loopback:
        return True
    st.error(
        "This backoffice listens on a public address and no login is configured: set "
        f"{PASSWORD_VARIABLE} or Streamlit's [auth] secrets, then restart it."
    )
    return False


def _password_gate(st) -> bool:
    if st.session_state.get(SIGNED_IN):
        if st.sidebar.button("Log out"):
            st.session_state[SIGNED_IN] = False
            st.rerun()
        return True
    st.title("Simbiosia backoffice")
    with st.form("login", clear_on_submit=True):
        typed = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        if password_matches(typed):
            st.session_state[SIGNED_IN] = True
            st.rerun()
        time.sleep(FAILED_SIGN_IN_DELAY_SECONDS)
        st.error("Wrong password.")
    return False
