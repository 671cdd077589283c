"""An edited workspaces file restates exactly the history it re-attributes, by itself."""

from datetime import UTC, datetime

import dagster as dg
import pytest
import yaml

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.reattribution import (
    directory_restatement_sensor,
    restatement_request,
    workspaces_file_sensor,
)
from simbiosia_pipeline.definitions import DIRECTORY_JOB, RESTATE_JOB
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.utc import EPOCH
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces.changes import Attribution, attribution_changed_since
from simbiosia_pipeline_tests.support import (
    assert_snapshots_equal_truth,
    materialize_pipeline,
    range_tags,
)

pytestmark = pytest.mark.slow  # the pipeline over a day, then its history restated

NOW = datetime(2025, 10, 9, 12, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 6, tzinfo=UTC), datetime(2025, 10, 9, 6, tzinfo=UTC)
HANDOVER = datetime(2025, 10, 8, 15, tzinfo=UTC)
PRIMARY_4 = "+34930340228"


def test_what_changed_decides_from_when_history_is_restated():
    phone = (4, "+34930340228", None, None)
    dated = (5, "+34911677200", datetime(2025, 10, 8, 15, tzinfo=UTC), None)
    old = Attribution(frozenset({phone, dated}), frozenset(), 1)
    assert attribution_changed_since(None, old) is None  # first load: nothing to restate
    assert attribution_changed_since(old, old) is None
    moved = Attribution(frozenset({phone}), frozenset(), 1)
    assert attribution_changed_since(old, moved) == datetime(2025, 10, 8, 15, tzinfo=UTC)
    handed_over = (4, "+34930340228", None, datetime(2025, 10, 8, 15, tzinfo=UTC))
    taken_over = (5, "+34930340228", datetime(2025, 10, 8, 15, tzinfo=UTC), None)
    edited = Attribution(frozenset({handed_over, taken_over, dated}), frozenset(), 1)
    assert attribution_changed_since(old, edited) == datetime(2025, 10, 8, 15, tzinfo=UTC)
    assert attribution_changed_since(old, Attribution(old.phones, old.agents, 4)) == EPOCH


def test_restatement_runs_from_the_changed_hour_to_the_last_complete_one():
    request = restatement_request(datetime(2025, 10, 8, 15, 20, tzinfo=UTC), NOW)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-10-08-15:00"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-10-09-11:00"
    assert restatement_request(NOW, NOW) is None


@pytest.fixture
def edited_file(tmp_path, monkeypatch):
    """The sandbox's file, except that workspace 4's primary number passes to 5 at HANDOVER."""
    document = yaml.safe_load(WORKSPACES_FILE.read_text())
    for workspace in document["workspaces"]:
        for phone in workspace.get("phones", []):
            if workspace["id"] == 4 and phone["number"] == PRIMARY_4:
                phone["valid_to"] = HANDOVER.isoformat()
        if workspace["id"] == 5:
            workspace["phones"].append({"number": PRIMARY_4, "valid_from": HANDOVER.isoformat()})
    path = tmp_path / "workspaces.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def test_an_edited_file_is_loaded_and_its_history_restated(edited_file, warehouse_env, monkeypatch):
    sandbox = Sandbox(SandboxConfig(seed=9, scale=0.5, now=NOW))
    with start_sandbox_server(sandbox) as server, dg.instance_for_test() as instance:
        materialize_pipeline(server.url, START, END)
        with connect(warehouse_env) as conn:
            before = _workspace_of_primary(conn)
        assert before == {4}

        monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(edited_file))
        resources = {
            "warehouse": WarehouseResource(),
            "settings": PipelineSettings.from_env(),
            "alerts": AlertChannels.from_env(),
        }
        watch = workspaces_file_sensor(DIRECTORY_JOB)
        [load] = watch.evaluate_tick(
            dg.build_sensor_context(instance, resources=resources)
        ).run_requests
        dg.materialize([workspace_directory], instance=instance, resources=resources)
        assert not watch.evaluate_tick(
            dg.build_sensor_context(instance, resources=resources)
        ).run_requests

        restate = directory_restatement_sensor(RESTATE_JOB, clock=lambda: END)
        [request] = restate.evaluate_tick(dg.build_sensor_context(instance)).run_requests
        assert request.tags.items() >= range_tags(HANDOVER, END).items()

        from simbiosia_pipeline.dbt.assets import hourly_cost_models
        from simbiosia_pipeline.dbt.resources import dbt_resource

        dg.materialize(
            [hourly_cost_models], instance=instance, tags=request.tags,
            resources={**resources, "dbt": dbt_resource()},
        )  # fmt: skip
    with connect(warehouse_env) as conn:
        assert _workspace_of_primary(conn) == {4, 5}
        monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(edited_file))
        assert_snapshots_equal_truth(conn, sandbox, START, END, workspaces_file=edited_file)
    assert load.run_key.startswith("directory-")


def _workspace_of_primary(conn) -> set[int]:
    rows = conn.execute(
        "SELECT DISTINCT workspace_id FROM staging.stg_twilio_calls"
        " WHERE raw.normalize_e164(from_number) = %s",
        (PRIMARY_4,),
    )
    return {row[0] for row in rows}
