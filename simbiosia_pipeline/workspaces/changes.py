"""From which moment on a new directory attributes records differently than the old one.

Only attribution matters for the stored snapshots (credit rates feed the cost views, which are
always current): the numbers each workspace owns and when, the agents it lists, and the
catch-all. For a number whose assignments changed, history is affected from the first instant
its owner differs between the two versions (ownership is constant between the bounds of its
validity periods, so only those bounds need checking); a changed agent list or catch-all
affects all history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# "All history": earlier than any partition.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

Phone = tuple[int, str, datetime | None, datetime | None]  # workspace, number, from, to


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
        return BEGINNING
    changed_numbers = {number for _ws, number, _from, _to in old.phones ^ new.phones}
    differences = (_first_difference(number, old.phones, new.phones) for number in changed_numbers)
    return min((moment for moment in differences if moment is not None), default=None)


def _first_difference(number: str, old: frozenset[Phone], new: frozenset[Phone]):
    bounds = {BEGINNING} | {
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
            and (valid_from or BEGINNING) <= moment
            and (valid_to is None or moment < valid_to)
        ):
            return workspace
    return None
