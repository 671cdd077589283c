"""Who owns which phone number and which agent: the customer layout the sandbox simulates.

It reproduces the old system's curated mapping (seed-system.md §1.1): workspace 4
"Workspace Principal" with 13 numbers, 5 "Workspace Secundario" with 3, 6 "Workspace USA"
with 1, and 1 "Otros Números", the catch-all that owns nothing. On top of that it adds what
a real operation has and the old mapping missed, so the pipeline's attribution is exercised:

* ``+34881193139`` moves from workspace 4 to workspace 5 on 2025-10-01 (validity periods
  are half-open UTC dates: ``valid_from`` inclusive, ``valid_to`` exclusive);
* three numbers owned by no workspace but dialled from by some agents, so their traffic
  must end in the catch-all; one of them (``CALLBACK_SIP_NUMBER``) receives SIP callbacks
  from leads that an owned number called shortly before;
* a web-widget agent of workspace 5 whose conversations have no phone call at all, which
  is why that agent id is listed under its workspace.

The same layout ships as ``workspaces.yaml`` (the pipeline's attribution input);
``layout_document()`` is its exact content, and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

CATCH_ALL_WORKSPACE_ID = 1
SIP_DOMAIN = "public-vip.ie1.twilio.com"
ELEVENLABS_USD_PER_CREDIT = (("2025-01-01", Decimal("0.00007525404654")),)


@dataclass(frozen=True)
class PhoneAssignment:
    """A number owned by a workspace during ``[valid_from, valid_to)`` (UTC dates, open ends)."""

    number: str
    primary: bool = False
    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to
        )


@dataclass(frozen=True)
class Budgets:
    daily_usd: Decimal
    monthly_usd: Decimal


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    phones: tuple[PhoneAssignment, ...] = ()
    phoneless_agents: tuple[str, ...] = ()
    budgets: Budgets | None = None
    transfer_numbers: tuple[str, ...] = ()
    """Human operators' lines that AI calls are transferred to (Twilio ``outbound-dial`` legs)."""


@dataclass(frozen=True)
class Agent:
    """An ElevenLabs agent and the traffic it produces.

    ``numbers`` are the caller ids the agent may use, each with a relative weight; an owned
    number is only used while its workspace owns it. ``share`` is the agent's part of all
    phone traffic (phone agents) or of all web traffic (web agents).
    """

    agent_id: str
    name: str
    workspace_id: int
    channel: str  # "phone" or "web"
    share: float
    timezone: str = "Europe/Madrid"
    language: str = "es"
    llm_model: str = "gemini-2.5-flash"
    numbers: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Layout:
    catch_all_workspace: int
    workspaces: tuple[Workspace, ...]
    agents: tuple[Agent, ...]
    unowned_numbers: tuple[str, ...]
    callback_sip_number: str
    trunk_sid: str

    def owner(self, number: str, day: date) -> int | None:
        """The workspace that owns ``number`` on ``day``, or None (traffic goes to catch-all)."""
        for workspace in self.workspaces:
            for phone in workspace.phones:
                if phone.number == number and phone.covers(day):
                    return workspace.id
        return None

    def workspace(self, workspace_id: int) -> Workspace:
        return next(w for w in self.workspaces if w.id == workspace_id)

    def agent(self, agent_id: str) -> Agent:
        return next(a for a in self.agents if a.agent_id == agent_id)

    def caller_ids(self, agent: Agent, at: int) -> tuple[tuple[str, float], ...]:
        """The numbers ``agent`` may dial from at unix time ``at``."""
        day = datetime.fromtimestamp(at, UTC).date()
        return tuple(
            (number, weight)
            for number, weight in agent.numbers
            if number in self.unowned_numbers or self.owner(number, day) == agent.workspace_id
        )


def _phones(*numbers: str, primary: str) -> tuple[PhoneAssignment, ...]:
    return tuple(PhoneAssignment(n, primary=n == primary) for n in numbers)


MOVING_NUMBER = "+34881193139"
MOVE_DAY = date(2025, 10, 1)

