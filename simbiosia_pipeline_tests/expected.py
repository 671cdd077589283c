"""What the dbt models must produce, computed independently in plain Python.

The input is what the APIs serve — Twilio Call resources and ElevenLabs conversation details as
JSON dicts (``external-apis.md``) — and a workspace ``Directory``; the output is the expected
attribution of every record, the expected rows of ``twilio_snapshots`` and
``elevenlabs_snapshots`` (exact ``Decimal``s), and the expected pairing of ``call_costs``. Tests
compare the warehouse against it, on hand-made records and on the sandbox's ground truth.

It follows the rules as the issue and the models' YAML state them, record by record, with none
of the SQL's machinery (windows, lateral lookups, greedy recursion), so that a mistake in one is
not silently repeated in the other. Only ``normalize_e164`` is shared: it is the specification
of number matching, and its SQL twin is held to it by a property test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from simbiosia_pipeline.workspaces import Directory, normalize_e164

OUTBOUND = frozenset({"outbound-api", "trunking-terminating"})
FINAL_CONVERSATION_STATUSES = frozenset({"done", "failed"})
# Twilio never prices a call nobody answered; its null price is final, a cost of 0.
UNANSWERED_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})
LEAD_LOOKBACK = timedelta(hours=24)
SIP_MATCH_TOLERANCE = timedelta(seconds=120)
MAX_CHAIN_DEPTH = 10

Call = Mapping[str, Any]
Conversation = Mapping[str, Any]


@dataclass(frozen=True)
class Attribution:
    workspace_id: int
    rule: str


@dataclass(frozen=True)
class TwilioSnapshot:
    workspace_id: int
    snapshot_date: datetime
    total_calls: int
    total_cost: Decimal
    total_duration: int
    real_minutes: int
    unpriced_calls: int
    unconverted_calls: int


@dataclass(frozen=True)
class ElevenLabsSnapshot:
    workspace_id: int
    snapshot_date: datetime
    total_conversations: int
    total_cost: Decimal
    total_duration: int
    llm_usage: dict | None
    llm_price: Decimal
    llm_charge: Decimal
    call_charge: Decimal
    free_minutes_consumed: Decimal
    free_llm_dollars_consumed: Decimal
    dev_discount: int
    unsettled_conversations: int
    total_cost_fiat: Decimal
    voice_surcharge_charge: Decimal
    total_credits_charged: Decimal


@dataclass(frozen=True)
class PhoneCall:
    """One row of call_costs: which Twilio call and which conversation, and how they paired."""

    twilio_call_sid: str | None
    conversation_id: str | None
    pairing: str


# --- record fields --------------------------------------------------------------------------


def call_time(call: Call) -> datetime:
    """When a call happened for partitioning: its start, else its creation."""
    return _rfc2822(call.get("start_time")) or _rfc2822(call["date_created"])


def conversation_time(conversation: Conversation) -> datetime:
    return datetime.fromtimestamp(conversation["metadata"]["start_time_unix_secs"], tz=UTC)


def hour_of(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _rfc2822(value: str | None) -> datetime | None:
    return parsedate_to_datetime(value).astimezone(UTC) if value else None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _phone_call(conversation: Conversation) -> Mapping[str, Any]:
    return conversation["metadata"].get("phone_call") or {}


def _charging(conversation: Conversation) -> Mapping[str, Any]:
    return conversation["metadata"].get("charging") or {}


# --- the directory --------------------------------------------------------------------------


def number_owner(directory: Directory, raw_number: str | None, at: datetime) -> int | None:
    number = normalize_e164(raw_number)
    if number is None:
        return None
    for workspace in directory.workspaces:
        for phone in workspace.phones:
            if (
                phone.number == number
                and (phone.valid_from is None or phone.valid_from <= at)
                and (phone.valid_to is None or at < phone.valid_to)
            ):
                return workspace.id
    return None


def agent_owner(directory: Directory, agent_id: str) -> int | None:
    for workspace in directory.workspaces:
        if agent_id in workspace.agents:
            return workspace.id
    return None


def usd_per_unit(directory: Directory, currency: str | None, at: datetime) -> Decimal | None:
    """USD per unit of ``currency`` at ``at``: 1 for USD, the dated rate, or None (no rate)."""
    code = (currency or "").upper()  # ISO 4217 codes, which Twilio writes in capitals
    if code == "USD":
        return Decimal(1)
    rates = directory.pricing.usd_per_currency_unit.get(code, ())
    in_force = [r for r in rates if r.valid_from <= at]
    return max(in_force, key=lambda r: r.valid_from).rate if in_force else None


def twilio_cost_pending(call: Call) -> bool:
    """A null price that may still change: anything but an unanswered call."""
    return call.get("price") is None and call["status"] not in UNANSWERED_STATUSES


def twilio_usd(call: Call, directory: Directory) -> Decimal | None:
    """|price| in USD at the rate of the call's start; 0 for an unanswered call; None while
    pending or when the currency has no rate."""
    price = _decimal(call.get("price"))
    if price is None:
        return None if twilio_cost_pending(call) else Decimal(0)
    rate = usd_per_unit(directory, call.get("price_unit"), call_time(call))
    return None if rate is None else abs(price) * rate


def usd_per_credit(directory: Directory, at: datetime) -> Decimal | None:
    in_force = [r for r in directory.pricing.elevenlabs_usd_per_credit if r.valid_from <= at]
    return max(in_force, key=lambda r: r.valid_from).rate if in_force else None


# --- attribution ----------------------------------------------------------------------------


def attribute_calls(calls: Iterable[Call], directory: Directory) -> dict[str, Attribution]:
    """The workspace and rule of every Twilio call (all of ``calls`` is the known history)."""
    calls = list(calls)
    by_sid = {call["sid"]: call for call in calls}
    catch_all = Attribution(directory.catch_all_workspace, "catch_all")

    def by_own_numbers(call: Call) -> Attribution | None:
        direction, at = call["direction"], call_time(call)
        if direction in OUTBOUND:
            owner = number_owner(directory, call.get("from"), at)
            return Attribution(owner, "from_number") if owner else None
        if direction == "inbound":
            owner = number_owner(directory, call.get("to"), at)
            return Attribution(owner, "to_number") if owner else None
        if direction == "trunking-originating":
            owner = number_owner(directory, call.get("to"), at)
            if owner:
                return Attribution(owner, "sip_uri_number")
            lead = normalize_e164(call.get("from"))
            earlier_calls_to_lead = [
                other
                for other in calls
                if lead is not None
                and other["direction"] in OUTBOUND
                and normalize_e164(other.get("to")) == lead
                and at - LEAD_LOOKBACK <= call_time(other) <= at
            ]
            if earlier_calls_to_lead:
                latest = max(earlier_calls_to_lead, key=lambda c: (call_time(c), c["sid"]))
                owner = number_owner(directory, latest.get("from"), call_time(latest))
                return Attribution(owner, "recent_lead_call") if owner else None
        return None

    def attribute(call: Call) -> Attribution:
        if not call.get("parent_call_sid"):
            return by_own_numbers(call) or catch_all
        root_sid, depth = call["parent_call_sid"], 1
        while (
            root_sid in by_sid
            and by_sid[root_sid].get("parent_call_sid")
            and depth < MAX_CHAIN_DEPTH
        ):
            root_sid, depth = by_sid[root_sid]["parent_call_sid"], depth + 1
        if root_sid not in by_sid:
            return catch_all
        root = by_own_numbers(by_sid[root_sid])
        return Attribution(root.workspace_id if root else catch_all.workspace_id, "parent_call")

    return {call["sid"]: attribute(call) for call in calls}


def attribute_conversations(
    conversations: Iterable[Conversation], directory: Directory
) -> dict[str, Attribution]:
    result = {}
    for conversation in conversations:
        agent_number = _phone_call(conversation).get("agent_number")
        if agent_number:
            owner = number_owner(directory, agent_number, conversation_time(conversation))
            rule = "agent_number"
        else:
            owner = agent_owner(directory, conversation["agent_id"])
            rule = "agent_id"
        result[conversation["conversation_id"]] = (
            Attribution(owner, rule)
            if owner
            else Attribution(directory.catch_all_workspace, "catch_all")
        )
    return result


# --- snapshots ------------------------------------------------------------------------------


def twilio_snapshots(
    calls: Iterable[Call], directory: Directory
) -> dict[tuple[int, datetime], TwilioSnapshot]:
    """Expected twilio_snapshots rows by (workspace_id, snapshot_date)."""
    calls = list(calls)
    attribution = attribute_calls(calls, directory)
    buckets: dict[tuple[int, datetime], list[Call]] = defaultdict(list)
    for call in calls:
        buckets[(attribution[call["sid"]].workspace_id, hour_of(call_time(call)))].append(call)
    snapshots = {}
    for (workspace_id, hour), bucket in buckets.items():
        usd = [twilio_usd(call, directory) for call in bucket]
        durations = [int(call["duration"]) for call in bucket if call.get("duration") is not None]
        snapshots[(workspace_id, hour)] = TwilioSnapshot(
            workspace_id=workspace_id,
            snapshot_date=hour,
            total_calls=len(bucket),
            total_cost=sum((amount for amount in usd if amount is not None), Decimal(0)),
            total_duration=sum(durations),
            real_minutes=sum(-(-d // 60) for d in durations if d > 0),
            unpriced_calls=sum(twilio_cost_pending(call) for call in bucket),
            unconverted_calls=sum(
                call.get("price") is not None and amount is None
                for call, amount in zip(bucket, usd, strict=True)
            ),
        )
    return snapshots


def elevenlabs_snapshots(
    conversations: Iterable[Conversation], directory: Directory
) -> dict[tuple[int, datetime], ElevenLabsSnapshot]:
    """Expected elevenlabs_snapshots rows by (workspace_id, snapshot_date)."""
    conversations = list(conversations)
    attribution = attribute_conversations(conversations, directory)
    buckets: dict[tuple[int, datetime], list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        key = (
            attribution[conversation["conversation_id"]].workspace_id,
            hour_of(conversation_time(conversation)),
        )
        buckets[key].append(conversation)

    def total(bucket, field) -> Decimal:
        values = (_decimal(_charging(c).get(field)) for c in bucket)
        return sum((v for v in values if v is not None), Decimal(0))

    def metadata_total(bucket, field) -> Decimal:
        values = (_decimal(c["metadata"].get(field)) for c in bucket)
        return sum((v for v in values if v is not None), Decimal(0))

    snapshots = {}
    for (workspace_id, hour), bucket in buckets.items():
        costs = (_decimal(c["metadata"].get("cost")) for c in bucket)
        snapshots[(workspace_id, hour)] = ElevenLabsSnapshot(
            workspace_id=workspace_id,
            snapshot_date=hour,
            total_conversations=len(bucket),
            total_cost=sum((c for c in costs if c is not None), Decimal(0)),
            total_duration=sum(c["metadata"].get("call_duration_secs") or 0 for c in bucket),
            llm_usage=merged_llm_usage(bucket),
            llm_price=total(bucket, "llm_price"),
            llm_charge=total(bucket, "llm_charge"),
            call_charge=total(bucket, "call_charge"),
            free_minutes_consumed=total(bucket, "free_minutes_consumed"),
            free_llm_dollars_consumed=total(bucket, "free_llm_dollars_consumed"),
            dev_discount=sum(_charging(c).get("dev_discount") is True for c in bucket),
            unsettled_conversations=sum(
                c["status"] not in FINAL_CONVERSATION_STATUSES for c in bucket
            ),
            total_cost_fiat=metadata_total(bucket, "cost_fiat"),
            voice_surcharge_charge=total(bucket, "voice_surcharge_charge"),
            total_credits_charged=metadata_total(bucket, "cost")
            + total(bucket, "voice_surcharge_charge"),
        )
    return snapshots


def merged_llm_usage(conversations: Iterable[Conversation]) -> dict | None:
    """{model: {category: {"tokens": Σ, "price": Σ}}} over the conversations, or None if empty.

    A conversation reports the same tokens in two blocks; only ``irreversible_generation`` is
    read, ``initiated_generation`` when the first has no ``model_usage``.
    """
    merged: dict[str, dict[str, dict[str, Decimal]]] = {}
    for conversation in conversations:
        usage = _charging(conversation).get("llm_usage")
        models = _model_usage(usage) if isinstance(usage, dict) else None
        if not isinstance(models, dict):
            continue
        for model, categories in models.items():
            if not isinstance(categories, dict):
                continue
            for category, amounts in categories.items():
                amounts = amounts if isinstance(amounts, dict) else {}
                slot = merged.setdefault(model, {}).setdefault(
                    category, {"tokens": Decimal(0), "price": Decimal(0)}
                )
                slot["tokens"] += _decimal(amounts.get("tokens")) or Decimal(0)
                slot["price"] += _decimal(amounts.get("price")) or Decimal(0)
    return merged or None


def _model_usage(usage: Mapping[str, Any]) -> Any:
    for block in ("irreversible_generation", "initiated_generation"):
        generation = usage.get(block)
        if isinstance(generation, dict) and "model_usage" in generation:
            return generation["model_usage"]
    return None


# --- call_costs -----------------------------------------------------------------------------


def pair_calls(calls: Iterable[Call], conversations: Iterable[Conversation]) -> list[PhoneCall]:
    """Every Twilio call and every conversation exactly once, paired when they are one call."""
    calls, conversations = list(calls), list(conversations)
    sids = {call["sid"] for call in calls}

    # 1. by call_sid; of two conversations claiming one call, the earlier keeps it
    by_call_sid: dict[str, Conversation] = {}
    for conversation in sorted(
        conversations, key=lambda c: (conversation_time(c), c["conversation_id"])
    ):
        sid = _phone_call(conversation).get("call_sid")
        if sid in sids and sid not in by_call_sid:
            by_call_sid[sid] = conversation
    pairs = {
        sid: PhoneCall(sid, conversation["conversation_id"], "call_sid")
        for sid, conversation in by_call_sid.items()
    }
    paired_conversations = {pair.conversation_id for pair in pairs.values()}

    # 2. SIP trunk: same two numbers, starts within the tolerance, closest first, one-to-one
    def numbers_of_leg(call: Call) -> tuple[str | None, str | None]:
        if call["direction"] == "trunking-terminating":
            return normalize_e164(call.get("from")), normalize_e164(call.get("to"))
        return normalize_e164(call.get("to")), normalize_e164(call.get("from"))

    legs = [
        call
        for call in calls
        if call["direction"] in ("trunking-terminating", "trunking-originating")
        and call["sid"] not in pairs
    ]
    candidates = []
    for conversation in conversations:
        phone_call = _phone_call(conversation)
        if (
            phone_call.get("type") != "sip_trunking"
            or conversation["conversation_id"] in paired_conversations
        ):
            continue
        numbers = (
            normalize_e164(phone_call.get("agent_number")),
            normalize_e164(phone_call.get("external_number")),
        )
        if None in numbers:
            continue
        started = conversation_time(conversation)
        for leg in legs:
            gap = abs(call_time(leg) - started)
            if numbers_of_leg(leg) == numbers and gap <= SIP_MATCH_TOLERANCE:
                candidates.append((gap, started, conversation["conversation_id"], leg["sid"]))
    for _gap, _started, conversation_id, sid in sorted(candidates):
        if sid not in pairs and conversation_id not in paired_conversations:
            pairs[sid] = PhoneCall(sid, conversation_id, "sip_numbers_and_time")
            paired_conversations.add(conversation_id)

    return [
        pairs.get(call["sid"]) or PhoneCall(call["sid"], None, "twilio_only") for call in calls
    ] + [
        PhoneCall(None, conversation["conversation_id"], "elevenlabs_only")
        for conversation in conversations
        if conversation["conversation_id"] not in paired_conversations
    ]
