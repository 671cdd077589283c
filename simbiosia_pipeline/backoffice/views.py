"""The tables people see, built from the query frames: column names for people, times in the
reporting time zone, totals per day or per workspace, the period comparison. Pure: the pages
show these frames, the exports write them, the tests compare them with the truth.

A table holds exact Decimals; ``for_display`` rounds its money to the cent for the screen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pandas as pd

from simbiosia_pipeline.backoffice.money import cents, percent_change, usd
from simbiosia_pipeline.backoffice.queries import ACTIVITY_COLUMNS

LABELS = {
    "calls": "Calls",
    "conversations": "Conversations",
    "billable_minutes": "Billable minutes",
    "twilio_usd": "Twilio USD",
    "elevenlabs_credits": "ElevenLabs credits",
    "elevenlabs_usd": "ElevenLabs USD",
    "total_usd": "Total USD",
    "pending": "Costs pending",
}
MONEY_LABELS = ("Twilio USD", "ElevenLabs USD", "Total USD", "USD", "Change USD")
ROUNDED_LABELS = (*MONEY_LABELS, "ElevenLabs credits")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_time(value, zone: ZoneInfo) -> str:
    """An instant as the reporting zone's wall clock, with its offset (a DST change's repeated
    hour stays two distinct hours)."""
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert(zone).strftime(TIME_FORMAT + " %z")


def _figures(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(ACTIVITY_COLUMNS)].rename(columns=LABELS)


def per_day(daily: pd.DataFrame, loaded: dict | None = None) -> pd.DataFrame:
    """All workspaces of the frame summed per day: Day + the figures; with ``loaded`` (day →
    hours loaded, hours expected), a column saying which days are incomplete."""
    if daily.empty:
        return pd.DataFrame(columns=["Day", *LABELS.values()])
    summed = daily.groupby("day", sort=True)[list(ACTIVITY_COLUMNS)].agg(_exact_sum)
    table = _figures(summed.reset_index())
    table.insert(0, "Day", [day.isoformat() for day in summed.index])
    if loaded is not None:
        table.insert(
            1, HOURS_LOADED, [hours_loaded_text(*loaded.get(day, (0, 24))) for day in summed.index]
        )
    return table


HOURS_LOADED = "Hours loaded"


def hours_loaded_text(loaded: int, expected: int) -> str:
    """``24/24``, or ``12/24 incomplete``: a partial day must not read as a cheap one."""
    return f"{loaded}/{expected}" + ("" if loaded >= expected else " incomplete")


def per_hour(hourly: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """All workspaces of the frame summed per hour, the hour shown on the local clock."""
    if hourly.empty:
        return pd.DataFrame(columns=["Hour", *LABELS.values()])
    summed = hourly.groupby("hour", sort=True)[list(ACTIVITY_COLUMNS)].agg(_exact_sum)
    table = _figures(summed.reset_index())
    table.insert(0, "Hour", [local_time(hour, zone) for hour in summed.index])
    return table


def per_workspace(daily: pd.DataFrame, workspaces: pd.DataFrame) -> pd.DataFrame:
    """Each workspace's totals over the frame's days (workspaces without activity: zero)."""
    summed = (
        daily.groupby("workspace_id")[list(ACTIVITY_COLUMNS)].agg(_exact_sum)
        if not daily.empty
        else pd.DataFrame(columns=list(ACTIVITY_COLUMNS))
    )
    rows = []
    for workspace in workspaces.itertuples():
        figures = (
            summed.loc[workspace.workspace_id].to_dict()
            if workspace.workspace_id in summed.index
            else dict.fromkeys(ACTIVITY_COLUMNS, 0)
        )
        for column in ("twilio_usd", "elevenlabs_usd", "total_usd", "elevenlabs_credits"):
            figures[column] = Decimal(figures[column])
        rows.append({"Workspace": workspace.workspace_id, "Name": workspace.name, **figures})
    return pd.DataFrame(rows, columns=["Workspace", "Name", *ACTIVITY_COLUMNS]).rename(
        columns=LABELS
    )


def _exact_sum(values: pd.Series):
    """Sum without pandas' float path: Decimals stay Decimals, integers integers."""
    items = values.tolist()
    if items and isinstance(items[0], Decimal):
        return sum(items, Decimal(0))
    return int(sum(items))


