"""What the backoffice must show, computed from the records the sandbox serves — never from the
warehouse: each record's workspace by the reference attribution of ``expected.py``, its local
day by zoneinfo, its money as Decimal from the API's own fields."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from simbiosia_pipeline_tests import expected

FINAL = ("done", "failed")


@dataclass(frozen=True)
class Fact:
    """One record's contribution to the figures."""

    workspace_id: int
    at: datetime
    calls: int = 0
    conversations: int = 0
    billable_minutes: int = 0
    twilio_usd: Decimal = Decimal(0)
    elevenlabs_credits: Decimal = Decimal(0)
    elevenlabs_usd: Decimal = Decimal(0)
    pending: int = 0
    direction: str | None = None

    @property
    def total_usd(self) -> Decimal:
        return self.twilio_usd + self.elevenlabs_usd


FIGURES = (
    "calls",
    "conversations",
    "billable_minutes",
    "twilio_usd",
    "elevenlabs_credits",
    "elevenlabs_usd",
    "total_usd",
    "pending",
)


@dataclass
class Truth:
    facts: list[Fact]
    calls: list[dict]
    conversations: list[dict]
    call_workspace: dict[str, int]
    conversation_workspace: dict[str, int]
    zone: ZoneInfo

    def selected(self, first: date, last: date, workspace_id: int | None = None) -> list[Fact]:
        return [
            fact
            for fact in self.facts
            if first <= fact.at.astimezone(self.zone).date() <= last
            and (workspace_id is None or fact.workspace_id == workspace_id)
        ]

    def totals(self, first: date, last: date, workspace_id: int | None = None) -> dict:
        facts = self.selected(first, last, workspace_id)
        return {name: sum((getattr(f, name) for f in facts), 0) for name in FIGURES}

    def per_day(self, first: date, last: date, workspace_id: int | None = None) -> dict:
        days: dict[date, list[Fact]] = defaultdict(list)
        for fact in self.selected(first, last, workspace_id):
            days[fact.at.astimezone(self.zone).date()].append(fact)
        return {
            day: {name: sum((getattr(f, name) for f in facts), 0) for name in FIGURES}
            for day, facts in sorted(days.items())
        }

    def per_direction(self, first: date, last: date, workspace_id: int | None = None) -> dict:
        directions: dict[str, list[Fact]] = defaultdict(list)
        for fact in self.selected(first, last, workspace_id):
            if fact.direction:
                directions[fact.direction].append(fact)
        return {
            direction: (len(facts), sum((f.twilio_usd for f in facts), Decimal(0)))
            for direction, facts in sorted(directions.items())
        }

    def conversations_of(self, first: date, last: date, workspace_id: int | None = None) -> list:
        return [
            conversation
            for conversation in self.conversations
            if first
            <= expected.conversation_time(conversation).astimezone(self.zone).date()
            <= last
            and workspace_id in (None, self.conversation_workspace[conversation["conversation_id"]])
        ]

    def elevenlabs_charges(self, first: date, last: date, workspace_id: int | None = None) -> dict:
        """The Providers page's ElevenLabs cards: credits charged for the LLM and for the call,
        all credits, and the LLM's own price in USD."""
        conversations = self.conversations_of(first, last, workspace_id)

        def total(source) -> Decimal:
            values = (source(c) for c in conversations)
            return sum((Decimal(str(v)) for v in values if v is not None), Decimal(0))

        def charging(field):
            return lambda c: (c["metadata"].get("charging") or {}).get(field)

        return {
            "llm_charge_credits": total(charging("llm_charge")),
            "call_charge_credits": total(charging("call_charge")),
            "total_credits": total(lambda c: c["metadata"].get("cost")),
            "llm_price_usd": total(charging("llm_price")),
        }

    def per_model(self, first: date, last: date, workspace_id: int | None = None) -> dict:
        """(LLM model, token category) → (conversations that reported it, Σ tokens, Σ USD)."""
        usage: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
        for conversation in self.conversations_of(first, last, workspace_id):
            for model, categories in (expected.merged_llm_usage([conversation]) or {}).items():
                for category, amounts in categories.items():
                    count, tokens, price = usage.get((model, category), (0, 0, 0))
                    usage[model, category] = (
                        count + 1,
                        tokens + amounts["tokens"],
                        price + amounts["price"],
                    )
        return dict(sorted(usage.items()))


def build(calls: list[dict], conversations: list[dict], directory, zone: ZoneInfo) -> Truth:
    call_owner = expected.attribute_calls(calls, directory)
    conversation_owner = expected.attribute_conversations(conversations, directory)
    facts = []
    for call in calls:
        price = call.get("price")
        duration = int(call.get("duration") or 0)
        facts.append(
            Fact(
                workspace_id=call_owner[call["sid"]].workspace_id,
                at=expected.call_time(call),
                calls=1,
                billable_minutes=-(-duration // 60) if duration > 0 else 0,
                twilio_usd=abs(Decimal(str(price))) if price is not None else Decimal(0),
                pending=int(expected.twilio_cost_pending(call)),
                direction=call["direction"],
            )
        )
    for conversation in conversations:
        at = expected.conversation_time(conversation)
        cost = conversation["metadata"].get("cost")
        credits = Decimal(str(cost)) if cost is not None else Decimal(0)
        facts.append(
            Fact(
                workspace_id=conversation_owner[conversation["conversation_id"]].workspace_id,
                at=at,
                conversations=1,
                elevenlabs_credits=credits,
                elevenlabs_usd=credits * expected.usd_per_credit(directory, at),
                pending=int(conversation["status"] not in FINAL),
            )
        )
    return Truth(
        facts=facts,
        calls=calls,
        conversations=conversations,
        call_workspace={sid: a.workspace_id for sid, a in call_owner.items()},
        conversation_workspace={cid: a.workspace_id for cid, a in conversation_owner.items()},
        zone=zone,
    )
