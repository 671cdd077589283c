"""A budget crossed on sandbox data alerts the webhook exactly once."""

from datetime import UTC, datetime

import dagster as dg
import pytest
import yaml

from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.budgets import budget_alert_sensor
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.support import materialize_pipeline

pytestmark = pytest.mark.slow  # the whole graph over twelve hours before the alert

NOW = datetime(2025, 10, 8, 18, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 6, tzinfo=UTC), datetime(2025, 10, 8, 18, tzinfo=UTC)


def test_a_crossed_budget_alerts_once(webhook, warehouse_env, tmp_path, monkeypatch):
    document = yaml.safe_load(WORKSPACES_FILE.read_text())
    for workspace in document["workspaces"]:
        if workspace["id"] == 4:  # a day of workspace 4 costs far more than this
            workspace["budgets"] = {"daily_usd": "1", "monthly_usd": "100000"}
        else:
            workspace.pop("budgets", None)
    path = tmp_path / "workspaces.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(path))

    sandbox = Sandbox(SandboxConfig(seed=4, scale=0.5, now=NOW))
    with start_sandbox_server(sandbox) as server:
        materialize_pipeline(server.url, START, END)

    sensor = budget_alert_sensor(clock=lambda: NOW)
    resources = {
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
        "alerts": AlertChannels.from_env(),
    }
    with dg.instance_for_test() as instance:
        first = dg.build_sensor_context(instance, resources=resources)
        sensor.evaluate_tick(first)
        again = dg.build_sensor_context(instance, cursor=first.cursor, resources=resources)
        sensor.evaluate_tick(again)

    assert len(webhook.texts) == 1
    assert "Workspace 4 (Workspace Principal)" in webhook.texts[0]
    assert "day 2025-10-08" in webhook.texts[0]
