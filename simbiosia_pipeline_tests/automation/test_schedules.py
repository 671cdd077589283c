"""The schedules as the daemon evaluates them, at chosen tick times."""

from datetime import UTC, datetime

import dagster as dg

from simbiosia_pipeline.definitions import defs


def test_hourly_tick_requests_the_hour_that_just_closed_once():
    schedule = defs.get_schedule_def("hourly_pipeline_schedule")
    assert schedule.cron_schedule == "10 * * * *"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2025, 10, 9, 7, 10, tzinfo=UTC)
        )
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2025-10-09-06:00"
    assert request.run_key == "2025-10-09-06:00"  # a second tick for the same hour is a no-op


def test_catch_up_tick_is_one_ranged_run():
    schedule = defs.get_schedule_def("daily_catch_up_schedule")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2025, 10, 9, 3, 30, tzinfo=UTC)
        )
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2025-10-07-03:00"
