"""Every day reconciled with what Twilio and ElevenLabs bill, over HTTP against the sandbox.

One warehouse for the module (dbt and the sandbox cost seconds per run): two UTC days of an
account billed in EUR, with the EUR rate (and the credit rate) changing in the middle of the
second day, the first day ingested in two runs. Each discrepancy test switches one on in the
sandbox, re-reads its day, sees exactly that day and category turn to `mismatch` and one alert
arrive — then switches it off and re-reads the day, so the next test starts clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import httpx
import pytest

from simbiosia_pipeline.assets.reconciliation import FINAL_IN_TIME, MATCHES, billing_days
from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.failure_alerts import check_failure_alert_sensor
from simbiosia_pipeline.definitions import elevenlabs_usage, twilio_usage_records
from simbiosia_pipeline.partitions import day_range_tags
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.report import print_reconciliation
from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.support import TEST_INSTANCE, materialize_pipeline, sandbox_apis
from simbiosia_pipeline_tests.webhook import WebhookReceiver
from simbiosia_testing.local_servers import create_database, drop_database

# Minutes: two days of pipeline runs for the module, every test re-reads a day, one a backfill.
pytestmark = pytest.mark.slow

DAY_1, DAY_2 = date(2025, 10, 1), date(2025, 10, 2)
HISTORY_START = datetime(2025, 10, 1, tzinfo=UTC)
RATE_CHANGE = datetime(2025, 10, 2, 12, tzinfo=UTC)  # in the middle of DAY_2
# The providers' figures of DAY_2 are final 96 h (the default) after it ends; 15 min of as_of lag.
NOW = datetime(2025, 10, 7, 1, tzinfo=UTC)
PRICING = """\
    - {valid_from: "2025-10-02T12:00:00+00:00", rate: "0.00008"}
  usd_per_currency_unit:
    EUR:
      - {valid_from: "2025-01-01", rate: "1.08"}
      - {valid_from: "2025-10-02T12:00:00+00:00", rate: "1.16"}
