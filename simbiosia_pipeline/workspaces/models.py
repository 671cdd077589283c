"""The workspace directory: who owns which phone number and agent, when, and what a credit (and a
unit of each other currency Twilio may bill in) costs in USD.

A ``Directory`` that exists is valid: field rules are checked on each entry and the rules that
span entries (unique ids, one owner per number at any instant, one workspace per agent, a
catch-all that exists) are checked when the directory is built. Errors carry the path of the
offending entry (``workspaces[2].phones[0].number``) so the loader can point at its line.

Times are UTC instants. A date in the file (``2025-08-01``) means midnight UTC of that day, and a
validity period ``[valid_from, valid_to)`` includes its start and excludes its end; a missing
bound is unbounded. Money and rates are ``Decimal``, written as strings or integers in the file:
a YAML float (``0.1``) is already rounded in binary before anyone can look at it, so it is
refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from simbiosia_pipeline.utc import EPOCH
from simbiosia_pipeline.workspaces.phone_numbers import is_e164, normalize_e164

# The old dashboard's hard-coded conversion, kept as the rate when the file names none.
DEFAULT_USD_PER_CREDIT = Decimal("0.00007525404654")


def _utc_instant(value: Any) -> Any:
    """A date (midnight UTC), an aware datetime (converted to UTC) or an ISO string of either."""
    if isinstance(value, str):
        text = value.strip()
        try:
            # YYYY-MM-DD is a date (midnight UTC below); anything longer must be a datetime
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise PydanticCustomError(
                "instant",
                "{value} is not a date (YYYY-MM-DD) or an ISO 8601 datetime",
                {"value": repr(value)},
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError(
                "instant",
                "{value} has no time zone; write it in UTC, e.g. 2025-08-01T00:00:00Z",
                {"value": value.isoformat()},
            )
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise PydanticCustomError(
            "exact_decimal",
            '{value} must be written as a quoted decimal string (e.g. "0.00007525404654") so '
            "that it is exact",
            {"value": repr(value)},
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise PydanticCustomError(
                "exact_decimal", "{value} is not a decimal number", {"value": repr(value)}
            ) from None
        if not number.is_finite():
            raise PydanticCustomError(
                "exact_decimal", "{value} is not a finite number", {"value": repr(value)}
            )
        return number
    return value


UtcInstant = Annotated[datetime, BeforeValidator(_utc_instant)]
ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]


class _Strict(BaseModel):
    """Unknown keys are errors, and no silent coercion ("4" is not the id 4). YAML lists arrive
    as lists, so the tuple fields say ``strict=False``; their items stay strict."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PhoneAssignment(_Strict):
    """A number owned by a workspace during ``[valid_from, valid_to)``."""

    number: StrictStr
    primary: StrictBool = False
    valid_from: UtcInstant | None = None
    valid_to: UtcInstant | None = None

    @field_validator("number")
    @classmethod
    def _must_be_e164(cls, number: str) -> str:
        if is_e164(number):
            return number
        suggestion = normalize_e164(number)
        hint = f"; write it as {suggestion!r}" if suggestion else ""
        raise PydanticCustomError(
            "e164",
            "{number} is not an E.164 number (+ and 7 to 15 digits){hint}",
            {"number": repr(number), "hint": hint},
        )

    @model_validator(mode="after")
    def _period_is_not_empty(self) -> PhoneAssignment:
        if self.valid_from and self.valid_to and self.valid_from >= self.valid_to:
            raise PydanticCustomError(
                "period",
                "valid_from {start} is not before valid_to {end}",
                {"start": self.valid_from.isoformat(), "end": self.valid_to.isoformat()},
            )
        return self

    def overlaps(self, other: PhoneAssignment) -> bool:
        starts_before_other_ends = other.valid_to is None or (
            self.valid_from is None or self.valid_from < other.valid_to
        )
        other_starts_before_this_ends = self.valid_to is None or (
            other.valid_from is None or other.valid_from < self.valid_to
        )
        return starts_before_other_ends and other_starts_before_this_ends

    def describe_period(self) -> str:
        start = self.valid_from.isoformat() if self.valid_from else "the beginning"
        end = self.valid_to.isoformat() if self.valid_to else "no end"
        return f"[{start}, {end})"


