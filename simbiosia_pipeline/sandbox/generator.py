"""Generates the facts of one UTC hour: interactions and the records they leave behind.

An *interaction* is one business event (an AI agent phones a lead, a lead calls back, a
visitor talks to the web widget, a dial attempt nobody answers). Each produces linked
records in the two APIs, with the links the pipeline relies on:

=====================  ====================================  ===============================
interaction            Twilio Call(s)                        ElevenLabs conversation
=====================  ====================================  ===============================
native outbound        ``outbound-api`` from agent number    ``twilio``/outbound, same
                       to lead; ~10 % add an ``outbound-     ``call_sid``, starts 1–5 s after
                       dial`` child leg (transfer to human)  the call
SIP outbound           ``trunking-terminating`` agent → lead ``sip_trunking``/outbound, own
                                                             ``sip-…`` call_sid, start ±60 s
SIP inbound            ``trunking-originating`` lead →       ``sip_trunking``/inbound,
                       ``sip:+34…@public-vip.ie1.twilio.com`` agent_number = SIP number
Twilio inbound         ``inbound`` lead → agent number       ``twilio``/inbound, same call_sid
unanswered attempt     ``outbound-api``/``trunking-termina-  none
                       ting``: no-answer, busy, failed,
                       canceled (a third never start)
web widget             none                                  ``phone_call: null``
unowned callback       ``trunking-originating`` to the SIP   ``sip_trunking``/inbound
                       number nobody owns, from a lead an
                       owned number called 1–23 h earlier
=====================  ====================================  ===============================

Counts per hour are Poisson draws around the seasonal rate of each agent (see
``seasonality``); everything is drawn from a RNG seeded by (seed, hour), so an hour costs
the same to generate whatever the rest of the history is. Callbacks reference earlier
hours' *primary* interactions only, so there is no recursion between hours.

Contract used by the query layer: every record generated for hour ``H`` has its sort time
(call start or creation, conversation start) in ``[H, H + SPILL_SECONDS)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import accumulate

from simbiosia_pipeline.sandbox import phrases
from simbiosia_pipeline.sandbox.clock import DAY, HOUR
from simbiosia_pipeline.sandbox.facts import (
    CallFact,
    Charging,
    ConversationFact,
    HourFacts,
    ModelUsage,
    PhoneLeg,
    Turn,
)
from simbiosia_pipeline.sandbox.ids import (
    SandboxRandom,
    alnum_id,
    call_sid,
    conversation_id,
    hex_id,
    random_alnum,
    seeded_rng,
)
from simbiosia_pipeline.sandbox.layout import SIP_DOMAIN, Agent, Layout
from simbiosia_pipeline.sandbox.seasonality import hourly_rate, poisson

SPILL_SECONDS = 2 * HOUR

# Whole-account events per day at scale 1.0 (≈ 650 Twilio calls, 380 conversations).
PHONE_EVENTS_PER_DAY = {
    "native_outbound": 216.0,
    "sip_outbound": 95.0,
    "sip_inbound": 26.8,
    "twilio_inbound": 19.0,
    "unanswered": 268.0,
}
PHONE_EVENTS_PER_DAY_TOTAL = sum(PHONE_EVENTS_PER_DAY.values())
WEB_EVENTS_PER_DAY = 19.0
UNOWNED_CALLBACKS_PER_DAY = 3.6
TRANSFER_SHARE = 0.10
BATCH_SHARE = 0.35
FAILED_CONVERSATION_SHARE = 0.05
UNPREFIXED_NUMBER_SHARE = 0.01

# Twilio price per started minute, by direction (billed minutes = ceil(duration / 60)), in the
# account's currency (SandboxConfig.price_unit: the same figures whatever the unit).
TWILIO_RATE_PER_MINUTE = {
    "outbound-api": Decimal("0.0140"),
    "outbound-dial": Decimal("0.0140"),
    "trunking-terminating": Decimal("0.0100"),
    "trunking-originating": Decimal("0.0034"),
    "inbound": Decimal("0.0085"),
}
_CENT_FRACTION = Decimal("0.00001")
ZERO_PRICE = Decimal("0.00000")

# ElevenLabs: credits per call minute of the plan, credits per LLM dollar (both observed
# orders of magnitude, see external-apis.md "Units of cost"), USD per million tokens
# (input, cached input, output).
TIER = "creator"
CALL_CREDITS_PER_MINUTE = 400
LLM_CREDITS_PER_USD = 5000
LLM_USD_PER_MTOK = {
    "gemini-2.5-flash": (0.15, 0.0375, 0.60),
    "gemini-2.5-flash-lite": (0.10, 0.025, 0.40),
    "claude-haiku-4-5": (1.00, 0.10, 5.00),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
}
FALLBACK_MODEL = "gemini-2.5-flash-lite"
# USD per call minute of the platform (the fiat analogue of CALL_CREDITS_PER_MINUTE), credits per
# minute of the voice actor reward on voices that carry one, and the share of such conversations.
PLATFORM_USD_PER_MINUTE = Decimal("0.08")
VOICE_SURCHARGE_CREDITS_PER_MINUTE = 40
VOICE_SURCHARGE_SHARE = 0.25

_US_AREA_CODES = ("352", "407", "813", "305", "786", "212", "646")
# (items, cumulative weights)
_UNANSWERED_STATUSES = (("no-answer", "busy", "failed", "canceled"), (50, 70, 85, 100))
_OUTCOMES = (("success", "failure", "unknown"), (45, 80, 100))


class HourGenerator:
    """Turns (seed, scale, layout, history start) into the facts of any UTC hour."""

    def __init__(
        self,
        seed: int,
        scale: float,
        history_start: int,
        layout: Layout,
        zero_price_unanswered: bool = False,
    ) -> None:
        self._seed = seed
        self._zero_price_unanswered = zero_price_unanswered
        self._scale = scale
        self._history_start = history_start
        self._layout = layout
        self._builders = {
            "native_outbound": self._native_outbound,
            "sip_outbound": self._sip_outbound,
            "sip_inbound": self._sip_inbound,
            "twilio_inbound": self._twilio_inbound,
            "unanswered": self._unanswered,
        }
        self._caller_ids: dict[tuple[str, int, bool], tuple[tuple, tuple]] = {}
        self._kinds = tuple(PHONE_EVENTS_PER_DAY)
        self._kind_weights = tuple(accumulate(PHONE_EVENTS_PER_DAY.values()))
        self._callback_agent = next(
            a for a in layout.agents if any(n == layout.callback_sip_number for n, _ in a.numbers)
        )

    # -- hours ------------------------------------------------------------------------

    def primary(self, hour: int) -> HourFacts:
        """The hour's interactions that depend on nothing but (seed, hour)."""
        start = hour * HOUR
        if start < self._history_start:
            return HourFacts(hour, (), ())
        rng = seeded_rng(self._seed, "primary", hour)
        out = _Records(rng, hour, self._zero_price_unanswered)
        for agent in self._layout.agents:
            per_day = PHONE_EVENTS_PER_DAY_TOTAL if agent.channel == "phone" else WEB_EVENTS_PER_DAY
            mean = self._scale * agent.share * hourly_rate(per_day, start, agent.timezone)
            for _ in range(poisson(rng, mean)):
                at = start + rng.randrange(HOUR)
                if agent.channel == "web":
                    self._web_widget(out, agent, at)
                else:
                    kind = rng.weighted(self._kinds, self._kind_weights)
                    self._builders[kind](out, agent, at)
        return out.facts()

    def callbacks(self, hour: int, primary_of: Callable[[int], HourFacts]) -> HourFacts:
        """Leads calling back the SIP number nobody owns, after an owned number called them.

        The lead is taken from a completed outbound call from an owned number 1–23 hours
        earlier, so the pipeline's "latest outbound call to this lead within 24 h" rule
        can attribute it.
        """
        start = hour * HOUR
        if start < self._history_start:
            return HourFacts(hour, (), ())
        rng = seeded_rng(self._seed, "callbacks", hour)
        out = _Records(rng, hour, self._zero_price_unanswered)
        mean = self._scale * hourly_rate(UNOWNED_CALLBACKS_PER_DAY, start, "Europe/Madrid")
        for _ in range(poisson(rng, mean)):
            at = start + rng.randrange(HOUR)
            for _attempt in range(6):
                earlier = primary_of(hour - rng.randint(1, 23)).calls
                leads = [
                    call.to
                    for call in earlier
                    if call.final_status == "completed"
                    and call.direction in ("outbound-api", "trunking-terminating")
                    and call.from_number not in self._layout.unowned_numbers
                ]
                if leads:
                    self._sip_inbound(
                        out,
                        self._callback_agent,
                        at,
                        lead=rng.choice(leads),
                        number=self._layout.callback_sip_number,
                    )
                    break
        return out.facts()

    # -- interactions -----------------------------------------------------------------

    def _native_outbound(self, out: _Records, agent: Agent, at: int) -> None:
        rng = out.rng
        number, lead = self._caller_id(rng, agent, at), _lead(rng, agent)
        started = at + rng.choice((0, 0, 1, 1, 2))
        answered = started + rng.randint(3, 15)
        ai_end = answered + _talk_seconds(rng)
        conv_start = started + rng.randint(1, 5)
        ended = ai_end
        child = None
        if rng.random() < TRANSFER_SHARE:
            child_ring = rng.randint(4, 15)
            if rng.random() < 0.8:
                child_end = ai_end + child_ring + _talk_seconds(rng) // 2
                child = (ai_end, ai_end + child_ring, child_end, "completed")
                ended = child_end + 1
            else:
                child_end = ai_end + rng.randint(18, 30)
                child = (ai_end, None, child_end, "no-answer")
                ended = child_end + rng.randint(5, 20)
        call = out.call(
            "outbound-api",
            number,
            lead,
            created=at,
            started=started,
            answered=answered,
            ended=ended,
            status="completed",
            phone_number_sid=hex_id("PN", number),
            queue_ms=(started - at) * 1000,
        )
        if child is not None:
            child_start, child_answered, child_end, child_status = child
            operators = self._layout.workspace(agent.workspace_id).transfer_numbers
            out.call(
                "outbound-dial",
                number,
                rng.choice(operators),
                created=child_start,
                started=child_start,
                answered=child_answered,
                ended=child_end,
                status=child_status,
                parent_sid=call.sid,
            )
        leg = PhoneLeg(
            "twilio",
            "outbound",
            alnum_id("phnum_", number),
            _as_written(rng, number),
            _as_written(rng, lead),
            call.sid,
            stream_sid=f"MZ{rng.getrandbits(128):032x}",
        )
        out.conversation(
            self._conversation(out, agent, conv_start, ai_end, leg, "twilio", child is not None)
        )

    def _sip_outbound(self, out: _Records, agent: Agent, at: int) -> None:
        rng = out.rng
        number, lead = self._caller_id(rng, agent, at), _lead(rng, agent)
        answered = at + rng.randint(2, 12)
        ended = answered + _talk_seconds(rng)
        out.call(
            "trunking-terminating",
            number,
            lead,
            created=at,
            started=at,
            answered=answered,
            ended=ended,
            status="completed",
            trunk_sid=self._layout.trunk_sid,
        )
        conv_start = max(out.hour * HOUR, at + rng.randint(-60, 60))
        leg = _sip_leg(rng, "outbound", number, lead)
        out.conversation(
            self._conversation(out, agent, conv_start, max(conv_start + 5, ended), leg, "sip_trunk")
        )

    def _sip_inbound(
        self,
        out: _Records,
        agent: Agent,
        at: int,
        lead: str | None = None,
        number: str | None = None,
    ) -> None:
        rng = out.rng
        number = number or self._caller_id(rng, agent, at, owned_only=True)
        lead = lead or _lead(rng, agent)
        answered = at + rng.randint(1, 3)
        ended = answered + _talk_seconds(rng)
        out.call(
            "trunking-originating",
            lead,
            f"sip:{number}@{SIP_DOMAIN}",
            created=at,
            started=at,
            answered=answered,
            ended=ended,
            status="completed",
            trunk_sid=self._layout.trunk_sid,
        )
        conv_start = at + rng.randint(0, 3)
        leg = _sip_leg(rng, "inbound", number, lead)
        out.conversation(self._conversation(out, agent, conv_start, ended, leg, "sip_trunk"))

    def _twilio_inbound(self, out: _Records, agent: Agent, at: int) -> None:
        rng = out.rng
        number = self._caller_id(rng, agent, at, owned_only=True)
        lead = _lead(rng, agent)
        answered = at + rng.randint(1, 4)
        ended = answered + _talk_seconds(rng)
        call = out.call(
            "inbound",
            lead,
            number,
            created=at,
            started=at,
            answered=answered,
            ended=ended,
            status="completed",
            phone_number_sid=hex_id("PN", number),
        )
        leg = PhoneLeg(
            "twilio",
            "inbound",
            alnum_id("phnum_", number),
            _as_written(rng, number),
            _as_written(rng, lead),
            call.sid,
            stream_sid=f"MZ{rng.getrandbits(128):032x}",
        )
        conv_start = answered + rng.randint(0, 2)
        out.conversation(self._conversation(out, agent, conv_start, ended, leg, "twilio"))

    def _unanswered(self, out: _Records, agent: Agent, at: int) -> None:
        rng = out.rng
        number, lead = self._caller_id(rng, agent, at), _lead(rng, agent)
        native = rng.random() < 0.8
        status = rng.weighted(*_UNANSWERED_STATUSES)
        started: int | None = at + (rng.choice((0, 1, 2)) if native else 0)
        if status == "no-answer":
            ended = started + rng.randint(18, 32)
        elif status == "busy":
            ended = started + rng.randint(2, 8)
        elif status == "failed":
            ended = started + rng.randint(0, 2)
        elif rng.random() < 1 / 3:  # canceled while still queued: never starts
            started, ended = None, at + rng.randint(1, 10)
        else:
            ended = started + rng.randint(3, 15)
        out.call(
            "outbound-api" if native else "trunking-terminating",
            number,
            lead,
            created=at,
            started=started,
            answered=None,
            ended=ended,
            status=status,
            phone_number_sid=hex_id("PN", number) if native else None,
            trunk_sid=None if native else self._layout.trunk_sid,
            queue_ms=((started or ended) - at) * 1000 if native else 0,
        )

    def _web_widget(self, out: _Records, agent: Agent, at: int) -> None:
        ended = at + _talk_seconds(out.rng)
        out.conversation(self._conversation(out, agent, at, ended, None, "widget"))

    # -- helpers ----------------------------------------------------------------------

    def _caller_id(
        self, rng: SandboxRandom, agent: Agent, at: int, owned_only: bool = False
    ) -> str:
        key = (agent.agent_id, at // DAY, owned_only)
        options = self._caller_ids.get(key)
        if options is None:
            choices = self._layout.caller_ids(agent, at)
            if owned_only:
                choices = tuple(c for c in choices if c[0] not in self._layout.unowned_numbers)
            numbers, weights = zip(*choices, strict=True)
            options = self._caller_ids[key] = (numbers, tuple(accumulate(weights)))
        return rng.weighted(*options)

    def _conversation(
        self,
        out: _Records,
        agent: Agent,
        started: int,
        ended: int,
        leg: PhoneLeg | None,
        source: str,
        transferred: bool = False,
    ) -> ConversationFact:
        rng = out.rng
        conv_id = conversation_id(rng, out.hour)
        duration = max(1, ended - started)
        failed = rng.random() < FAILED_CONVERSATION_SHARE
        turns = _transcript(rng, agent.language, duration)
        outcome = rng.weighted(*_OUTCOMES)
        title, summary = phrases.OUTCOMES[outcome]
        batch = None
        if leg is not None and leg.direction == "outbound" and rng.random() < BATCH_SHARE:
            day = datetime.fromtimestamp(started, UTC).date()
            batch = (
                alnum_id("btcal_", self._seed, agent.agent_id, day),
                "btcrec_" + random_alnum(rng, 26),
            )
        charging = _charging(rng, agent, duration, turns)
        # The 2026 charges come from a stream of their own, so every other draw stays the same.
        charging = _platform_and_extras(
            seeded_rng(self._seed, "charges", conv_id), charging, duration, failed
        )
        return ConversationFact(
            conversation_id=conv_id,
            agent_id=agent.agent_id,
            started=started,
            accepted=started if leg is None else started + rng.randint(0, 1),
            duration=duration,
            processed=started + duration + _processing_delay(rng),
            final_status="failed" if failed else "done",
            phone=leg,
            batch=batch,
            charging=charging,
            turns=turns,
            outcome="unknown" if failed else outcome,
            summary=summary,
            title=title,
            termination_reason="" if failed else rng.choice(phrases.TERMINATION_REASONS),
            error_reason=rng.choice(phrases.FAILURE_REASONS) if failed else None,
            language=agent.language,
            source=source,
            transferred=transferred,
        )


class _Records:
    """The records of one hour being generated, sharing that hour's RNG stream."""

    def __init__(self, rng: SandboxRandom, hour: int, zero_price_unanswered: bool) -> None:
        self.rng = rng
        self.hour = hour
        self._zero_price_unanswered = zero_price_unanswered
        self._calls: list[CallFact] = []
        self._conversations: list[ConversationFact] = []

    def call(
        self,
        direction: str,
        from_number: str,
        to: str,
        *,
        created: int,
        started: int | None,
        answered: int | None,
        ended: int,
        status: str,
        parent_sid: str | None = None,
        trunk_sid: str | None = None,
        phone_number_sid: str | None = None,
        queue_ms: int = 0,
    ) -> CallFact:
        duration = ended - started if answered is not None and started is not None else 0
        priced: int | None = ended + _rating_delay(self.rng)  # drawn always: the stream stays
        price: Decimal | None
        if answered is not None:
            minutes = math.ceil(duration / 60)
            price = -(TWILIO_RATE_PER_MINUTE[direction] * minutes).quantize(_CENT_FRACTION)
        elif self._zero_price_unanswered:
            price = ZERO_PRICE  # the sandbox's old behaviour, kept behind a flag
        else:
            price = priced = None  # as real accounts show: unanswered calls are never priced
        fact = CallFact(
            sid=call_sid(self.rng, self.hour),
            direction=direction,
            from_number=from_number,
            to=to,
            created=created,
            started=started,
            answered=answered,
            ended=ended,
            final_status=status,
            duration=duration,
            price=price,
            priced=priced,
            parent_sid=parent_sid,
            trunk_sid=trunk_sid,
            phone_number_sid=phone_number_sid,
            queue_ms=queue_ms,
        )
        self._calls.append(fact)
        return fact

    def conversation(self, fact: ConversationFact) -> None:
        self._conversations.append(fact)

    def facts(self) -> HourFacts:
        return HourFacts(self.hour, tuple(self._calls), tuple(self._conversations))


def _lead(rng: SandboxRandom, agent: Agent) -> str:
    if agent.language == "en":
        return f"+1{rng.choice(_US_AREA_CODES)}{rng.randrange(2_000_000, 10_000_000)}"
    return f"+34{rng.choice('67')}{rng.randrange(10**8):08d}"


def _as_written(rng: SandboxRandom, number: str) -> str:
    """ElevenLabs occasionally shows a number without its leading ``+``."""
    return number[1:] if rng.random() < UNPREFIXED_NUMBER_SHARE else number


def _sip_leg(rng: SandboxRandom, direction: str, number: str, lead: str) -> PhoneLeg:
    call_id = f"{rng.getrandbits(64):016x}@sip.rtc.elevenlabs.io" if rng.random() < 0.5 else None
    return PhoneLeg(
        "sip_trunking",
        direction,
        alnum_id("phnum_", number),
        _as_written(rng, number),
        _as_written(rng, lead),
        f"sip-{rng.getrandbits(96):024x}",
        sip_call_id=call_id,
    )


def _talk_seconds(rng: SandboxRandom) -> int:
    """Answered-call talk time: log-normal, median 75 s, capped at 25 minutes."""
    return min(1500, max(8, int(rng.lognormvariate(math.log(75), 0.85))))


def _rating_delay(rng: SandboxRandom) -> int:
    """Seconds after the end until Twilio shows a price: minutes, rarely hours or days."""
    draw = rng.random()
    if draw < 0.005:
        return rng.randint(48 * HOUR + 1, 72 * HOUR)
    if draw < 0.035:
        return rng.randint(HOUR, 6 * HOUR)
    return rng.randint(30, 600)


def _processing_delay(rng: SandboxRandom) -> int:
    """Seconds of ElevenLabs post-call processing: seconds to minutes, rarely hours."""
    draw = rng.random()
    if draw < 0.01:
        return rng.randint(HOUR, 6 * HOUR)
    if draw < 0.05:
        return rng.randint(180, 1800)
    return rng.randint(5, 180)


def _transcript(rng: SandboxRandom, language: str, duration: int) -> tuple[Turn, ...]:
    count = min(10, max(2, 2 + duration // 20))
    last_agent_turn = (count - 1) // 2 * 2
    turns = []
    for index in range(count):
        role = "agent" if index % 2 == 0 else "user"
        if index == 0:
            message = rng.choice(phrases.AGENT_OPENINGS[language])
        elif role == "user":
            message = rng.choice(phrases.USER_LINES[language])
        elif index == last_agent_turn:
            message = phrases.AGENT_CLOSINGS[language][0]
        else:
            message = rng.choice(phrases.AGENT_LINES[language])
        turns.append(Turn(role, index * duration // count, message))
    return tuple(turns)


def _charging(rng: SandboxRandom, agent: Agent, duration: int, turns: tuple[Turn, ...]) -> Charging:
    agent_turns = sum(1 for turn in turns if turn.role == "agent")
    models = [agent.llm_model]
    if rng.random() < 0.08:
        models.append(FALLBACK_MODEL)
    usage = []
    for model in models:
        input_rate, cached_rate, output_rate = LLM_USD_PER_MTOK[model]
        tokens_in = sum(1200 + 180 * i for i in range(agent_turns)) + rng.randint(0, 400)
        cached = int(tokens_in * 0.4) if model.startswith(("claude", "gpt")) else 0
        tokens_out = agent_turns * rng.randint(25, 70)
        if model == FALLBACK_MODEL:
            tokens_in, cached, tokens_out = tokens_in // 5, 0, tokens_out // 5
        usage.append(
            ModelUsage(
                model=model,
                input_tokens=tokens_in - cached,
                input_price=round((tokens_in - cached) * input_rate / 1e6, 7),
                cache_read_tokens=cached,
                cache_read_price=round(cached * cached_rate / 1e6, 7),
                output_tokens=tokens_out,
                output_price=round(tokens_out * output_rate / 1e6, 7),
            )
        )
    llm_price = round(sum(u.input_price + u.cache_read_price + u.output_price for u in usage), 7)
    is_burst = rng.random() < 0.02
    dev_discount = rng.random() < 0.005
    call_charge = round(duration * CALL_CREDITS_PER_MINUTE / 60) * (2 if is_burst else 1)
    llm_charge = max(1, round(llm_price * LLM_CREDITS_PER_USD))
    free_minutes = free_llm = 0.0
    if rng.random() < 0.01:  # covered by the plan's free allowance
        free_minutes, free_llm = round(duration / 60, 4), llm_price
        call_charge = llm_charge = 0
    return Charging(
        tier=TIER,
        is_burst=is_burst,
        dev_discount=dev_discount,
        models=tuple(usage),
        llm_price=llm_price,
        llm_charge=llm_charge,
        call_charge=call_charge,
        free_minutes_consumed=free_minutes,
        free_llm_dollars_consumed=free_llm,
    )


def _platform_and_extras(
    rng: SandboxRandom, charging: Charging, duration: int, failed: bool
) -> Charging:
    """The fiat platform price, the voice actor surcharge and the post-call analysis charge."""
    minutes = Decimal(duration) / 60
    covered = charging.call_charge == 0  # the plan's free allowance paid for the call
    platform_price = (
        0.0
        if covered
        else float((minutes * PLATFORM_USD_PER_MINUTE).quantize(Decimal("0.0000001")))
    )
    surcharge = 0
    if rng.random() < VOICE_SURCHARGE_SHARE:
        surcharge = max(1, round(duration * VOICE_SURCHARGE_CREDITS_PER_MINUTE / 60))
    analysis_charge = analysis_price = None
    if not failed:  # a failed conversation gets no analysis pass
        analysis_price = round(rng.uniform(0.0002, 0.0015), 7)
        analysis_charge = max(1, round(analysis_price * LLM_CREDITS_PER_USD))
    return replace(
        charging,
        platform_price=platform_price,
        voice_surcharge_charge=surcharge,
        analysis_charge=analysis_charge,
        analysis_price=analysis_price,
    )