"""
DAILY_ASSETS = (twilio_usage_records, elevenlabs_usage, billing_days)
GROUP_OF_DIRECTION = {
    "inbound": "calls",
    "outbound-api": "calls",
    "outbound-dial": "calls",
    "trunking-originating": "trunking",
    "trunking-terminating": "trunking",
}


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def reconcile_days(url: str, first: date, last: date, instance=TEST_INSTANCE):
    """A ranged run of the daily usage assets and the reconciliation, as a backfill does."""
    return dg.materialize(
        list(DAILY_ASSETS),
        instance=instance,
        resources={
            "apis": sandbox_apis(url),
            "warehouse": WarehouseResource(),
            "settings": PipelineSettings.from_env(),
        },
        tags=day_range_tags(first, last),
        raise_on_error=False,
    )


def reingest_hour_of(url: str, call: dict) -> None:
    """The records of the call's hour fetched again and their models rebuilt (the views over
    them stay current)."""
    hour = expected.hour_of(expected.call_time(call))
    materialize_pipeline(url, hour, hour + timedelta(hours=1), steps=("hours",))


def reconciliation(conn, first: date = DAY_1, last: date = DAY_2) -> dict[tuple, dict]:
    rows = conn.execute(
        "SELECT provider, day, category, our_count, provider_count, our_amount, provider_amount,"
        " currency, difference, status FROM public.billing_reconciliation"
        " WHERE day BETWEEN %s AND %s",
        (first, last),
    ).fetchall()
    names = (
        "our_count", "provider_count", "our_amount", "provider_amount", "currency", "difference",
        "status",
    )  # fmt: skip
    return {(p, d, c): dict(zip(names, rest, strict=True)) for p, d, c, *rest in rows}


def set_billing(url: str, **discrepancies) -> None:
    httpx.put(f"{url}/_sandbox/billing", json=discrepancies, timeout=5).raise_for_status()


def check_of(result, name: str):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def truth_by_day(sandbox: Sandbox) -> dict[tuple, tuple[int, Decimal]]:
    """Billed calls and Σ|price| per (day, group), and credits per day, from the served records."""
    totals: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    calls = sandbox.twilio_calls(day_start(DAY_1), day_start(DAY_2) + timedelta(days=1))
    for call in calls:
        if call["price"] is None:
            continue
        day = expected.call_time(call).date()
        for group in (GROUP_OF_DIRECTION[call["direction"]], "total"):
            totals["twilio", day, group][0] += 1
            totals["twilio", day, group][1] += abs(Decimal(call["price"]))
    details = sandbox.conversations(day_start(DAY_1), day_start(DAY_2) + timedelta(days=1))
    for detail in details:
        day = expected.conversation_time(detail).date()
        charging = detail["metadata"]["charging"]
        credits = Decimal(str(detail["metadata"]["cost"])) + Decimal(
            str(charging.get("voice_surcharge_charge") or 0)
        )
        totals["elevenlabs", day, "agents"][0] += 1
        totals["elevenlabs", day, "agents"][1] += credits
    return {key: (count, amount) for key, (count, amount) in totals.items()}


class Billed:
    """The module's warehouse and sandbox."""

    def __init__(
        self, url: str, sandbox: Sandbox, server_url: str, first_run, workspaces_file
    ) -> None:
        self.url = url
        self.workspaces_file = workspaces_file
        self.sandbox = sandbox
        self.server_url = server_url
        self.first_run = first_run


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> Iterator[Billed]:
    database = create_database()
    text = WORKSPACES_FILE.read_text(encoding="utf-8")
    anchor = '    - {valid_from: "2025-01-01", rate: "0.00007525404654"}\n'
    assert anchor in text
    workspaces = tmp_path_factory.mktemp("recon") / "workspaces.yaml"
    workspaces.write_text(text.replace(anchor, anchor + PRICING), encoding="utf-8")
    sandbox = Sandbox(
        SandboxConfig(seed=13, scale=0.3, now=NOW, history_start=HISTORY_START, price_unit="EUR")
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SIMBIOSIA_DATABASE_URL", database)
        env.setenv("SIMBIOSIA_HOME", str(tmp_path_factory.mktemp("home")))
        env.setenv("SIMBIOSIA_WORKSPACES_FILE", str(workspaces))
        env.delenv("SIMBIOSIA_ALERT_WEBHOOK_URL", raising=False)
        with start_sandbox_server(sandbox) as server:
            start = day_start(DAY_1)
            # DAY_1 in two runs (its morning, then the rest with DAY_2), then the views
            materialize_pipeline(
                server.url, start, start + timedelta(hours=10), steps=("directory", "hours")
            )
            materialize_pipeline(
                server.url, start + timedelta(hours=10), day_start(DAY_2) + timedelta(days=1)
            )
            first_run = reconcile_days(server.url, DAY_1, DAY_2)
            yield Billed(database, sandbox, server.url, first_run, workspaces)
    drop_database(database)


class Alerts:
    """A webhook receiver, and an instance whose check failures the alert sensor follows."""

    def __init__(self, receiver: WebhookReceiver, instance: dg.DagsterInstance) -> None:
        self.receiver = receiver
        self.instance = instance
        self._cursor = None
        self.tick()  # the first tick only starts following

    def tick(self) -> None:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self._cursor,
            resources={"alerts": AlertChannels.from_env()},
        )
        check_failure_alert_sensor()(context)
        self._cursor = context.cursor


@pytest.fixture
def alerts(billed, webhook: WebhookReceiver) -> Alerts:
    # in memory: the sensor's cursor is a storage id, which run-sharded SQLite storage refuses
    return Alerts(webhook, dg.DagsterInstance.ephemeral())


def statuses(rows: dict) -> dict[tuple, str]:
    return {key: row["status"] for key, row in rows.items()}


def all_ok_but(rows: dict, *keys: tuple) -> dict[tuple, str]:
    return {key: "mismatch" if key in keys else "ok" for key in rows}


