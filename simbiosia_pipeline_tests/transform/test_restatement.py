"""Restating an hour through Dagster, as a user does it from the UI.

One story, run by Dagster's own execution (``materialize``) against a fresh database:

1. materialize the directory, the hourly dbt assets for 09:00-12:00 (one ranged run) and the
   views: at 10:00 a call is not rated yet, a conversation is still running, and number X
   belongs to workspace 5;
2. the price and the final cost arrive in raw, and the workspaces file moves X to workspace 6,
   which leaves workspace 5 without records at 10:00: materialize the directory and the single
   partition 10:00.

Its states are captured for the tests below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import yaml

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.dbt.assets import cost_views, hourly_cost_models
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT, hour_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import Directory
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.transform.api_records import conversation, twilio_call
from simbiosia_pipeline_tests.transform.conftest import DBT

H9, H10, H11, H12 = (datetime(2025, 11, 3, hour, tzinfo=UTC) for hour in (9, 10, 11, 12))
A1, B1, X = "+34930340228", "+34911677200", "+34930349258"


def directory(owner_of_x: int) -> Directory:
    workspaces = [
        {"id": 1, "name": "Otros Números"},
        {"id": 4, "name": "Principal", "phones": [{"number": A1}]},
        {"id": 5, "name": "Secundario", "phones": [{"number": B1}]},
        {"id": 6, "name": "Nuevo", "phones": []},
    ]
    workspaces[[ws["id"] for ws in workspaces].index(owner_of_x)]["phones"].append({"number": X})
    return Directory.model_validate({"catch_all_workspace": 1, "workspaces": workspaces})


def at(hour: datetime, minute: int) -> datetime:
    return hour + timedelta(minutes=minute)


UNRATED = twilio_call("outbound-api", A1, "+34600000001", at(H10, 5), price=None)
RATED = {**UNRATED, "price": "-0.02100"}
RUNNING = conversation(at(H10, 6), agent_number=A1, status="in-progress")
FINISHED = {
    **RUNNING,
    "status": "done",
    "metadata": {
        **RUNNING["metadata"],
        "cost": 777,
        "charging": {**RUNNING["metadata"]["charging"], "llm_charge": 7, "call_charge": 770},
    },
}
STEADY_CALLS = [
    twilio_call("outbound-api", A1, "+34600000002", at(H9, 30)),
    twilio_call("outbound-api", A1, "+34600000003", at(H10, 30)),
    twilio_call("outbound-api", X, "+34600000004", at(H10, 10), price="-0.05000"),
    twilio_call("outbound-api", X, "+34600000005", at(H10, 20), duration=130),
    twilio_call("outbound-api", B1, "+34600000006", at(H11, 40)),
]
STEADY_CONVERSATIONS = [
    conversation(at(H9, 31), agent_number=A1),
    conversation(at(H10, 11), agent_number=X),
    conversation(at(H11, 41), agent_number=B1),
]


def snapshot_rows(warehouse) -> dict[str, dict]:
    return {
        table: {
            (row["workspace_id"], row["snapshot_date"]): row
            for row in warehouse.rows(f"SELECT * FROM {table}")
        }
        for table in ("twilio_snapshots", "elevenlabs_snapshots")
    }


@dataclass
class Story:
    first_run: dg.ExecuteInProcessResult
    second_run: dg.ExecuteInProcessResult
    before: dict
    after: dict


@pytest.fixture(scope="module")
def story(warehouse, tmp_path_factory) -> Story:
    workspaces_file = tmp_path_factory.mktemp("directory") / "workspaces.yaml"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SIMBIOSIA_DATABASE_URL", warehouse.url)
        env.setenv("SIMBIOSIA_WORKSPACES_FILE", str(workspaces_file))
        resources = {
            "warehouse": WarehouseResource(),
            "settings": PipelineSettings.from_env(),
            "dbt": DBT,
        }

        write_workspaces_file(workspaces_file, owner_of_x=5)
        warehouse.store([UNRATED, *STEADY_CALLS], [RUNNING, *STEADY_CONVERSATIONS])
        first_run = dg.materialize(
            [workspace_directory, hourly_cost_models, cost_views],
            resources=resources,
            tags=hour_range_tags(Window(H9, H11 + HOUR)),
        )
        before = snapshot_rows(warehouse)

        warehouse.store([RATED], [FINISHED])
        write_workspaces_file(workspaces_file, owner_of_x=6)
        second_run = dg.materialize(
            [workspace_directory, hourly_cost_models],
            resources=resources,
            partition_key=H10.strftime(PARTITION_KEY_FORMAT),
        )
        return Story(first_run, second_run, before, snapshot_rows(warehouse))


def write_workspaces_file(path, owner_of_x: int) -> None:
    path.write_text(yaml.safe_dump(directory(owner_of_x).model_dump(mode="json")), encoding="utf-8")


def in_hour(rows: dict, hour: datetime) -> dict:
    return {key: row for key, row in rows.items() if key[1] == hour}


def outside_hour(rows: dict, hour: datetime) -> dict:
    return {key: row for key, row in rows.items() if key[1] != hour}


def reference_fields(row: dict, reference) -> dict:
    return {field: row[field] for field in asdict(reference)}


def test_the_rebuilt_hour_has_the_new_correct_values(story):
    after = story.after
    reference = expected.twilio_snapshots([RATED, *STEADY_CALLS], directory(owner_of_x=6))
    rebuilt = in_hour(after["twilio_snapshots"], H10)

    assert rebuilt.keys() == in_hour(reference, H10).keys() == {(4, H10), (6, H10)}
    for key, row in rebuilt.items():
        assert reference_fields(row, reference[key]) == asdict(reference[key])
    assert rebuilt[(4, H10)]["unpriced_calls"] == 0

    conversations = expected.elevenlabs_snapshots(
        [FINISHED, *STEADY_CONVERSATIONS], directory(owner_of_x=6)
    )
    settled = after["elevenlabs_snapshots"][(4, H10)]
    assert reference_fields(settled, conversations[(4, H10)]) == asdict(conversations[(4, H10)])
    assert (settled["total_cost"], settled["unsettled_conversations"]) == (777, 0)


def test_the_late_values_were_missing_before(story):
    before = story.before
    assert before["twilio_snapshots"][(4, H10)]["unpriced_calls"] == 1
    assert before["elevenlabs_snapshots"][(4, H10)]["unsettled_conversations"] == 1


def test_a_workspace_hour_left_without_records_disappears(story):
    before, after = story.before, story.after
    assert (5, H10) in before["twilio_snapshots"]
    assert (5, H10) in before["elevenlabs_snapshots"]
    assert (5, H10) not in after["twilio_snapshots"]
    assert (5, H10) not in after["elevenlabs_snapshots"]


def test_the_other_hours_are_untouched(story):
    before, after = story.before, story.after
    for table in before:
        # not even created_at moves: those rows were not rewritten, though workspace 6 now
        # owns X (restating them is a separate, explicit rebuild)
        assert outside_hour(after[table], H10) == outside_hour(before[table], H10)


def test_a_rebuilt_row_keeps_its_id(story):
    before, after = story.before, story.after
    assert after["twilio_snapshots"][(4, H10)]["id"] == before["twilio_snapshots"][(4, H10)]["id"]
    assert (
        after["elevenlabs_snapshots"][(4, H10)]["id"]
        == before["elevenlabs_snapshots"][(4, H10)]["id"]
    )


def test_the_first_run_materializes_the_whole_graph_with_passing_checks(story):
    run = story.first_run
    assert run.success
    materialized = {
        (event.asset_key.to_user_string(), event.partition)
        for event in run.get_asset_materialization_events()
    }
    hours = {hour.strftime(PARTITION_KEY_FORMAT) for hour in (H9, H10, H11)}
    hourly_keys = {key.to_user_string() for key in hourly_cost_models.keys}
    assert materialized == {(key, hour) for key in hourly_keys for hour in hours} | {
        (key.to_user_string(), None) for key in (*workspace_directory.keys, *cost_views.keys)
    }
    checks = run.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    assert {"twilio_snapshots_reconcile_with_raw", "call_costs_cover_every_record"} <= {
        check.check_name for check in checks
    }


def test_the_directory_reports_what_it_loaded_and_its_version(story):
    (first,) = story.first_run.asset_materializations_for_node("workspace_directory")
    (second,) = story.second_run.asset_materializations_for_node("workspace_directory")
    assert first.metadata["workspaces"].value == 4
    assert first.metadata["phone_numbers"].value == 3
    assert first.tags["dagster/data_version"] == directory(owner_of_x=5).content_hash()
    assert second.tags["dagster/data_version"] == directory(owner_of_x=6).content_hash()


def test_the_second_run_rebuilds_only_its_partition(story):
    assert story.second_run.success
    partitions = {
        event.partition
        for event in story.second_run.get_asset_materialization_events()
        if event.asset_key != workspace_directory.key
    }
    assert partitions == {H10.strftime(PARTITION_KEY_FORMAT)}
