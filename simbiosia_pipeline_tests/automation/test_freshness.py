"""Freshness of the raw assets: which hour is due when, evaluated inside the raw runs (no step of
its own) and, between runs, by the sensor, which records a verdict only when it changes."""

from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.automation.freshness import (
    FRESHNESS_CHECK,
    changed_verdicts,
    evaluate_freshness,
    expected_hour,
    freshness_sensor,
)
from simbiosia_pipeline.definitions import RAW_ASSETS, defs
from simbiosia_pipeline.partitions import PARTITION_KEY_FORMAT
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline_tests.support import materialize_raw

NOW = datetime(2025, 10, 9, 12, 50, tzinfo=UTC)
CALLS = dg.AssetKey(["raw", "twilio_calls"])
CONVERSATIONS = dg.AssetKey(["raw", "elevenlabs_conversations"])


def at(hour: int, minute: int) -> datetime:
    return datetime(2025, 10, 9, hour, minute, tzinfo=UTC)


def test_the_hour_due_is_the_one_before_the_last_deadline_passed():
    assert expected_hour(at(10, 50)) == (at(9, 0), at(10, 45))
    assert expected_hour(at(10, 45)) == (at(9, 0), at(10, 45))  # on the deadline itself
    assert expected_hour(at(10, 44)) == (at(8, 0), at(9, 45))


def test_a_run_that_wrote_the_due_hour_is_fresh_before_its_materializations_are_stored():
    due, _deadline = expected_hour(NOW)
    with dg.DagsterInstance.ephemeral() as instance:
        assert evaluate_freshness(instance, CALLS, NOW, Window(due, due + HOUR))[0]
        assert not evaluate_freshness(instance, CALLS, NOW, Window(due - 24 * HOUR, due))[0]
        assert not evaluate_freshness(instance, CALLS, NOW)[0]


def test_the_sensor_records_a_verdict_only_when_it_changes():
    due_key = expected_hour(NOW)[0].strftime(PARTITION_KEY_FORMAT)
    with dg.DagsterInstance.ephemeral() as instance:
        late = changed_verdicts(instance, [CALLS, CONVERSATIONS], NOW)
        assert [(e.asset_key, e.check_name, e.passed) for e in late] == [
            (CALLS, FRESHNESS_CHECK, False),
            (CONVERSATIONS, FRESHNESS_CHECK, False),
        ]
        assert late[0].metadata["expected_hour"].value == due_key
        assert late[0].severity == dg.AssetCheckSeverity.WARN
        for evaluation in late:  # what the daemon does with the sensor's asset events
            instance.report_runless_asset_event(evaluation)
        assert changed_verdicts(instance, [CALLS, CONVERSATIONS], NOW) == []  # one alert only

        instance.report_runless_asset_event(dg.AssetMaterialization(CALLS, partition=due_key))
        (fresh,) = changed_verdicts(instance, [CALLS, CONVERSATIONS], NOW)
        assert (fresh.asset_key, fresh.passed) == (CALLS, True)


def test_the_sensor_reports_its_verdicts_without_a_run():
    with dg.DagsterInstance.ephemeral() as instance:
        result = freshness_sensor([CALLS])(dg.build_sensor_context(instance=instance))
        assert not result.run_requests
        (evaluation,) = result.asset_events
        assert (evaluation.check_name, evaluation.passed) == (FRESHNESS_CHECK, False)


def test_each_raw_asset_declares_the_check_and_evaluates_it_in_its_own_step(
    sandbox_server, warehouse_env
):
    graph = defs.resolve_asset_graph()
    for asset in RAW_ASSETS:
        check_key = dg.AssetCheckKey(asset.key, FRESHNESS_CHECK)
        assert graph.get(check_key).description.startswith("The newest complete UTC hour")
        # executed with the asset, in its step: no step (process) of its own in any run
        assert asset.key in graph.get_execution_set_asset_and_check_keys(check_key)
    assert defs.resolve_sensor_def("freshness_checks_sensor")

    hour = datetime(2025, 10, 8, 10, tzinfo=UTC)  # the sandbox's past: today's hour is not loaded
    run = materialize_raw(sandbox_server.url, hour, hour + HOUR)
    verdicts = {
        e.asset_key: e for e in run.get_asset_check_evaluations() if e.check_name == FRESHNESS_CHECK
    }
    assert set(verdicts) == {CALLS, CONVERSATIONS}
    assert not any(v.passed for v in verdicts.values())
    assert run.success  # a warning, not a failure
