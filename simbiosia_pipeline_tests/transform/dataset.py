"""A seeded, varied set of API records for the snapshot tests: every direction, late prices,
unfinished conversations, child legs across hours, SIP pairs that compete, numbers written in
every format, a number changing hands and a credit rate changing mid-window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simbiosia_pipeline.workspaces import Directory
from simbiosia_pipeline_tests.transform.api_records import conversation, llm_usage, twilio_call

A1, A2, B1, SHARED, UNOWNED, CALLBACK_SIP = (
    "+34930340228",
    "+34911674282",
    "+34911677200",
    "+34881193139",
    "+34930345511",
    "+34911672245",
)
LEADS = [f"+3460000{n:04d}" for n in range(12)]
SIP_DOMAIN = "public-vip.ie1.twilio.com"


def directory(handover: datetime, rate_change: datetime) -> Directory:
    """Workspaces 4 and 5 share SHARED: 4 owns it until ``handover``, 5 from then on."""
    return Directory.model_validate(
        {
            "catch_all_workspace": 1,
            "pricing": {
                "elevenlabs_usd_per_credit": [
                    {"valid_from": "2025-01-01", "rate": "0.00007525404654"},
                    {"valid_from": rate_change.isoformat(), "rate": "0.00008"},
                ],
                # EUR changes rate at the same instant; JPY has no rate (its calls are flagged)
                "usd_per_currency_unit": {
                    "EUR": [
                        {"valid_from": "2025-01-01", "rate": "1.08"},
                        {"valid_from": rate_change.isoformat(), "rate": "1.16"},
                    ]
                },
            },
            "workspaces": [
                {"id": 1, "name": "Otros Números"},
                {
                    "id": 4,
                    "name": "Workspace Principal",
                    "phones": [
                        {"number": A1, "primary": True},
                        {"number": A2},
                        {"number": SHARED, "valid_to": handover.isoformat()},
                    ],
                },
                {
                    "id": 5,
                    "name": "Workspace Secundario",
                    "phones": [
                        {"number": B1, "primary": True},
                        {"number": SHARED, "valid_from": handover.isoformat()},
                    ],
                },
                {"id": 6, "name": "Widget", "agents": ["agent_web"]},
            ],
        }
    )


@dataclass
class Records:
    calls: list[dict] = field(default_factory=list)
    conversations: list[dict] = field(default_factory=list)


def generate(start: datetime, hours: int, per_hour: int, seed: int) -> Records:
    rng = random.Random(seed)
    out = Records()
    for hour in range(hours):
        for _ in range(per_hour):
            at = start + timedelta(hours=hour, seconds=rng.randrange(3600))
            kind = rng.choices(
                ["native", "sip_out", "sip_in", "callback", "inbound", "unanswered", "web"],
                [30, 20, 10, 6, 10, 14, 10],
            )[0]
            _INTERACTIONS[kind](rng, out, at)
    _competing_sip_pair(out, start + timedelta(minutes=30))
    for call in out.calls:  # a tenth priced in EUR, a twentieth in JPY, by sid (no RNG draw)
        share = int(call["sid"][-4:], 16) % 20
        call["price_unit"] = "EUR" if share < 2 else "JPY" if share == 2 else "USD"
    return out


def _written(rng: random.Random, number: str) -> str:
    """The same number as an API might write it."""
    digits = number[1:]
    return rng.choice(
        [number, number, "00" + digits, digits, f"+{digits[:2]} {digits[2:5]} {digits[5:]}"]
    )


def _agent_number(rng: random.Random) -> str:
    return rng.choices([A1, A2, B1, SHARED, UNOWNED], [30, 20, 20, 20, 10])[0]


def _price(rng: random.Random) -> str | None:
    return None if rng.random() < 0.2 else f"-{rng.randrange(1, 40000) / 100000:.5f}"


def _conversation(rng: random.Random, start: datetime, **kwargs) -> dict:
    status = rng.choices(["done", "failed", "processing", "in-progress"], [80, 5, 10, 5])[0]
    model = rng.choice(["gemini-2.5-flash", "claude-haiku-4-5"])
    usage = (
        llm_usage(
            model,
            rng.randrange(100, 9000),
            f"{rng.randrange(1, 999) / 100000:.5f}",
            rng.randrange(10, 900),
            f"{rng.randrange(1, 999) / 100000:.5f}",
        )
        if rng.random() < 0.8
        else None
    )
    llm_charge = rng.randrange(0, 30)
    call_charge = rng.randrange(50, 2000)
    # The 2026 fields from a stream of their own (the other draws stay as they were); a third of
    # the records predate them.
    extras = random.Random(start.isoformat())
    newer = extras.random() < 0.7
    return conversation(
        start,
        status=status,
        duration=rng.randrange(5, 400),
        cost=llm_charge + call_charge,
        llm_charge=llm_charge,
        call_charge=call_charge,
        llm_price=rng.randrange(0, 5000) / 1000000,
        free_minutes_consumed=rng.choice([0.0, 0.0, 0.0, 0.5, 1.25]),
        dev_discount=rng.random() < 0.1,
        usage=usage,
        platform_price=extras.randrange(0, 30000) / 1000000 if newer else None,
        voice_surcharge_charge=extras.choice([0, 0, 0, 25, 120]) if newer else None,
        **kwargs,
    )


def _native(rng, out: Records, at: datetime) -> None:
    number, lead = _agent_number(rng), rng.choice(LEADS)
    call = twilio_call(
        "outbound-api",
        _written(rng, number),
        lead,
        at,
        duration=rng.randrange(0, 500),
        price=_price(rng),
    )
    out.calls.append(call)
    if rng.random() < 0.3:  # a transfer to a human, possibly in the next hour
        out.calls.append(
            twilio_call(
                "outbound-dial",
                number,
                "+34910000000",
                at + timedelta(minutes=rng.randrange(1, 50)),
                parent=call["sid"],
                duration=rng.randrange(0, 300),
                price=_price(rng),
            )
        )
    out.conversations.append(
        _conversation(
            rng,
            at + timedelta(seconds=rng.randrange(1, 6)),
            phone_type="twilio",
            agent_number=_written(rng, number),
            external_number=lead,
            call_sid=call["sid"],
        )
    )


def _sip_out(rng, out: Records, at: datetime) -> None:
    number, lead = _agent_number(rng), rng.choice(LEADS)
    out.calls.append(
        twilio_call(
            "trunking-terminating",
            _written(rng, number),
            lead,
            at,
            duration=rng.randrange(0, 500),
            price=_price(rng),
        )
    )
    out.conversations.append(
        _conversation(
            rng,
            at + timedelta(seconds=rng.randrange(-60, 61)),
            phone_type="sip_trunking",
            agent_number=_written(rng, number),
            external_number=_written(rng, lead),
            call_sid=f"sip-{rng.getrandbits(40):010x}",
        )
    )


def _sip_in(rng, out: Records, at: datetime, number: str | None = None) -> None:
    number, lead = number or _agent_number(rng), rng.choice(LEADS)
    out.calls.append(
        twilio_call(
            "trunking-originating",
            _written(rng, lead),
            f"sip:{number}@{SIP_DOMAIN}",
            at,
            duration=rng.randrange(1, 500),
            price=_price(rng),
        )
    )
    out.conversations.append(
        _conversation(
            rng,
            at + timedelta(seconds=rng.randrange(0, 4)),
            phone_type="sip_trunking",
            direction="inbound",
            agent_number=number,
            external_number=lead,
            call_sid=f"sip-{rng.getrandbits(40):010x}",
        )
    )


def _callback(rng, out: Records, at: datetime) -> None:
    _sip_in(rng, out, at, number=CALLBACK_SIP)


def _inbound(rng, out: Records, at: datetime) -> None:
    number, lead = _agent_number(rng), rng.choice(LEADS)
    call = twilio_call(
        "inbound",
        lead,
        _written(rng, number),
        at,
        duration=rng.randrange(1, 500),
        price=_price(rng),
    )
    out.calls.append(call)
    out.conversations.append(
        _conversation(
            rng,
            at + timedelta(seconds=rng.randrange(1, 5)),
            phone_type="twilio",
            direction="inbound",
            agent_number=number,
            external_number=lead,
            call_sid=call["sid"],
        )
    )


def _unanswered(rng, out: Records, at: datetime) -> None:
    number, lead = _agent_number(rng), rng.choice(LEADS)
    status = rng.choice(["no-answer", "busy", "failed", "canceled"])
    never_started = status == "canceled"
    out.calls.append(
        twilio_call(
            rng.choice(["outbound-api", "trunking-terminating"]),
            number,
            lead,
            None if never_started else at,
            created=at,
            status=status,
            duration=None if never_started else 0,
            price=rng.choice([None, "0.00000"]),
        )
    )


def _web(rng, out: Records, at: datetime) -> None:
    agent = rng.choice(["agent_web", "agent_web", "agent_other"])
    out.conversations.append(_conversation(rng, at, agent_id=agent, phone_type=None))


def _competing_sip_pair(out: Records, at: datetime) -> None:
    """Two SIP calls to one lead within a minute: the closest pairs must win, one-to-one."""
    lead = "+34600009999"
    first = twilio_call("trunking-terminating", A1, lead, at + timedelta(seconds=40))
    second = twilio_call("trunking-terminating", A1, lead, at + timedelta(seconds=100))
    out.calls += [first, second]
    for offset in (0, 50):
        out.conversations.append(
            conversation(
                at + timedelta(seconds=offset),
                phone_type="sip_trunking",
                agent_number=A1,
                external_number=lead,
                call_sid="sip-competing",
            )
        )


_INTERACTIONS = {
    "native": _native,
    "sip_out": _sip_out,
    "sip_in": _sip_in,
    "callback": _callback,
    "inbound": _inbound,
    "unanswered": _unanswered,
    "web": _web,
}