class Budgets(_Strict):
    """Spending limits in USD that the alerting compares the workspace's costs against."""

    daily_usd: ExactDecimal | None = Field(default=None, ge=0)
    monthly_usd: ExactDecimal | None = Field(default=None, ge=0)


class Workspace(_Strict):
    """A customer workspace: its numbers (with validity periods), ElevenLabs agents and budgets."""

    id: StrictInt = Field(gt=0)
    name: StrictStr = Field(min_length=1)
    budgets: Budgets | None = None
    agents: tuple[StrictStr, ...] = Field(default=(), strict=False)
    phones: tuple[PhoneAssignment, ...] = Field(default=(), strict=False)

    @model_validator(mode="after")
    def _at_most_one_primary(self) -> Workspace:
        if sum(phone.primary for phone in self.phones) > 1:
            raise PydanticCustomError("primary", "more than one phone is marked primary", {})
        return self

    @property
    def primary_number(self) -> str | None:
        """The number marked primary: the workspace's own, the old ``workspaces.phone_number``."""
        return next((phone.number for phone in self.phones if phone.primary), None)


class CreditRate(_Strict):
    """USD per ElevenLabs credit from ``valid_from`` until the next rate starts."""

    valid_from: UtcInstant
    rate: ExactDecimal = Field(gt=0)


class CurrencyRate(_Strict):
    """USD per unit of a currency from ``valid_from`` until the next rate of that currency."""

    valid_from: UtcInstant
    rate: ExactDecimal = Field(gt=0)


def _dated_rates(rates: tuple[Any, ...]) -> tuple[Any, ...]:
    """At least one rate, none starting at the same instant as another, in order of start."""
    if not rates:
        raise PydanticCustomError("rates", "at least one rate is needed", {})
    starts = [rate.valid_from for rate in rates]
    if len(set(starts)) != len(starts):
        raise PydanticCustomError("rates", "two rates start at the same instant", {})
    return tuple(sorted(rates, key=lambda rate: rate.valid_from))


# YAML lists arrive as lists: a list of rates, each strict, dated without overlap (an error
# names its currency).
_RateList = Annotated[tuple[CurrencyRate, ...], Field(strict=False), AfterValidator(_dated_rates)]
# ISO 4217: three capital letters, as Twilio writes ``price_unit``.
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class Pricing(_Strict):
    """Dated conversion rates to USD.

    ``elevenlabs_usd_per_credit``: without any, the old dashboard's rate applies since always.
    ``usd_per_currency_unit``: per currency Twilio may price calls in (the account's currency),
    the rate in force at a call's start converts its price; USD needs (and takes) no entry. A
    call in a currency listed nowhere is stored but left out of the USD totals, and flagged.
    """

    elevenlabs_usd_per_credit: tuple[CreditRate, ...] = Field(
        default=(CreditRate(valid_from=EPOCH, rate=DEFAULT_USD_PER_CREDIT),),
        strict=False,
    )
    usd_per_currency_unit: dict[StrictStr, _RateList] = Field(default_factory=dict, strict=False)

    @field_validator("elevenlabs_usd_per_credit")
    @classmethod
    def _one_rate_per_instant(cls, rates: tuple[CreditRate, ...]) -> tuple[CreditRate, ...]:
        return _dated_rates(rates)

    @field_validator("usd_per_currency_unit")
    @classmethod
    def _currencies_are_codes(
        cls, currencies: dict[str, tuple[CurrencyRate, ...]]
    ) -> dict[str, tuple[CurrencyRate, ...]]:
        for code in currencies:
            if not _CURRENCY_CODE.match(code):
                raise PydanticCustomError(
                    "currency",
                    "{code} is not an ISO 4217 currency code (three capital letters, e.g. EUR)",
                    {"code": repr(code)},
                )
            if code == "USD":
                raise PydanticCustomError(
                    "currency", "USD needs no rate: amounts in USD are taken as they are", {}
                )
        return dict(sorted(currencies.items()))

    def currency_rate_periods(self) -> list[tuple[str, datetime, datetime | None, Decimal]]:
        """(currency, valid_from, valid_to, usd_per_unit): each rate until the next one starts."""
        return [
            (code, rate.valid_from, following.valid_from if following else None, rate.rate)
            for code, rates in self.usd_per_currency_unit.items()
            for rate, following in zip(rates, (*rates[1:], None), strict=True)
        ]


