"""The workspaces file sensor with an invalid file: the tick is skipped with the file's problem,
an alert goes out once per version of the file, the warehouse is not touched (the previous
directory stays in force), and nothing raises."""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.jobs import directory_job
from simbiosia_pipeline.automation.reattribution import workspaces_file_sensor
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource

# 9 levels of 9 aliases: 9^9 values once expanded, from ~500 bytes.
ALIAS_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + level)}: &{chr(98 + level)} [{','.join(['*' + chr(97 + level)] * 9)}]\n"
    for level in range(8)
)


def test_the_file_sensor_reports_an_invalid_file_once_and_loads_nothing(
    tmp_path, monkeypatch, webhook
):
    path = tmp_path / "workspaces.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(path))
    sensor = workspaces_file_sensor(directory_job(workspace_directory))
    # The warehouse is never reached for an invalid file: a URL nothing answers proves it.
    resources = {
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
        "alerts": AlertChannels.from_env(),
    }
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance, resources=resources)
        first = sensor.evaluate_tick(context)
        again = sensor.evaluate_tick(
            dg.build_sensor_context(instance, resources=resources, cursor=first.cursor)
        )
    for tick in (first, again):
        assert tick.run_requests == []
        assert "the previous directory stays in force" in tick.skip_message
        assert "workspaces.yaml:1: its aliases expand it beyond" in tick.skip_message
    assert len(webhook.texts) == 1  # alerted once for this version of the file
    assert "Workspaces file invalid" in webhook.texts[0]