EXPECTED_KEYS = {
    (provider, day, category)
    for day in (DAY_1, DAY_2)
    for provider, category in (
        ("twilio", "calls"),
        ("twilio", "trunking"),
        ("twilio", "total"),
        ("elevenlabs", "agents"),
    )
}


def test_clean_days_reconcile_exactly_for_both_providers(billed):
    """Both days ok, to the cent and to the credit: DAY_1 was ingested in two runs, DAY_2
    crosses a change of the EUR (and credit) rate."""
    truth = truth_by_day(billed.sandbox)
    with connect(billed.url) as conn:
        rows = reconciliation(conn)
    assert set(rows) == EXPECTED_KEYS
    assert statuses(rows) == all_ok_but(rows)
    for (provider, day, category), row in rows.items():
        count, amount = truth[provider, day, category]
        assert row["difference"] == 0
        assert row["our_amount"] == amount == row["provider_amount"]
        assert row["our_count"] == count
        if provider == "twilio":
            assert row["currency"] == "EUR"
            assert row["provider_count"] == (None if category == "total" else count)
        else:
            assert row["currency"] == "credits"
    assert truth["twilio", DAY_2, "trunking"][0] > 0  # every group has calls to compare
    assert check_of(billed.first_run, MATCHES).passed
    assert check_of(billed.first_run, FINAL_IN_TIME).passed


def test_each_day_of_a_ranged_run_carries_its_own_figures(billed):
    """The two-day run's materialization of a day says that day's rows and amounts, as the
    warehouse holds them, not the window's (both days have rows: the totals would differ)."""
    own = {
        (event.asset_key.path[-1], event.partition): event.step_materialization_data
        .materialization.metadata
        for event in billed.first_run.get_asset_materialization_events()
    }  # fmt: skip
    with connect(billed.url) as conn:
        for day in (DAY_1, DAY_2):
            key = day.isoformat()
            rows, totalprice = conn.execute(
                "SELECT count(*), sum(price) FILTER (WHERE category = 'totalprice')"
                " FROM raw.twilio_usage_records WHERE day = %s",
                (day,),
            ).fetchone()
            twilio = own["twilio_usage_records", key]
            assert twilio["dagster/row_count"].value == rows > 0
            assert Decimal(twilio["totalprice"].value) == totalprice
            assert "rows_replaced" not in twilio  # the window's figures are the run's
            rows, credits = conn.execute(
                "SELECT count(*), sum(credits) FROM raw.elevenlabs_usage WHERE day = %s", (day,)
            ).fetchone()
            elevenlabs = own["elevenlabs_usage", key]
            assert elevenlabs["dagster/row_count"].value == rows > 0
            assert Decimal(elevenlabs["credits"].value) == credits
            reconciled = own["billing_days", key]
            assert reconciled["dagster/row_count"].value == sum(k[1] == day for k in EXPECTED_KEYS)
            assert reconciled["rows_ok"].value == reconciled["dagster/row_count"].value


def _priced_call(sandbox: Sandbox, day: date, group: str) -> dict:
    calls = sandbox.twilio_calls(day_start(day), day_start(day) + timedelta(days=1))
    return next(
        call
        for call in calls
        if call["price"] is not None
        and Decimal(call["price"]) != 0
        and GROUP_OF_DIRECTION[call["direction"]] == group
    )


def _assert_one_alert(alerts: Alerts, result, day: date, category: str, ours, theirs) -> None:
    check = check_of(result, MATCHES)
    assert not check.passed
    alerts.tick()
    alerts.tick()
    assert len(alerts.receiver.texts) == 1
    text = alerts.receiver.texts[0]
    assert "reconciliation/billing_days · matches_provider_bills" in text
    for fact in (day.isoformat(), "twilio", f'"category": "{category}"', str(ours), str(theirs)):
        assert fact in text


