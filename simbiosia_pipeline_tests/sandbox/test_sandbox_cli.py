"""``simbiosia sandbox serve`` and ``summary``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner
from sandbox_support import ACCOUNT, CALLS_PATH, CONVERSATIONS_PATH, TWILIO_AUTH

from simbiosia_pipeline.sandbox.cli import sandbox
from simbiosia_pipeline.sandbox.credentials import credential_sources, credentials_from_env

SERVE = [
    sys.executable,
    "-c",
    "from simbiosia_pipeline.sandbox.cli import sandbox; sandbox()",
    "serve",
]


def test_summary_prints_counts_for_the_last_days():
    result = CliRunner().invoke(sandbox, ["summary", "--days", "2", "--now", "2026-01-14T15:30Z"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "Sandbox from 2026-01-12T15:30:00Z to 2026-01-14T15:30:00Z (clock 2026-01-14T15:30:00Z)"
    )
    assert lines[1].startswith("Twilio calls: ")
    assert int(lines[1].split()[2]) > 900
    assert any(line.startswith("ElevenLabs conversations: ") for line in lines)


def test_serve_offers_every_knob():
    result = CliRunner().invoke(sandbox, ["serve", "--help"])
    for option in (
        "--host",
        "--port",
        "--seed",
        "--scale",
        "--days",
        "--history-start",
        "--now",
        "--latency-ms",
        "--jitter-ms",
        "--max-concurrency",
        "--twilio-max-concurrency",
        "--elevenlabs-max-concurrency",
        "--retry-after-s",
        "--no-retry-after",
        "--error-rate",
        "--hang-rate",
        "--hang-seconds",
        "--truncate-rate",
        "--reset-rate",
        "--duplicate-rate",
        "--cursor-expiry-rate",
        "--missing-detail-rate",
    ):
        assert option in result.output


def test_serve_rejects_impossible_settings():
    result = CliRunner().invoke(sandbox, ["serve", "--twilio-max-concurrency", "0"])
    assert result.exit_code == 2
    assert "twilio_max_concurrency must be at least 1" in result.output


def test_credentials_come_from_the_environment_without_showing_them():
    env = {"TWILIO_AUTH_TOKEN": "secret-token", "ELEVENLABS_API_KEY": ""}
    assert credentials_from_env(env) == {"twilio_auth_token": "secret-token"}
    lines = credential_sources(env)
    assert "TWILIO_AUTH_TOKEN: from the environment" in lines
    assert "ELEVENLABS_API_KEY: sandbox default sk_sandbox" in lines
    assert not any("secret-token" in line for line in lines)


def test_serve_runs_until_interrupted_with_environment_credentials():
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": "token-from-env-123",
        "ELEVENLABS_API_KEY": "sk_env_456",
    }
    env.pop("TWILIO_ACCOUNT_SID", None)
    command = [*SERVE, "--port", "0", "--now", "2026-01-14T15:30:00Z", "--days", "2"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Sandbox serving on http://127.0.0.1:")
        url = first.split()[-1]
        with httpx.Client(base_url=url, timeout=10) as client:
            started = time.monotonic()
            allowed = client.get(CALLS_PATH, auth=(ACCOUNT, "token-from-env-123"))
            assert time.monotonic() - started < 10
            assert allowed.status_code == 200
            assert client.get(CALLS_PATH, auth=TWILIO_AUTH).status_code == 401
            headers = {"xi-api-key": "sk_env_456"}
            assert client.get(CONVERSATIONS_PATH, headers=headers).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=10)
    assert process.returncode is not None
    output = first + rest + errors
    assert "TWILIO_AUTH_TOKEN: from the environment" in output
    assert "token-from-env-123" not in output
    assert "sk_env_456" not in output
