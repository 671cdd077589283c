"""From which moment on a new directory changes what the stored snapshots say.

Attribution matters: the numbers each workspace owns and when, the agents it lists, and the
catch-all. So do the currency rates, which convert Twilio prices into the USD of
``twilio_snapshots.total_cost`` (credit rates only feed the cost views, which are always
current). For a number whose assignments changed, history is affected from the first instant
its owner differs between the two versions (ownership is constant between the bounds of its
validity periods, so only those bounds need checking); a changed agent list or catch-all
affects all history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from simbiosia_pipeline.utc import EPOCH

# "All history": earlier than any partition.

Phone = tuple[int, str, datetime | None, datetime | None]  # workspace, number, from, to
CurrencyPeriod = tuple[str, datetime, datetime | None, Decimal]  # currency, from, to, USD/unit


@dataclass(frozen=True)
class Attribution:
    phones: frozenset[Phone]
    agents: frozenset[tuple[str, int]]
    catch_all: int


def attribution_changed_since(old: Attribution | None, new: Attribution) -> datetime | None:
    """The earliest moment whose attribution may differ, or None when nothing changed.

    No old directory (the first load) means nothing was attributed yet: nothing to restate.
    """
    if old is None or old == new:
        return None
    if old.catch_all != new.catch_all or old.agents != new.agents:
        return EPOCH
    changed_numbers = {number for _ws, number, _from, _to in old.phones ^ new.phones}
    differences = (_first_difference(number, old.phones, new.phones) for number in changed_numbers)
    return min((moment for moment in differences if moment is not None), default=None)


def _first_difference(number: str, old: frozenset[Phone], new: frozenset[Phone]):
    bounds = {EPOCH} | {
        bound
        for _ws, other, valid_from, valid_to in old | new
        if other == number
        for bound in (valid_from, valid_to)
        if bound is not None
    }
    for moment in sorted(bounds):
        if _owner(old, number, moment) != _owner(new, number, moment):
            return moment
    return None


def _owner(phones: frozenset[Phone], number: str, moment: datetime) -> int | None:
    for workspace, other, valid_from, valid_to in phones:
        if (
            other == number
            and (valid_from or EPOCH) <= moment
            and (valid_to is None or moment < valid_to)
        ):
            return workspace
    return None


def currency_rates_changed_since(
    old: frozenset[CurrencyPeriod] | None, new: frozenset[CurrencyPeriod]
) -> datetime | None:
    """The earliest moment at which some currency converts at another rate, or None.

    No old directory (the first load) means nothing was converted yet: nothing to restate.
    """
    if old is None or old == new:
        return None
    changed = {currency for currency, *_ in old ^ new}
    moments = []
    for currency in changed:
        bounds = {EPOCH} | {
            bound
            for other, valid_from, valid_to, _rate in old | new
            if other == currency
            for bound in (valid_from, valid_to)
            if bound is not None
        }
        moments += [
            moment
            for moment in sorted(bounds)
            if _rate_at(old, currency, moment) != _rate_at(new, currency, moment)
        ][:1]
    return min(moments, default=None)


def _rate_at(periods: frozenset[CurrencyPeriod], currency: str, moment: datetime):
    for other, valid_from, valid_to, rate in periods:
        if other == currency and valid_from <= moment and (valid_to is None or moment < valid_to):
            return rate
    return None