def test_a_call_billed_but_never_listed_is_a_mismatch_of_its_day_and_category(billed, alerts):
    call = _priced_call(billed.sandbox, DAY_2, "calls")
    set_billing(billed.server_url, unlisted=[call["sid"]])
    try:
        reingest_hour_of(billed.server_url, call)
        result = reconcile_days(billed.server_url, DAY_2, DAY_2, instance=alerts.instance)
        with connect(billed.url) as conn:
            rows = reconciliation(conn)
        missing = ("twilio", DAY_2, "calls"), ("twilio", DAY_2, "total")
        assert statuses(rows) == all_ok_but(rows, *missing)
        for key in missing:
            assert rows[key]["provider_count"] in (None, rows[key]["our_count"] + 1)
            assert rows[key]["difference"] == abs(Decimal(call["price"]))
        calls = rows["twilio", DAY_2, "calls"]
        _assert_one_alert(
            alerts, result, DAY_2, "calls", calls["our_amount"], calls["provider_amount"]
        )
    finally:
        set_billing(billed.server_url)
        reingest_hour_of(billed.server_url, call)
        reconcile_days(billed.server_url, DAY_2, DAY_2)
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}


def test_a_price_changed_after_settlement_is_a_mismatch_of_its_day_and_category(billed, alerts):
    call = _priced_call(billed.sandbox, DAY_1, "trunking")
    billed_price = abs(Decimal(call["price"])) + Decimal("0.25")
    set_billing(billed.server_url, rebilled={call["sid"]: str(billed_price)})
    try:
        result = reconcile_days(billed.server_url, DAY_1, DAY_1, instance=alerts.instance)
        with connect(billed.url) as conn:
            rows = reconciliation(conn)
        changed = ("twilio", DAY_1, "trunking"), ("twilio", DAY_1, "total")
        assert statuses(rows) == all_ok_but(rows, *changed)
        for key in changed:
            assert rows[key]["difference"] == Decimal("0.25")
            assert rows[key]["provider_count"] in (None, rows[key]["our_count"])
        trunking = rows["twilio", DAY_1, "trunking"]
        _assert_one_alert(
            alerts, result, DAY_1, "trunking", trunking["our_amount"], trunking["provider_amount"]
        )
    finally:
        set_billing(billed.server_url)
        reconcile_days(billed.server_url, DAY_1, DAY_1)
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}


def test_a_currency_without_a_rate_is_a_mismatch_of_its_day(billed, alerts):
    """The EUR rate starts only with DAY_2: DAY_1's prices never reach the USD figures finance
    bills from, so every Twilio category of DAY_1 — and nothing else — is a mismatch."""
    original = billed.workspaces_file.read_text(encoding="utf-8")
    without_day_1 = original.replace(
        '      - {valid_from: "2025-01-01", rate: "1.08"}\n',
        '      - {valid_from: "2025-10-02", rate: "1.08"}\n',
    )
    assert without_day_1 != original
    day_1 = day_start(DAY_1), day_start(DAY_2)
    billed.workspaces_file.write_text(without_day_1, encoding="utf-8")
    try:
        materialize_pipeline(billed.server_url, *day_1, steps=("directory", "hours"))
        result = reconcile_days(billed.server_url, DAY_1, DAY_1, instance=alerts.instance)
        with connect(billed.url) as conn:
            rows = reconciliation(conn)
        unconverted = [("twilio", DAY_1, category) for category in ("calls", "trunking", "total")]
        assert statuses(rows) == all_ok_but(rows, *unconverted)
        for key in unconverted:
            assert rows[key]["our_amount"] == 0
            assert rows[key]["our_count"] == rows[key]["provider_count"] or key[2] == "total"
        calls = rows["twilio", DAY_1, "calls"]
        _assert_one_alert(
            alerts, result, DAY_1, "calls", calls["our_amount"], calls["provider_amount"]
        )
    finally:
        billed.workspaces_file.write_text(original, encoding="utf-8")
        materialize_pipeline(billed.server_url, *day_1, steps=("directory", "hours"))
        reconcile_days(billed.server_url, DAY_1, DAY_1)
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}


