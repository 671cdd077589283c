"""Budget crossings: once per workspace, period and budget."""

from datetime import date
from decimal import Decimal

from simbiosia_pipeline.automation.budgets import (
    DailySpend,
    budget_crossings,
    forget_before,
    lookback_start,
)


def spend(day: str, usd: str, daily="50", monthly="120") -> DailySpend:
    return DailySpend(4, "Principal", Decimal(daily), Decimal(monthly), date.fromisoformat(day),
                      Decimal(usd))  # fmt: skip


def test_daily_and_monthly_crossings_are_found_once():
    rows = [spend("2025-10-01", "49.99"), spend("2025-10-02", "50.01"), spend("2025-10-03", "70")]
    crossings = budget_crossings(rows, set())
    assert [c.period for c in crossings] == ["day 2025-10-02", "day 2025-10-03", "month 2025-10"]
    assert crossings[-1].spent == Decimal("170.00")
    alerted = {c.key for c in crossings}
    assert budget_crossings(rows, alerted) == []


def test_a_restated_figure_that_dips_and_crosses_again_stays_quiet():
    alerted = {c.key for c in budget_crossings([spend("2025-10-02", "51")], set())}
    assert budget_crossings([spend("2025-10-02", "49")], alerted) == []
    assert budget_crossings([spend("2025-10-02", "52")], alerted) == []


def test_a_changed_budget_is_a_new_budget():
    alerted = {c.key for c in budget_crossings([spend("2025-10-02", "51")], set())}
    [crossing] = budget_crossings([spend("2025-10-02", "51", daily="40")], alerted)
    assert crossing.budget == Decimal("40")


def test_workspaces_without_budgets_never_alert():
    row = DailySpend(5, "Sec", None, None, date(2025, 10, 2), Decimal("1e6"))
    assert budget_crossings([row], set()) == []


def test_lookback_covers_whole_months_and_old_keys_are_forgotten():
    assert lookback_start(date(2025, 10, 20)) == date(2025, 9, 1)
    keys = {"4|day 2025-07-02|50", "4|month 2025-09|120", "4|day 2025-10-02|50"}
    assert forget_before(keys, date(2025, 9, 1)) == {"4|month 2025-09|120", "4|day 2025-10-02|50"}
