"""The hourly schedule's dbt builds, one after another: parsed once, and leaving nothing behind.

dbt re-parses the whole project when ``--vars`` change, and the window changes every hour; the
window is therefore an environment variable read at execution (``macros/run_settings.sql``). Each
build's artifacts live in a directory of its own that is removed after it, so the state
directory keeps only dbt's partial-parse state, however many builds run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from simbiosia_pipeline.dbt.project import DBT_PROJECT
from simbiosia_pipeline.utc import HOUR
from simbiosia_pipeline_tests.transform.api_records import conversation, twilio_call
from simbiosia_pipeline_tests.transform.test_restatement import A1, directory

BUILDS = 20
FIRST_HOUR = datetime(2025, 11, 3, 0, tzinfo=UTC)
FULL_PARSE = "Unable to do partial parsing"
NOTHING_TO_PARSE = "Partial parsing enabled, no changes found, skipping parsing"


def files_under(directory: Path) -> dict[str, int]:
    return {
        str(path.relative_to(directory)): path.stat().st_size
        for path in directory.rglob("*")
        if path.is_file()
    }


def test_twenty_hourly_builds_parse_once_and_leave_nothing_behind(fresh_warehouse):
    fresh_warehouse.load_directory(directory(owner_of_x=4))
    hours = [FIRST_HOUR + n * HOUR for n in range(BUILDS)]
    fresh_warehouse.store(
        [twilio_call("outbound-api", A1, "+34600000001", hour + 5 * timedelta(minutes=1))
         for hour in hours],
        [conversation(hour + timedelta(minutes=6), agent_number=A1) for hour in hours],
    )  # fmt: skip
    project_target = files_under(DBT_PROJECT.project_dir / DBT_PROJECT.target_path)

    logs, state_after = [], []
    for hour in hours:
        logs.append(fresh_warehouse.build(hour, hour + HOUR))
        state_after.append(files_under(fresh_warehouse.dbt_state))

    # the first build meets a new warehouse (dbt's profile changed: a full parse); the 19
    # after it parse nothing, although each has another window
    assert all(NOTHING_TO_PARSE in log and FULL_PARSE not in log for log in logs[1:])
    # every build did its hour
    assert [
        row["snapshot_date"]
        for row in fresh_warehouse.rows("select snapshot_date from twilio_snapshots order by 1")
    ] == hours
    # what stays between builds is dbt's partial-parse state alone, of a constant size
    assert set(state_after[-1]) == {"partial_parse.msgpack"}
    assert all(state == state_after[1] for state in state_after[1:])
    # and the project's own target/ did not receive a byte
    assert files_under(DBT_PROJECT.project_dir / DBT_PROJECT.target_path) == project_target