def test_a_day_still_settling_is_provider_pending_then_ok_once_final(billed):
    """Read three hours after DAY_2 ended, Twilio's figures are not final yet (as_of is not
    96 h past the day): provider_pending, not a mismatch; once the sandbox clock has moved past
    the provider's finalisation and the day is read again, ok."""
    day_2 = day_start(DAY_2), day_start(DAY_2) + timedelta(days=1)
    billed.sandbox.set_now(day_2[1] + timedelta(hours=3))
    try:
        materialize_pipeline(billed.server_url, *day_2, steps=("hours",))
        result = reconcile_days(billed.server_url, DAY_2, DAY_2)
        with connect(billed.url) as conn:
            settling = statuses(reconciliation(conn, DAY_2, DAY_2))
        assert {settling["twilio", DAY_2, c] for c in ("calls", "trunking", "total")} == {
            "provider_pending"
        }
        assert settling["elevenlabs", DAY_2, "agents"] in ("provider_pending", "ok")
        assert check_of(result, MATCHES).passed
        # the day ended long before the wall clock: pending that long is worth a warning
        overdue = check_of(result, FINAL_IN_TIME)
        assert not overdue.passed
        assert overdue.severity == dg.AssetCheckSeverity.WARN
    finally:
        billed.sandbox.set_now(NOW)
        materialize_pipeline(billed.server_url, *day_2, steps=("hours",))
        result = reconcile_days(billed.server_url, DAY_2, DAY_2)
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}
    assert check_of(result, FINAL_IN_TIME).passed


def test_simbiosia_backfill_also_reconciles_the_days_it_touches(billed, tmp_path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TWILIO_API_BASE_URL": billed.server_url,
        "ELEVENLABS_API_BASE_URL": billed.server_url,
    }
    Path(env["DAGSTER_HOME"]).mkdir()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "simbiosia"), "backfill",
         "2025-10-02T22:00", "2025-10-03T00:00"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "provider usage and reconciliation, 2025-10-02..2025-10-02: ok" in done.stdout
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}


def test_the_run_report_ends_with_one_line_per_provider_and_day(billed, capsys):
    truth = truth_by_day(billed.sandbox)
    print_reconciliation(DAY_1, DAY_2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:4] == "2025"]
    assert lines == [
        f"{day} {provider:<11} ours {amount} {currency:<8} theirs {amount} {currency:<8} ok"
        for day in (DAY_1, DAY_2)
        for provider, category, currency in (
            ("elevenlabs", "agents", "credits"),
            ("twilio", "total", "EUR"),
        )
        for amount in [_provider_text(billed, provider, day, category)]
    ]
    assert truth["twilio", DAY_1, "total"][1] > 0


def _provider_text(billed, provider: str, day: date, category: str) -> str:
    with connect(billed.url) as conn:
        (amount,) = conn.execute(
            "SELECT our_amount FROM public.billing_reconciliation"
            " WHERE provider = %s AND day = %s AND category = %s",
            (provider, day, category),
        ).fetchone()
    return format(amount.normalize(), "f")


def test_the_daily_job_the_schedule_launches_reconciles_a_range_of_days(billed):
    """What `daily_reconciliation_schedule` launches: the job over a range of days, one run."""
    from simbiosia_pipeline.definitions import RECONCILIATION_JOB, defs

    job = defs.resolve_job_def(RECONCILIATION_JOB.name)
    result = job.execute_in_process(
        instance=TEST_INSTANCE,
        resources={
            "apis": sandbox_apis(billed.server_url),
            "warehouse": WarehouseResource(),
            "settings": PipelineSettings.from_env(),
        },
        tags=day_range_tags(DAY_1, DAY_2),
    )
    assert result.success
    assert check_of(result, MATCHES).passed
    with connect(billed.url) as conn:
        assert set(statuses(reconciliation(conn)).values()) == {"ok"}
