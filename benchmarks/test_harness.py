"""The benchmark harness on a tiny workload: correctness only, no time targets (``make test``
collects this folder too; ``make bench-smoke`` runs it alone).

The suite's figures mean something only if every run it times is checked against the ground
truth (``simbiosia_testing.truth``, tested with the suite's tests) and every figure lands in
``latest.json`` in the issue's format; this is what CI checks.
The daemon backfill and the hourly dbt refresh are left to ``python -m benchmarks --smoke``
(minutes: services to start, several dbt builds) and to their own end-to-end tests; the
backoffice's reads (one dbt build) have a test of their own.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from benchmarks.infra import Requests
from benchmarks.report import Result, write
from benchmarks.warehouse_scale import BACKOFFICE_PAGES
from benchmarks.workload import SMOKE
from simbiosia_pipeline.settings import PROJECT_DIR

FAST_FIGURES = (
    "ingest_vs_bound",
    "peak_rss_mb",
    "seed_strategy_vs_ours",
    "peer_vs_ours",
    "load_vs_copy",
    "snapshot_query_speedup",
    "steady_state_requests_per_necessary",
)


def test_results_are_judged_against_their_targets_and_written_as_the_issue_asks(tmp_path):
    results = [
        Result.judged("ingest_vs_bound", 1.25, "x bound", "<=", 1.3),
        Result.judged("peer_vs_ours", 1.5, "x ours", ">=", 2),
        Result.judged("seed_strategy_vs_ours", 80.0, "x ours", ">=", None),
        Result.failed("load_vs_copy", "x COPY", ">= 0.5", "boom"),
    ]
    assert [r.ok for r in results] == [True, False, None, False]
    path = write(results, SMOKE, datetime.now(UTC), path=tmp_path / "latest.json")
    records = json.loads(path.read_text())
    assert [set(r) for r in records] == [{"name", "value", "unit", "target", "ok"}] * 4
    assert records[0] == {
        "name": "ingest_vs_bound", "value": 1.25, "unit": "x bound", "target": "<= 1.3", "ok": True
    }  # fmt: skip
    assert "| `peer_vs_ours` | 1.5 | x ours | >= 2 |" in path.with_suffix(".md").read_text()


def test_the_bound_is_the_slower_of_the_two_apis():
    requests = Requests(
        elevenlabs_ok=1000, twilio_ok=90, elevenlabs_total=1000, twilio_total=90,
        throttled=0, peak_elevenlabs=10, peak_twilio=4,
    )  # fmt: skip
    workload = SMOKE.with_(latency_ms=20, elevenlabs_limit=10, twilio_limit=10)
    assert requests.bound_seconds(workload) == pytest.approx(1000 * 0.020 / 10)


@pytest.mark.slow  # the suite in subprocesses: the sandbox, dlt, several warehouses
def test_the_smoke_suite_runs_every_fast_figure_against_the_truth(tmp_path):
    output = tmp_path / "smoke.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", ",".join(FAST_FIGURES),
         "--output", str(output)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    records = {r["name"]: r for r in json.loads(output.read_text())}
    assert set(records) == set(FAST_FIGURES)
    assert all(isinstance(r["value"], int | float) and r["value"] > 0 for r in records.values())
    # Every timed run was checked against the ground truth (a failed check fails the suite).
    assert "records checked" in completed.stdout
    assert "dlt #1" in completed.stdout


def test_the_smoke_suite_times_every_backoffice_page(tmp_path):
    """``backoffice_query_ms`` on a tiny warehouse: each page's reads ran as the dashboard role
    (none past the statement timeout), and the figure is the slowest of them."""
    output = tmp_path / "smoke.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", "backoffice_query_ms",
         "--output", str(output)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    details = json.loads(output.with_name("smoke.details.json").read_text())
    (result,) = details["results"]
    pages = result["detail"]["pages_ms"]
    assert set(pages) == set(BACKOFFICE_PAGES)
    assert all(ms > 0 for ms in pages.values())
    assert result["detail"]["capped_pages"] == []
    assert result["value"] == pytest.approx(max(pages.values()), abs=0.1)
    assert result["detail"]["conversations"] > 0
    assert result["detail"]["calls"] > 0
