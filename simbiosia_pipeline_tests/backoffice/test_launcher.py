"""`simbiosia backoffice` refuses to listen off loopback without a login, and reads as the
dashboard role, never with the pipeline's own URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simbiosia_pipeline.backoffice import auth
from simbiosia_pipeline.backoffice.config import is_loopback
from simbiosia_pipeline.backoffice.launcher import check_exposure, dashboard_database_url, with_user
from simbiosia_pipeline.settings import ConfigurationError

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("backoffice.example.com", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_off_loopback_needs_a_login(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "simbiosia_pipeline.backoffice.launcher.secrets_files", lambda: [tmp_path / "none.toml"]
    )
    check_exposure("127.0.0.1", {})
    with pytest.raises(ConfigurationError, match="refusing to listen on 0.0.0.0 without a login"):
        check_exposure("0.0.0.0", {})
    check_exposure("0.0.0.0", {"SIMBIOSIA_BACKOFFICE_PASSWORD": "x" * 20})


def test_oidc_counts_as_a_login_when_streamlit_secrets_configure_it(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[other]\nx = 1\n")
    assert not auth.oidc_configured_in([secrets])
    secrets.write_text(
        '[auth]\nredirect_uri = "https://b.example.com/oauth2callback"\ncookie_secret = "s"\n'
        'client_id = "id"\nclient_secret = "secret"\n'
        'server_metadata_url = "https://idp.example.com/.well-known/openid-configuration"\n'
    )
    assert auth.oidc_configured_in([secrets])


def test_the_command_refuses_a_public_address_without_a_login(tmp_path):
    env = {
        key: value for key, value in os.environ.items() if key != "SIMBIOSIA_BACKOFFICE_PASSWORD"
    }
    refused = subprocess.run(
        [str(BIN / "simbiosia"), "backoffice", "--host", "0.0.0.0", "--port", "1"],
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a login" in refused.stderr


def test_the_pipeline_credentials_are_not_the_backoffice_s():
    with pytest.raises(ConfigurationError, match="SIMBIOSIA_BACKOFFICE_DATABASE_URL"):
        dashboard_database_url({"SIMBIOSIA_DATABASE_URL": "postgresql://owner:pw@db/warehouse"})
    assert dashboard_database_url({"SIMBIOSIA_BACKOFFICE_DATABASE_URL": "postgresql://d@db/w"}) == (
        "postgresql://d@db/w"
    )
    assert with_user("postgresql://postgres:@/simbiosia?host=/run/x", "dash") == (
        "postgresql://dash@/simbiosia?host=/run/x"
    )
