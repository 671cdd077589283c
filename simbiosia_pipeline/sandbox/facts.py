"""Clock-independent facts about calls and conversations, and their lifecycle over time.

A fact is everything that is decided once and for all when the sandbox generates an
interaction: when the call was created, started, answered and ended, its final status,
what Twilio will eventually charge and when the price lands, what ElevenLabs will charge
and when processing finishes. What an API shows *at a given moment* (status, a price or
null, ``date_updated``) is derived from the fact and the clock here, so the same fact
renders consistently at any ``now`` and only the view needs recomputing when time moves.

All times are integer unix seconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CallFact:
    """One Twilio Call resource.

    ``started`` is None for calls canceled while still queued (they never get a start
    time); ``answered`` is None for every unanswered call. ``ended`` is when the call
    reaches ``final_status``. ``price`` is the final (negative or zero) charge, visible
    from ``priced`` on; both are None for a call Twilio never prices (an unanswered call:
    its price stays null for good).
    """

    sid: str
    direction: str
    from_number: str
    to: str
    created: int
    started: int | None
    answered: int | None
    ended: int
    final_status: str
    duration: int
    price: Decimal | None
    priced: int | None
    parent_sid: str | None = None
    trunk_sid: str | None = None
    phone_number_sid: str | None = None
    queue_ms: int = 0

    def status_at(self, now: int) -> str:
        if now >= self.ended:
            return self.final_status
        if self.answered is not None and now >= self.answered:
            return "in-progress"
        if self.started is not None and now >= self.started:
            return "ringing"
        return "queued"

    def sort_key_at(self, now: int) -> int:
        """Twilio orders and filters by start time, or creation time before a call starts."""
        if self.started is not None and now >= self.started:
            return self.started
        return self.created

    def transitions(self) -> tuple[int, ...]:
        """Every moment the rendered resource changes (creation included)."""
        moments = [self.created, self.ended]
        if self.priced is not None:
            moments.append(self.priced)
        if self.started is not None:
            moments.append(self.started)
        if self.answered is not None:
            moments.append(self.answered)
        return tuple(moments)

    def updated_at(self, now: int) -> int:
        return max(t for t in self.transitions() if t <= now)


@dataclass(frozen=True, slots=True)
class PhoneLeg:
    """ElevenLabs ``metadata.phone_call``: ``kind`` is ``twilio`` or ``sip_trunking``."""

    kind: str
    direction: str
    phone_number_id: str
    agent_number: str
    external_number: str
    call_sid: str
    stream_sid: str | None = None
    sip_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    at: int
    message: str


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """LLM tokens and USD prices of one model in one conversation."""

    model: str
    input_tokens: int
    input_price: float
    cache_read_tokens: int
    cache_read_price: float
    output_tokens: int
    output_price: float


@dataclass(frozen=True, slots=True)
class Charging:
    """ElevenLabs ``metadata.charging`` once final: credits (ints) and USD (floats)."""

    tier: str
    is_burst: bool
    dev_discount: bool
    models: tuple[ModelUsage, ...]
    llm_price: float
    llm_charge: int
    call_charge: int
    free_minutes_consumed: float
    free_llm_dollars_consumed: float
    # The 2026 fields. platform_charge: the non-LLM credits (= call_charge); platform_price and
    # analysis_price: USD; voice_surcharge_charge: credits of the voice actor reward, which
    # ``cost`` leaves out; analysis_charge: credits of post-call analysis (None: no analysis ran).
    platform_price: float = 0.0
    voice_surcharge_charge: int = 0
    analysis_charge: int | None = None
    analysis_price: float | None = None

    @property
    def cost(self) -> int:
        """Credits, as ElevenLabs documents it: ``call_charge + llm_charge``."""
        return self.call_charge + self.llm_charge

    @property
    def platform_charge(self) -> int:
        return self.call_charge

    @property
    def cost_fiat(self) -> float:
        """USD, as ElevenLabs documents it: ``llm_price + platform_price`` (exact in decimal)."""
        return float(Decimal(str(self.llm_price)) + Decimal(str(self.platform_price)))


@dataclass(frozen=True, slots=True)
class ConversationFact:
    """One ElevenLabs conversation; ``phone`` is None for web-widget conversations."""

    conversation_id: str
    agent_id: str
    started: int
    accepted: int
    duration: int
    processed: int
    final_status: str  # "done" or "failed"
    phone: PhoneLeg | None
    batch: tuple[str, str] | None
    charging: Charging
    turns: tuple[Turn, ...]
    outcome: str  # analysis verdict: success / failure / unknown
    summary: str
    title: str
    termination_reason: str
    error_reason: str | None  # set for failed conversations
    language: str
    source: str  # conversation_initiation_source
    transferred: bool = False  # handed over to a human (a Twilio outbound-dial leg)
    # [from, until): processing again, its analysis run again through the API (edits.py)
    reanalysis: tuple[int, int] | None = None

    @property
    def ended(self) -> int:
        return self.started + self.duration

    def status_at(self, now: int) -> str:
        if self.reanalysis is not None and self.reanalysis[0] <= now < self.reanalysis[1]:
            return "processing"
        if now >= self.processed:
            return self.final_status
        if now >= self.ended:
            return "processing"
        if now < self.accepted:
            return "initiated"  # the call is set up but not accepted yet (a second or so)
        return "in-progress"

    def elapsed_at(self, now: int) -> int:
        return min(self.duration, max(0, now - self.started))

    def transitions(self) -> tuple[int, ...]:
        return (self.started, self.accepted, self.ended, self.processed, *(self.reanalysis or ()))


@dataclass(frozen=True, slots=True)
class HourFacts:
    """Everything generated for one UTC hour, in generation order."""

    hour: int
    calls: tuple[CallFact, ...]
    conversations: tuple[ConversationFact, ...]