def budget_use(spent: Decimal, budget: Decimal | None) -> Decimal | None:
    """Spent as a % of the budget (to 0.1), None without a budget."""
    if budget is None or pd.isna(budget) or Decimal(budget) == 0:
        return None
    return (Decimal(spent) * 100 / Decimal(budget)).quantize(Decimal("0.1"), ROUND_HALF_UP)


COMPARED = (
    "calls",
    "conversations",
    "billable_minutes",
    "twilio_usd",
    "elevenlabs_usd",
    "total_usd",
)


def comparison(before: dict, after: dict) -> pd.DataFrame:
    """Figure by figure: period A, period B, B − A, and (B − A) / A in % (blank when A is 0)."""
    rows = []
    for column in COMPARED:
        a, b = before[column], after[column]
        rows.append(
            {
                "Figure": LABELS[column],
                "Period A": a,
                "Period B": b,
                "Change": b - a,
                "Change %": percent_change(a, b),
            }
        )
    return pd.DataFrame(rows)


def for_display(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its money rounded to the cent (half up), as the screen shows it."""
    shown = table.copy()
    for column in shown.columns:
        if column in ROUNDED_LABELS:
            shown[column] = [cents(value) for value in shown[column]]
    if "Figure" in shown.columns:  # the comparison: its columns mix counts and money
        is_money = list(shown["Figure"].str.endswith("USD"))
        for column in ("Period A", "Period B", "Change"):
            signed = column == "Change"
            shown[column] = [
                comparison_cell(value, money, signed)
                for value, money in zip(shown[column], is_money, strict=True)
            ]
        shown["Change %"] = [
            "— (A is 0)" if pct is None else f"{pct:+}%" for pct in shown["Change %"]
        ]
    return shown


def comparison_cell(value, is_money: bool, signed: bool) -> str:
    """``$1,234.57`` / ``1,234``; with ``signed`` a change: ``+$0.56``, ``-12``."""
    text = usd(value) if is_money else f"{int(value):,}"
    return f"+{text}" if signed and value > 0 else text


def chart_frame(table: pd.DataFrame, index: str, columns: list[str]) -> pd.DataFrame:
    """Floats for a chart's axes only (the tables beside it stay exact)."""
    return table.set_index(index)[columns].astype(float)


CALL_COLUMNS = {
    "started_at": "Time",
    "workspace_id": "Workspace",
    "direction": "Direction",
    "from_number": "From",
    "to_number": "To",
    "duration_secs": "Duration (s)",
    "twilio_usd": "Twilio USD",
    "elevenlabs_credits": "ElevenLabs credits",
    "elevenlabs_usd": "ElevenLabs USD",
    "total_usd": "Total USD",
    "is_settled": "Settled",
    "call_sid": "Twilio call SID",
    "conversation_id": "ElevenLabs conversation",
}
DIRECTION_COLUMNS = {
    "direction": "Direction",
    "calls": "Calls",
    "billable_minutes": "Billable minutes",
    "twilio_usd": "Twilio USD",
    "unpriced_calls": "Not priced yet",
}
MODEL_COLUMNS = {
    "model": "LLM model",
    "category": "Token category",
    "conversations": "Conversations",
    "tokens": "Tokens",
    "llm_price_usd": "USD",
}


def calls_table(frame: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """Phone calls: times on the reporting clock, columns named for people."""
    frame = frame.assign(started_at=[local_time(t, zone) for t in frame["started_at"]])
    return frame.rename(columns=CALL_COLUMNS)[list(CALL_COLUMNS.values())]


def direction_table(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=DIRECTION_COLUMNS)


def model_table(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=MODEL_COLUMNS)
