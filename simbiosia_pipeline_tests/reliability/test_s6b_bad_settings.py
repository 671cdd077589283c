"""Scenario 6b: bad settings and arguments, as an operator would get them wrong.

Each wrong setting given to ``simbiosia backfill`` ends the command before anything runs, with
exit status 2 and one line naming the variable (a secret one without its value); wrong
arguments get click's usage error (exit 2). ``simbiosia --help`` works whatever the settings.
In Dagster, a credential with a trailing newline fails the run at its start naming the
variable — not retried, no request sent. Then the same command, set right, loads the window
exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from simbiosia_pipeline.definitions import twilio_calls
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.settings import PROJECT_DIR, SANDBOX_WORKSPACES_FILE
from simbiosia_pipeline.sources.resources import LiveApis
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.reliability.control import SandboxControl
from simbiosia_pipeline_tests.reliability.truth import build_snapshots, verify_against_truth

BIN = Path(sys.executable).parent
NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 9, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
RANGE = ["2025-10-08T09:00", "2025-10-08T12:00"]
LIVE = {
    "SIMBIOSIA_SOURCE": "live",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "token-SECRET-81",
    "ELEVENLABS_API_KEY": "sk-SECRET-82",
    "SIMBIOSIA_WORKSPACES_FILE": str(SANDBOX_WORKSPACES_FILE),
}
BAD_SETTINGS = {
    "SIMBIOSIA_SETTLE_MAX_AGE": ({"SIMBIOSIA_SETTLE_MAX_AGE": "5000000d"}, "must be between"),
    "SIMBIOSIA_START_DATE": ({"SIMBIOSIA_START_DATE": "0001-01-01"}, "must be between"),
    "SIMBIOSIA_ELEVENLABS_CONCURRENCY": (
        {"SIMBIOSIA_ELEVENLABS_CONCURRENCY": "100000"}, "must be between 1 and 64"),
    "TWILIO_API_BASE_URL": ({"TWILIO_API_BASE_URL": "file:///etc/passwd"}, "http:// or https://"),
    "ELEVENLABS_API_BASE_URL": ({"ELEVENLABS_API_BASE_URL": "ftp://x"}, "http:// or https://"),
    "SIMBIOSIA_ALERT_WEBHOOK_URL": (
        {"SIMBIOSIA_ALERT_WEBHOOK_URL": "hooks.example/T0/SECRET-83"}, "http:// or https://"),
    "SIMBIOSIA_DATABASE_URL": (
        {"SIMBIOSIA_DATABASE_URL": "mysql://u:SECRET-84@db/x"}, "must be a PostgreSQL URL"),
    "SIMBIOSIA_REPORTING_TZ": ({"SIMBIOSIA_REPORTING_TZ": "Europe/Atlantis"}, "IANA time zone"),
    "TWILIO_AUTH_TOKEN": ({**LIVE, "TWILIO_AUTH_TOKEN": ""}, "must be set when"),
    "ELEVENLABS_API_KEY": ({**LIVE, "ELEVENLABS_API_KEY": "sk-SECRET-82\n"}, "whitespace"),
    "SIMBIOSIA_WORKSPACES_FILE": (
        {**LIVE, "SIMBIOSIA_WORKSPACES_FILE": ""}, "must be set when SIMBIOSIA_SOURCE=live"),
}  # fmt: skip
BAD_ARGUMENTS = {
    "a reversed range": ([RANGE[1], RANGE[0]], "must be before END"),
    "--chunk-hours 0": ([*RANGE, "--chunk-hours", "0"], "0 is not in the range x>=1"),
    "an hour that is not one": (["2025-10-08T09:30", RANGE[1]], "is not on the hour"),
    "a range before the first partition": (["2001-01-01T00:00", RANGE[1]], "before the first"),
    "a range in the future": ([RANGE[0], "2999-01-01T00:00"], "after the last complete hour"),
}


def simbiosia(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "simbiosia"), *arguments], env={**os.environ, **env}, cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_bad_settings_stop_the_cli_with_one_line_and_the_right_one_runs(
    warehouse_env, tmp_path, instance
):
    env = {"DAGSTER_HOME": str(tmp_path / "dagster_home"), "SIMBIOSIA_DATABASE_URL": warehouse_env}
    Path(env["DAGSTER_HOME"]).mkdir()
    every_bad_setting = {k: v for bad, _ in BAD_SETTINGS.values() for k, v in bad.items()}
    assert simbiosia("--help", env=every_bad_setting).returncode == 0
    assert simbiosia("backfill", "--help", env=every_bad_setting).returncode == 0

    for variable, (bad, expected) in BAD_SETTINGS.items():
        done = simbiosia("backfill", *RANGE, env={**env, **bad})
        assert done.returncode == 2, (variable, done.stderr[-2000:])
        assert done.stderr.count("\n") == 1 and not done.stdout, (variable, done.stderr)
        assert done.stderr.startswith(f"configuration error: {variable}"), done.stderr
        assert expected in done.stderr, (variable, done.stderr)
        assert "SECRET" not in done.stderr, done.stderr
    for what, (arguments, expected) in BAD_ARGUMENTS.items():
        done = simbiosia("backfill", *arguments, env=env)
        assert done.returncode == 2 and expected in done.stderr, (what, done.stderr)
        assert "Traceback" not in done.stderr

    sandbox = Sandbox(SandboxConfig(seed=67, scale=0.4, now=NOW))
    with start_sandbox_server(sandbox) as server:
        env |= {"TWILIO_API_BASE_URL": server.url, "ELEVENLABS_API_BASE_URL": server.url}
        done = simbiosia("backfill", *RANGE, "--select", "group:raw", env=env)
        requests = SandboxControl(server.url).stats()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1/1 runs succeeded" in done.stdout

    build_snapshots(START, END, instance=instance)
    verify_against_truth(
        warehouse_env,
        sandbox,
        START,
        END,
        scenario="S6b bad settings and arguments",
        faults=f"{len(BAD_SETTINGS)} bad settings (exit 2, one line each, secrets unshown), "
        f"{len(BAD_ARGUMENTS)} bad arguments (usage error); then the right ones",
        retries="none",
    )
    assert requests["responses"], "the right settings reached the API"


def test_a_credential_with_a_newline_fails_the_run_at_its_start_without_retries(warehouse_env):
    apis = LiveApis(
        twilio_account_sid=LIVE["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=LIVE["TWILIO_AUTH_TOKEN"] + "\n",
        elevenlabs_api_key=LIVE["ELEVENLABS_API_KEY"],
        twilio_base_url="http://127.0.0.1:1",  # nothing there: no request may be sent anyway
        elevenlabs_base_url="http://127.0.0.1:1",
    )
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [twilio_calls], partition_key="2025-10-08-09:00", instance=instance,
            resources={"apis": apis, "warehouse": WarehouseResource(),
                       "settings": PipelineSettings.from_env()}, raise_on_error=False,
        )  # fmt: skip
        events = instance.all_logs(result.run_id)
    assert not result.success
    kinds = {event.dagster_event.event_type for event in events if event.dagster_event}
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    errors = "\n".join(  # the resource's failure, as the run's event log shows it
        error.to_string()
        for event in events
        if event.dagster_event
        and (error := getattr(event.dagster_event.event_specific_data, "error", None))
    )
    assert "TWILIO_AUTH_TOKEN holds whitespace or a control character" in errors
    assert "SECRET" not in errors
