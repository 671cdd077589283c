"""Twilio accounts billed in another currency, end to end over HTTP: converted at the dated rate
of each call's start, or — without a rate — stored, counted, flagged, and never summed as USD."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simbiosia_pipeline.assets.raw_checks import CONVERTIBLE_TO_USD
from simbiosia_pipeline.definitions import twilio_calls
from simbiosia_pipeline.report import print_report
from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sources.windows import Window
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.workspaces import load_directory
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.support import (
    assert_raw_equals_truth,
    assert_snapshots_equal_truth,
    materialize_pipeline,
    materialize_raw,
)

pytestmark = pytest.mark.slow  # whole-pipeline runs of six hours for accounts in other currencies

RATE_CHANGE = datetime(2025, 10, 2, tzinfo=UTC)
START, END = RATE_CHANGE - timedelta(hours=3), RATE_CHANGE + timedelta(hours=3)
NOW = datetime(2025, 10, 6, 12, tzinfo=UTC)  # days later: every answered call is priced
EUR_RATES = """\
  usd_per_currency_unit:
    EUR:
      - {valid_from: "2025-01-01", rate: "1.08"}
      - {valid_from: "2025-10-02", rate: "1.16"}
"""


@pytest.fixture
def eur_workspaces_file(tmp_path, monkeypatch):
    """The sandbox's workspaces file with the issue's EUR rates added to its pricing."""
    text = WORKSPACES_FILE.read_text(encoding="utf-8")
    anchor = '    - {valid_from: "2025-01-01", rate: "0.00007525404654"}\n'
    assert anchor in text
    path = tmp_path / "workspaces.yaml"
    path.write_text(text.replace(anchor, anchor + EUR_RATES), encoding="utf-8")
    monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(path))
    return path


def stored_cost_per_hour(conn) -> dict[datetime, Decimal]:
    rows = conn.execute(
        "SELECT snapshot_date, sum(total_cost), sum(unconverted_calls), sum(total_calls)"
        " FROM public.twilio_snapshots WHERE snapshot_date >= %s AND snapshot_date < %s"
        " GROUP BY 1",
        (START, END),
    ).fetchall()
    return {hour: (cost, unconverted, calls) for hour, cost, unconverted, calls in rows}


def test_an_account_in_eur_is_converted_at_the_rate_of_each_calls_start(
    warehouse_env, eur_workspaces_file
):
    sandbox = Sandbox(SandboxConfig(seed=13, scale=1.0, now=NOW, price_unit="EUR"))
    with start_sandbox_server(sandbox) as server:
        materialize_pipeline(server.url, START, END)
        run = materialize_raw(server.url, START, END, assets=(twilio_calls,))
    truth = sandbox.twilio_calls(START, END)
    assert {call["price_unit"] for call in truth} == {"EUR"}

    expected_usd: dict[datetime, Decimal] = defaultdict(Decimal)
    for call in truth:
        started = expected.call_time(call)
        rate = Decimal("1.16") if started >= RATE_CHANGE else Decimal("1.08")
        price = Decimal(call["price"]) if call["price"] is not None else Decimal(0)
        expected_usd[expected.hour_of(started)] += abs(price) * rate
    with connect(warehouse_env) as conn:
        stored = stored_cost_per_hour(conn)
        assert {hour: cost for hour, (cost, _, _) in stored.items()} == expected_usd
        assert all(unconverted == 0 for _, unconverted, _ in stored.values())
        # and per workspace, by the independent reference
        assert_snapshots_equal_truth(conn, sandbox, START, END, workspaces_file=eur_workspaces_file)
    assert len({expected.hour_of(expected.call_time(c)) >= RATE_CHANGE for c in truth}) == 2
    (check,) = [e for e in run.get_asset_check_evaluations() if e.check_name == CONVERTIBLE_TO_USD]
    assert check.passed


def test_an_account_in_a_currency_without_a_rate_is_stored_counted_and_flagged(
    warehouse_env, capsys
):
    sandbox = Sandbox(SandboxConfig(seed=13, scale=1.0, now=NOW, price_unit="JPY"))
    assert "JPY" not in load_directory(WORKSPACES_FILE).pricing.usd_per_currency_unit
    with start_sandbox_server(sandbox) as server:
        materialize_pipeline(server.url, START, END)
        run = materialize_raw(server.url, START, END, assets=(twilio_calls,))
    truth = sandbox.twilio_calls(START, END)
    priced = [call for call in truth if call["price"] is not None]
    assert priced

    (check,) = [e for e in run.get_asset_check_evaluations() if e.check_name == CONVERTIBLE_TO_USD]
    assert not check.passed
    assert check.metadata["unconverted_calls"].value == len(priced)
    assert check.metadata["currencies"].value == "JPY"
    assert "priced in JPY" in check.description
    assert "pricing.usd_per_currency_unit" in check.description
    assert 'JPY: [{valid_from: "2025-10-01"' in check.description

    with connect(warehouse_env) as conn:
        assert_raw_equals_truth(conn, sandbox, START, END)  # nothing dropped
        stored = stored_cost_per_hour(conn)
        assert sum(calls for _, _, calls in stored.values()) == len(truth)
        assert sum(unconverted for _, unconverted, _ in stored.values()) == len(priced)
        assert all(cost == 0 for cost, _, _ in stored.values())  # never summed as USD
        assert_snapshots_equal_truth(conn, sandbox, START, END)
    print_report(Window(START, END))
    report = capsys.readouterr().out
    assert f"{len(priced)} Twilio call(s) priced in a currency without a USD rate" in report
