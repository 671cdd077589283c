"""Budget alerts: a workspace's spend crossed its daily or monthly budget (workspaces file).

Spend is the total in USD (Twilio plus ElevenLabs credits at the dated rate) per day of the
reporting time zone, from ``workspace_daily_costs``. Each (workspace, period, budget) alerts
once: a restated figure that dips under the budget and crosses it again stays quiet, and a
changed budget is a new budget. The crossings are worked out by pure functions; the sensor (at
the end) feeds them the warehouse's figures and sends the alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import dagster as dg

from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource

# Days recent enough to alert on; older crossings are history, not news.
LOOKBACK = timedelta(days=35)

SPEND_SQL = """
SELECT budgets.workspace_id, workspaces.name, budgets.daily_usd, budgets.monthly_usd,
       spend.day, spend.total_usd
  FROM public.workspace_budgets AS budgets
  JOIN public.workspaces AS workspaces ON workspaces.id = budgets.workspace_id
  JOIN public.workspace_daily_costs AS spend ON spend.workspace_id = budgets.workspace_id
 WHERE spend.day >= %(since)s
"""


@dataclass(frozen=True)
class DailySpend:
    workspace_id: int
    workspace_name: str
    daily_budget: Decimal | None
    monthly_budget: Decimal | None
    day: date
    total_usd: Decimal


@dataclass(frozen=True)
class Crossing:
    workspace_id: int
    workspace_name: str
    period: str  # "day 2025-10-08" or "month 2025-10"
    budget: Decimal
    spent: Decimal

    @property
    def key(self) -> str:
        return f"{self.workspace_id}|{self.period}|{self.budget.normalize()}"

    def describe(self) -> str:
        return (
            f"Workspace {self.workspace_id} ({self.workspace_name}) spent ${self.spent:.2f} in "
            f"{self.period}, over its budget of ${self.budget:.2f}"
        )


def budget_crossings(rows: list[DailySpend], already_alerted: set[str]) -> list[Crossing]:
    """Every budget crossed in ``rows`` that has not been alerted yet, days first."""
    crossings: list[Crossing] = []
    months: dict[tuple[int, str], list[DailySpend]] = {}
    for row in rows:
        if row.daily_budget is not None and row.total_usd > row.daily_budget:
            crossings.append(
                Crossing(row.workspace_id, row.workspace_name, f"day {row.day.isoformat()}",
                         row.daily_budget, row.total_usd)
            )  # fmt: skip
        months.setdefault((row.workspace_id, row.day.strftime("%Y-%m")), []).append(row)
    for (workspace_id, month), days in sorted(months.items()):
        budget = days[0].monthly_budget
        spent = sum((day.total_usd for day in days), Decimal(0))
        if budget is not None and spent > budget:
            crossings.append(
                Crossing(workspace_id, days[0].workspace_name, f"month {month}", budget, spent)
            )
    return [crossing for crossing in crossings if crossing.key not in already_alerted]


def lookback_start(today: date) -> date:
    """From the first day of last month at the latest, so a month's total is always whole."""
    first_of_month = today.replace(day=1)
    return min(today - LOOKBACK, (first_of_month - timedelta(days=1)).replace(day=1))


def forget_before(alerted: set[str], since: date) -> set[str]:
    """Alerted keys whose period still lies within the lookback (the cursor stays small)."""
    kept = set()
    for key in alerted:
        _workspace, period, _budget = key.split("|")
        kind, value = period.split(" ")
        first_day = date.fromisoformat(value if kind == "day" else f"{value}-01")
        if first_day >= since.replace(day=1):
            kept.add(key)
    return kept


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def budget_alert_sensor(
    clock=_wall_clock, status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED
) -> dg.SensorDefinition:
    @dg.sensor(
        name="budget_alert_sensor",
        minimum_interval_seconds=300,
        default_status=status,
        description="Alert once when a workspace's daily or monthly spend crosses its budget.",
    )
    def _budgets(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        settings: PipelineSettings,
        alerts: AlertChannels,
    ):
        today = clock().astimezone(ZoneInfo(settings.reporting_tz)).date()
        since = lookback_start(today)
        with warehouse.connect() as conn:
            if (
                conn.execute("SELECT to_regclass('public.workspace_daily_costs')").fetchone()[0]
                is None
            ):
                return dg.SkipReason("no cost models built yet")
            rows = [DailySpend(*row) for row in conn.execute(SPEND_SQL, {"since": since})]
        alerted = set(json.loads(context.cursor)) if context.cursor else set()
        crossings = budget_crossings(rows, alerted)
        for crossing in crossings:
            alerts.send(f"Budget crossed: workspace {crossing.workspace_id}", crossing.describe())
            alerted.add(crossing.key)
            context.update_cursor(json.dumps(sorted(alerted)))  # never alert twice, even on error
        context.update_cursor(json.dumps(sorted(forget_before(alerted, since))))
        return dg.SkipReason(f"{len(crossings)} budget crossing(s) alerted")

    return _budgets
