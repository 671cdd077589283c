"""Which unsettled hours the sensor asks for, and when (pure planning)."""

from datetime import UTC, datetime, timedelta

from simbiosia_pipeline.automation.schedules import catch_up_request
from simbiosia_pipeline.automation.settlement import (
    SettlementPolicy,
    merge_hours,
    plan_settlement,
    remember_requests,
)

NOW = datetime(2025, 10, 9, 12, 7, tzinfo=UTC)
H = timedelta(hours=1)


def hours_ago(n: int) -> datetime:
    return NOW.replace(minute=0) - n * H


def test_contiguous_hours_merge_into_capped_ranges():
    hours = [hours_ago(n) for n in (30, 29, 28, 5, 4)]
    ranges = merge_hours(sorted(hours), max_hours=2)
    assert [(r.start, r.end) for r in ranges] == [
        (hours_ago(30), hours_ago(28)),
        (hours_ago(28), hours_ago(27)),
        (hours_ago(5), hours_ago(3)),
    ]


def test_too_old_current_and_recently_requested_hours_are_not_due():
    policy = SettlementPolicy(max_age=timedelta(hours=48), min_interval=timedelta(minutes=15))
    unsettled = [hours_ago(60), hours_ago(10), hours_ago(3), hours_ago(0)]
    recently = {hours_ago(3).isoformat(): (NOW - timedelta(minutes=5)).isoformat()}
    ranges = plan_settlement(unsettled, recently, NOW, policy)
    assert [(r.start, r.end) for r in ranges] == [(hours_ago(10), hours_ago(9))]


def test_requests_are_remembered_and_old_entries_forgotten():
    policy = SettlementPolicy(max_age=timedelta(hours=48))
    cursor = {hours_ago(100).isoformat(): NOW.isoformat()}
    ranges = merge_hours([hours_ago(2), hours_ago(1)], 24)
    updated = remember_requests(cursor, ranges, NOW, policy)
    assert set(updated) == {hours_ago(2).isoformat(), hours_ago(1).isoformat()}
    assert plan_settlement([hours_ago(2)], updated, NOW, policy) == []
    later = NOW + timedelta(minutes=20)
    assert plan_settlement([hours_ago(2)], updated, later, policy) != []


def test_the_number_of_runs_per_tick_is_bounded():
    policy = SettlementPolicy(max_runs_per_tick=2, max_hours_per_run=1)
    ranges = plan_settlement([hours_ago(n) for n in range(1, 10)], {}, NOW, policy)
    assert len(ranges) == 2


def test_daily_catch_up_rereads_the_last_two_days_in_one_run():
    request = catch_up_request(datetime(2025, 10, 9, 3, 30, tzinfo=UTC))
    assert request.run_key == "catch-up-2025-10-09"
    assert request.tags["dagster/asset_partition_range_start"] == "2025-10-07-03:00"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-10-09-02:00"
