"""What the providers bill, per UTC day: derived from the very facts the record APIs serve.

Twilio's Usage Records and ElevenLabs' usage analytics are the providers' own totals. The
sandbox computes them from its call and conversation facts, so with clean data they agree with
the records to the cent and to the credit — and a *billing discrepancy* (see
``BillingDiscrepancies``) makes them disagree on purpose, the way real accounts occasionally do.

Twilio (``usage_records``): a call is billed on the UTC day of its start (creation, for a call
that never started), in the categories of its direction, at ``|price|`` (usage records are
positive; the Call resource's price is negative), from the moment it is priced. The records are
up to date ``as_of`` ``TWILIO_AS_OF_LAG`` before the clock: a call priced after ``as_of`` is not
billed yet. Unpriced calls (unanswered ones) are not billed and not counted.

ElevenLabs (``usage_by_product``): a conversation is billed on the UTC day of its start, once
final (``done``/``failed``), for the credits it took — ``cost`` plus the voice surcharge, which
``cost`` leaves out — and its ``cost_fiat`` in USD; product ``agents``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from simbiosia_pipeline.sandbox.clock import DAY
from simbiosia_pipeline.sandbox.facts import CallFact, ConversationFact

TWILIO_AS_OF_LAG = 15 * 60  # seconds: usage records trail the clock
ELEVENLABS_PRODUCT = "agents"

# Twilio usage categories by call direction (``totalprice`` takes every call).
CATEGORIES_OF_DIRECTION = {
    "inbound": ("calls", "calls-inbound"),
    "outbound-api": ("calls", "calls-outbound"),
    "outbound-dial": ("calls", "calls-outbound"),
    "trunking-originating": ("trunking-origination",),
    "trunking-terminating": ("trunking-termination",),
}
TWILIO_CATEGORIES = (
    "calls",
    "calls-inbound",
    "calls-outbound",
    "trunking-origination",
    "trunking-termination",
    "totalprice",
)
DESCRIPTIONS = {
    "calls": "Voice Minutes",
    "calls-inbound": "Inbound Voice Minutes",
    "calls-outbound": "Outbound Voice Minutes",
    "trunking-origination": "Trunking Origination Minutes",
    "trunking-termination": "Trunking Termination Minutes",
    "totalprice": "Total Price",
}


@dataclass
class BillingDiscrepancies:
    """Records billed differently from how the record APIs show them (off by default).

    * ``unlisted``: ids (Twilio sid or ElevenLabs conversation id) billed but missing from the
      call / conversation list and detail, as if the API had silently filtered them;
    * ``rebilled``: id → the amount billed instead of the record's (Twilio: price in the
      account's currency, positive; ElevenLabs: credits), as when a price changes after it
      settled.

    Changed at runtime (``PUT /_sandbox/billing``); thread-safe.
    """

    unlisted: frozenset[str] = frozenset()
    rebilled: Mapping[str, Decimal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def parse(data: Mapping) -> tuple[frozenset[str], dict[str, Decimal]]:
        unknown = sorted(set(data) - {"unlisted", "rebilled"})
        if unknown:
            raise ValueError(f"unknown billing settings: {', '.join(unknown)}")
        unlisted = frozenset(str(item) for item in data.get("unlisted") or ())
        rebilled = {
            str(key): Decimal(str(value)) for key, value in (data.get("rebilled") or {}).items()
        }
        return unlisted, rebilled

    def replace(self, data: Mapping) -> None:
        unlisted, rebilled = self.parse(data)
        with self._lock:
            self.unlisted, self.rebilled = unlisted, rebilled

    def to_dict(self) -> dict:
        return {
            "unlisted": sorted(self.unlisted),
            "rebilled": {key: str(value) for key, value in sorted(self.rebilled.items())},
        }


def call_day(fact: CallFact) -> int:
    """Unix second of the UTC midnight of the day a call is billed on."""
    moment = fact.started if fact.started is not None else fact.created
    return moment - moment % DAY


def billed_price(fact: CallFact, as_of: int, billing: BillingDiscrepancies) -> Decimal | None:
    """What Twilio bills for the call at ``as_of`` (positive), or None when nothing yet."""
    if fact.price is None or fact.priced is None or fact.priced > as_of:
        return None
    return billing.rebilled.get(fact.sid, abs(fact.price))


@dataclass
class _Tally:
    count: int = 0
    minutes: int = 0
    price: Decimal = Decimal(0)


def twilio_usage(
    calls: Iterable[CallFact], as_of: int, billing: BillingDiscrepancies
) -> dict[tuple[int, str], _Tally]:
    """Per (day, category): calls billed, their minutes and price, at ``as_of``."""
    tallies: dict[tuple[int, str], _Tally] = {}
    for fact in calls:
        if fact.created > as_of:
            continue
        price = billed_price(fact, as_of, billing)
        if price is None:
            continue
        day = call_day(fact)
        minutes = -(-fact.duration // 60)
        for category in (*CATEGORIES_OF_DIRECTION.get(fact.direction, ()), "totalprice"):
            tally = tallies.setdefault((day, category), _Tally())
            tally.count += 1
            tally.minutes += minutes
            tally.price += price
    return tallies


def conversation_credits(fact: ConversationFact, billing: BillingDiscrepancies) -> Decimal:
    charging = fact.charging
    default = Decimal(charging.cost + charging.voice_surcharge_charge)
    return billing.rebilled.get(fact.conversation_id, default)


def elevenlabs_usage(
    conversations: Iterable[ConversationFact], now: int, billing: BillingDiscrepancies
) -> dict[int, tuple[Decimal, Decimal]]:
    """Per UTC day (midnight, unix seconds): credits and USD of the final conversations."""
    totals: dict[int, tuple[Decimal, Decimal]] = {}
    for fact in conversations:
        if fact.processed > now:
            continue
        day = fact.started - fact.started % DAY
        credits, fiat = totals.get(day, (Decimal(0), Decimal(0)))
        totals[day] = (
            credits + conversation_credits(fact, billing),
            fiat + Decimal(str(fact.charging.cost_fiat)),
        )
    return totals
