"""A cheap digest of what the sandbox holds in a window, computed from facts (no JSON).

``make run`` prints it next to the pipeline's own totals, so a reader can check at a
glance that the warehouse received what the APIs served.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from simbiosia_pipeline.sandbox.clock import from_unix, iso_z
from simbiosia_pipeline.sandbox.facts import CallFact, ConversationFact


@dataclass(frozen=True)
class SandboxSummary:
    """Counts and money in ``[start, end)`` as the APIs show them at ``now``.

    ``twilio_cost_usd`` is the sum of the ``price`` of priced calls, sign flipped (Twilio
    prices are negative), in the account's currency; ``elevenlabs_credits`` sums
    ``metadata.cost`` of conversations already final. Calls whose price is still pending
    (not unanswered calls, which Twilio never prices) and conversations not yet final are
    counted in ``twilio_unpriced`` / ``conversations_unsettled``.
    """

    start: datetime
    end: datetime
    now: datetime
    twilio_calls: int
    twilio_by_direction: dict[str, int]
    twilio_by_status: dict[str, int]
    twilio_unpriced: int
    twilio_cost_usd: Decimal
    conversations: int
    conversations_by_status: dict[str, int]
    conversations_by_type: dict[str, int]
    conversations_unsettled: int
    elevenlabs_credits: int

    def lines(self) -> list[str]:
        def counts(counter: dict[str, int]) -> str:
            return ", ".join(f"{key} {value}" for key, value in counter.items()) or "none"

        return [
            f"Sandbox from {iso_z(self.start)} to {iso_z(self.end)} (clock {iso_z(self.now)})",
            f"Twilio calls: {self.twilio_calls}  cost USD {self.twilio_cost_usd}"
            f"  (price pending on {self.twilio_unpriced})",
            f"  by direction: {counts(self.twilio_by_direction)}",
            f"  by status: {counts(self.twilio_by_status)}",
            f"ElevenLabs conversations: {self.conversations}  credits {self.elevenlabs_credits}"
            f"  (not final: {self.conversations_unsettled})",
            f"  by status: {counts(self.conversations_by_status)}",
            f"  by phone_call.type: {counts(self.conversations_by_type)}",
        ]


def summarize(
    calls: Iterable[CallFact],
    conversations: Iterable[ConversationFact],
    start: int,
    end: int,
    now: int,
) -> SandboxSummary:
    """Digest the facts of the hours spanning ``[start, end)``, at clock ``now``."""
    directions: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    unpriced, cost = 0, Decimal("0")
    for call in calls:
        if call.created > now or not start <= call.sort_key_at(now) < end:
            continue
        directions[call.direction] += 1
        statuses[call.status_at(now)] += 1
        if call.priced is not None and now >= call.priced:
            cost -= call.price
        elif call.priced is not None or now < call.ended:
            unpriced += 1  # not an unanswered call, which is never priced and settled at 0
    conv_statuses: Counter[str] = Counter()
    types: Counter[str] = Counter()
    unsettled, credits = 0, 0
    for conv in conversations:
        if not start <= conv.started < end or conv.started > now:
            continue
        status = conv.status_at(now)
        conv_statuses[status] += 1
        types["none" if conv.phone is None else conv.phone.kind] += 1
        if status in ("done", "failed"):
            credits += conv.charging.cost
        else:
            unsettled += 1
    return SandboxSummary(
        start=from_unix(start),
        end=from_unix(end),
        now=from_unix(now),
        twilio_calls=sum(directions.values()),
        twilio_by_direction=dict(sorted(directions.items())),
        twilio_by_status=dict(sorted(statuses.items())),
        twilio_unpriced=unpriced,
        twilio_cost_usd=cost,
        conversations=sum(conv_statuses.values()),
        conversations_by_status=dict(sorted(conv_statuses.items())),
        conversations_by_type=dict(sorted(types.items())),
        conversations_unsettled=unsettled,
        elevenlabs_credits=credits,
    )
