"""Live mode needs the operator's workspaces file: the sandbox's fictional one is a default for
the sandbox only. Without it, real costs would be attributed to invented customers, silently —
so the settings, the command line and the code location refuse to start, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simbiosia_pipeline.settings import (
    PROJECT_DIR,
    SANDBOX_WORKSPACES_FILE,
    ConfigurationError,
    Settings,
)

BIN = Path(sys.executable).parent
LIVE = {
    "SIMBIOSIA_SOURCE": "live",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token-for-tests",
    "ELEVENLABS_API_KEY": "sk_key_for_tests",
}
WHY = (
    "SIMBIOSIA_WORKSPACES_FILE must be set when SIMBIOSIA_SOURCE=live: the default is the "
    "sandbox's fictional workspaces, which would attribute real costs to invented customers"
)


def _environment(extra: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k != "SIMBIOSIA_WORKSPACES_FILE"}
    return {**kept, **extra}


def test_live_settings_without_a_workspaces_file_are_refused_with_the_reason():
    with pytest.raises(ConfigurationError) as failure:
        Settings.from_env(LIVE)
    assert str(failure.value) == WHY


def test_the_sandbox_keeps_its_default_and_live_takes_the_file_it_is_given(tmp_path):
    assert Settings.from_env({}).workspaces_file == SANDBOX_WORKSPACES_FILE
    chosen = tmp_path / "workspaces.yaml"
    live = Settings.from_env({**LIVE, "SIMBIOSIA_WORKSPACES_FILE": str(chosen)})
    assert live.workspaces_file == chosen


def test_the_command_line_stops_before_anything_runs(tmp_path):
    done = subprocess.run(
        [str(BIN / "simbiosia"), "backfill", "2025-10-08T09:00", "2025-10-08T10:00"],
        env=_environment({**LIVE, "SIMBIOSIA_HOME": str(tmp_path / "home")}),
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == f"configuration error: {WHY}\n"
    assert not done.stdout and not (tmp_path / "home").exists()


def test_the_code_location_does_not_load(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import simbiosia_pipeline.definitions"],
        env=_environment({**LIVE, "SIMBIOSIA_HOME": str(tmp_path / "home")}),
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert WHY in done.stderr
