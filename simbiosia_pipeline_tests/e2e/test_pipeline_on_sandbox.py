"""The whole graph — directory, raw, dbt — on sandbox data over several days, against the truth.

Every snapshot row is compared with aggregates computed independently (``expected.py``) from the
records the sandbox serves; the raw tables with the records themselves.
"""

from datetime import UTC, datetime

import pytest

from simbiosia_pipeline.sandbox import SandboxConfig
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    materialize_pipeline,
)

pytestmark = pytest.mark.slow  # the whole graph over three days

NOW = datetime(2025, 10, 3, 9, 20, tzinfo=UTC)
# Three days across the 2025-10-01 handover of +34881193139 from workspace 4 to 5, ending in
# hours whose costs are still pending.
START, END = datetime(2025, 9, 30, 6, tzinfo=UTC), datetime(2025, 10, 3, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=17, scale=0.6, now=NOW)


def test_snapshots_equal_the_reference_computed_from_the_truth(
    sandbox, sandbox_server, warehouse_env
):
    materialize_pipeline(sandbox_server.url, START, END)
    with connect(warehouse_env) as conn:
        records = assert_raw_equals_truth(conn, sandbox, START, END)
        rows = assert_snapshots_equal_truth(conn, sandbox, START, END)
        workspaces = {row[0] for row in conn.execute("SELECT workspace_id FROM twilio_snapshots")}
        costs = conn.execute("SELECT count(*) FROM public.call_costs").fetchone()[0]
    assert records > 1000 and rows > 100
    assert workspaces == {1, 4, 5, 6}
    assert costs > 0
