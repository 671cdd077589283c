"""Exact amounts for people: Decimal rounded half-up, thousands separators."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MISSING = "—"  # what a value not known (yet) shows as, in cards and table cells


def cents(amount: Decimal | None) -> Decimal | None:
    """``amount`` rounded to the cent (half up), as displayed; None stays None."""
    return None if amount is None else Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def usd(amount: Decimal | None) -> str:
    """``$1,234.57``; negative ``-$1.20``; unknown ``—``."""
    if amount is None:
        return MISSING
    rounded = cents(amount)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.2f}"


def credits(amount: Decimal | None) -> str:
    """ElevenLabs credits, whole numbers in practice: ``12,345``; fractions kept to 2 places."""
    if amount is None:
        return MISSING
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{cents(amount):,.2f}"


def count(value: int | None) -> str:
    return MISSING if value is None else f"{int(value):,}"


def percent_change(before: Decimal, after: Decimal) -> Decimal | None:
    """(after − before) / before in %, to 0.1; None when ``before`` is zero."""
    before, after = Decimal(before), Decimal(after)
    if before == 0:
        return None
    return ((after - before) * 100 / before).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