class Conflict(BaseModel):
    """A rule between entries that the file breaks, with the path of the entry at fault."""

    path: tuple[str | int, ...]
    message: str


class Directory(_Strict):
    """The whole workspaces file: workspaces, the catch-all for what nobody owns, pricing."""

    catch_all_workspace: StrictInt
    pricing: Pricing = Field(default_factory=Pricing)
    workspaces: tuple[Workspace, ...] = Field(strict=False)

    @model_validator(mode="after")
    def _entries_agree(self) -> Directory:
        conflicts = list(_conflicts(self))
        if conflicts:
            raise PydanticCustomError(
                "directory_conflicts",
                "{summary}",
                {"summary": "; ".join(c.message for c in conflicts), "conflicts": conflicts},
            )
        return self

    def workspace(self, workspace_id: int) -> Workspace:
        return next(ws for ws in self.workspaces if ws.id == workspace_id)

    def content_hash(self) -> str:
        """A fingerprint of what the directory says, blind to comments, order of keys and layout."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _conflicts(directory: Directory) -> Iterator[Conflict]:
    if not directory.workspaces:
        yield Conflict(path=("workspaces",), message="the directory lists no workspace")
    first_entry_of_id: dict[int, int] = {}
    for index, workspace in enumerate(directory.workspaces):
        if workspace.id in first_entry_of_id:
            yield Conflict(
                path=("workspaces", index, "id"),
                message=f"workspace id {workspace.id} is already used by "
                f"workspaces[{first_entry_of_id[workspace.id]}]",
            )
        else:
            first_entry_of_id[workspace.id] = index

    if directory.catch_all_workspace not in first_entry_of_id:
        yield Conflict(
            path=("catch_all_workspace",),
            message=f"{directory.catch_all_workspace} is not the id of any workspace",
        )

    owner_of_agent: dict[str, int] = {}
    assignments_of_number: dict[str, list[tuple[int, int, PhoneAssignment]]] = defaultdict(list)
    for index, workspace in enumerate(directory.workspaces):
        for agent_index, agent_id in enumerate(workspace.agents):
            if agent_id in owner_of_agent:
                yield Conflict(
                    path=("workspaces", index, "agents", agent_index),
                    message=f"agent {agent_id} is already listed by workspace "
                    f"{owner_of_agent[agent_id]}",
                )
            owner_of_agent.setdefault(agent_id, workspace.id)
        for phone_index, phone in enumerate(workspace.phones):
            for other_index, other_workspace_id, other in assignments_of_number[phone.number]:
                if phone.overlaps(other):
                    owner = (
                        "the same workspace"
                        if other_workspace_id == workspace.id
                        else f"workspace {other_workspace_id}"
                    )
                    yield Conflict(
                        path=("workspaces", index, "phones", phone_index, "number"),
                        message=f"{phone.number} {phone.describe_period()} overlaps its "
                        f"assignment to {owner} {other.describe_period()} "
                        f"(workspaces[{other_index}]): a number has one owner at a time",
                    )
            assignments_of_number[phone.number].append((index, workspace.id, phone))