DEFAULT_LAYOUT = Layout(
    catch_all_workspace=CATCH_ALL_WORKSPACE_ID,
    workspaces=(
        Workspace(id=1, name="Otros Números"),
        Workspace(
            id=4,
            name="Workspace Principal",
            phones=(
                PhoneAssignment(MOVING_NUMBER, valid_from=date(2025, 8, 1), valid_to=MOVE_DAY),
                *_phones(
                    "+34930349258",
                    "+34930349294",
                    "+34930341942",
                    "+34930343536",
                    "+34911674282",
                    "+34911676271",
                    "+34911679636",
                    "+34911679868",
                    "+34881198794",
                    "+34930341062",
                    "+34930340228",
                    "+34911677759",
                    primary="+34930340228",
                ),
            ),
            budgets=Budgets(daily_usd=Decimal("50"), monthly_usd=Decimal("1200")),
            transfer_numbers=("+34930300100", "+34930300101", "+34930300102"),
        ),
        Workspace(
            id=5,
            name="Workspace Secundario",
            phones=(
                *_phones("+34911677200", "+34911670356", "+34930347962", primary="+34911677200"),
                PhoneAssignment(MOVING_NUMBER, valid_from=MOVE_DAY),
            ),
            phoneless_agents=("agent_5103ka913ewoqvwh6uqiyhitc1",),
            budgets=Budgets(daily_usd=Decimal("20"), monthly_usd=Decimal("500")),
            transfer_numbers=("+34911600200",),
        ),
        Workspace(
            id=6,
            name="Workspace USA",
            phones=_phones("+13527475264", primary="+13527475264"),
            transfer_numbers=("+13527400100",),
        ),
    ),
    agents=(
        Agent(
            "agent_4101kgkcfc7iuzf9zw0h1vbcwo",
            "Captación ES",
            workspace_id=4,
            channel="phone",
            share=0.34,
            numbers=(
                ("+34930340228", 1.0),
                ("+34930349258", 1.0),
                ("+34930349294", 1.0),
                ("+34930341942", 1.0),
                ("+34930343536", 1.0),
                (MOVING_NUMBER, 1.0),
                ("+34930345511", 0.3),
            ),
        ),
        Agent(
            "agent_4102kblk75zgyudec45czsy46d",
            "Recobros ES",
            workspace_id=4,
            channel="phone",
            share=0.26,
            numbers=(
                ("+34911674282", 1.0),
                ("+34911676271", 1.0),
                ("+34911679636", 1.0),
                ("+34911679868", 1.0),
                ("+34881198794", 1.0),
                ("+34930341062", 1.0),
                ("+34911677759", 1.0),
            ),
        ),
        Agent(
            "agent_4103kl56t5y6hsz7mx3pxfeup8",
            "Recepción ES",
            workspace_id=4,
            channel="phone",
            share=0.08,
            llm_model="claude-haiku-4-5",
            numbers=(("+34930340228", 1.0), ("+34911679868", 1.0)),
        ),
        Agent(
            "agent_5101ko023v2mr7gwv3u69jx51v",
            "Ventas Secundario",
            workspace_id=5,
            channel="phone",
            share=0.165,
            numbers=(("+34911677200", 1.0), ("+34911670356", 1.0), (MOVING_NUMBER, 1.0)),
        ),
        Agent(
            "agent_5102kmq03u910f5t7ou68fgd5a",
            "Soporte Secundario",
            workspace_id=5,
            channel="phone",
            share=0.085,
            llm_model="claude-haiku-4-5",
            numbers=(("+34930347962", 1.0), ("+34911677200", 0.5), ("+34911672245", 0.3)),
        ),
        Agent(
            "agent_5103ka913ewoqvwh6uqiyhitc1",
            "Asistente web",
            workspace_id=5,
            channel="web",
            share=1.0,
        ),
        Agent(
            "agent_6101kv4219056wd5ra6oitvypc",
            "US Outbound",
            workspace_id=6,
            channel="phone",
            share=0.07,
            timezone="America/New_York",
            language="en",
            llm_model="gpt-4o-mini",
            numbers=(("+13527475264", 1.0), ("+13527479010", 0.3)),
        ),
    ),
    unowned_numbers=("+34930345511", "+34911672245", "+13527479010"),
    callback_sip_number="+34911672245",
    trunk_sid="TK7c1d4e9a2b3f4a5b6c7d8e9f0a1b2c3d",
)


def layout_document(layout: Layout = DEFAULT_LAYOUT) -> dict:
    """The layout in the pipeline's ``workspaces.yaml`` format (what the shipped file holds)."""
    workspaces = []
    for workspace in layout.workspaces:
        entry: dict = {"id": workspace.id, "name": workspace.name}
        if workspace.budgets is not None:
            entry["budgets"] = {
                "daily_usd": str(workspace.budgets.daily_usd),
                "monthly_usd": str(workspace.budgets.monthly_usd),
            }
        if workspace.phoneless_agents:
            entry["agents"] = list(workspace.phoneless_agents)
        if workspace.phones:
            entry["phones"] = [_phone_document(phone) for phone in workspace.phones]
        workspaces.append(entry)
    return {
        "catch_all_workspace": layout.catch_all_workspace,
        "pricing": {
            "elevenlabs_usd_per_credit": [
                {"valid_from": valid_from, "rate": str(rate)}
                for valid_from, rate in ELEVENLABS_USD_PER_CREDIT
            ]
        },
        "workspaces": workspaces,
    }


def _phone_document(phone: PhoneAssignment) -> dict:
    entry: dict = {"number": phone.number}
    if phone.primary:
        entry["primary"] = True
    if phone.valid_from is not None:
        entry["valid_from"] = phone.valid_from.isoformat()
    if phone.valid_to is not None:
        entry["valid_to"] = phone.valid_to.isoformat()
    return entry
