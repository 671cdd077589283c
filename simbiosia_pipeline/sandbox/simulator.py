"""The ``Sandbox``: the simulated accounts, their clock, and the ground truth in Python.

The HTTP apps serve from this object and tests read the same object, so "what the API
serves" and "what the test expects" are one code path: ``twilio_calls``,
``conversations`` and ``conversation_summaries`` return exactly the JSON the API returns
at the current clock (decoded from the very bytes the server sends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import orjson

from simbiosia_pipeline.sandbox.clock import DAY, HOUR, Clock, to_unix
from simbiosia_pipeline.sandbox.config import SandboxConfig
from simbiosia_pipeline.sandbox.edits import ConversationEdits
from simbiosia_pipeline.sandbox.generator import HourGenerator
from simbiosia_pipeline.sandbox.ids import hour_of_call_sid, hour_of_conversation_id
from simbiosia_pipeline.sandbox.layout import DEFAULT_LAYOUT
from simbiosia_pipeline.sandbox.store import (
    FACT_CACHE_RECORDS,
    VIEW_CACHE_RECORDS,
    CallEntry,
    ConversationEntry,
    FactStore,
    ViewStore,
    cache_hours,
    hour_span,
    ordered,
)
from simbiosia_pipeline.sandbox.summary import SandboxSummary, summarize
from simbiosia_pipeline.sandbox.usage import (
    TWILIO_AS_OF_LAG,
    TWILIO_CATEGORIES,
    BillingDiscrepancies,
    elevenlabs_usage,
    twilio_usage,
)


class Sandbox:
    """A deterministic Twilio account plus ElevenLabs workspace, viewed at a settable clock."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.layout = DEFAULT_LAYOUT
        self.clock = Clock(self.config.now)
        self._history_hour = self.config.history_start_unix // HOUR
        generator = HourGenerator(
            self.config.seed,
            self.config.scale,
            self.config.history_start_unix,
            self.layout,
            zero_price_unanswered=self.config.zero_price_unanswered,
        )
        scale = self.config.scale
        # Conversations deleted or re-analysed through the API (edits.py).
        self._edits = ConversationEdits()
        self._facts = FactStore(generator, cache_hours(FACT_CACHE_RECORDS, scale))
        self._views = ViewStore(
            self._facts,
            self.config.twilio_account_sid,
            {agent.agent_id: agent.name for agent in self.layout.agents},
            cache_hours(VIEW_CACHE_RECORDS, scale),
            self.config.anomalies,
            price_unit=self.config.price_unit,
            edits=self._edits,
        )
        # Records billed differently from how they are listed (usage.py); off by default.
        self.billing = BillingDiscrepancies()

    # -- clock ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def set_now(self, value: datetime | None) -> None:
        """Fix the clock (``None``: follow the wall clock again)."""
        self.clock.set(value)

    # -- ground truth -----------------------------------------------------------------

    def twilio_calls(self, start: datetime, end: datetime) -> list[dict]:
        """Call resources whose start time (creation time if never started) is in
        ``[start, end)``, newest first, exactly as the API serves them now."""
        now = self.clock.now_unix()
        entries = self.call_entries(now, to_unix(start), to_unix(end))
        return [orjson.loads(entry.body) for entry in entries]

    def conversations(self, start: datetime, end: datetime) -> list[dict]:
        """Conversation detail bodies for conversations started in ``[start, end)`` (none for a
        conversation whose detail an anomaly makes answer 404)."""
        now = self.clock.now_unix()
        entries = self.conversation_entries(now, to_unix(start), to_unix(end))
        bodies = (self.conversation_detail(e.fact.conversation_id, now) for e in entries)
        return [orjson.loads(body) for body in bodies if body is not None]

    def conversation_summaries(self, start: datetime, end: datetime) -> list[dict]:
        """List items (``summary_mode=exclude``) for conversations started in ``[start, end)``."""
        now = self.clock.now_unix()
        entries = self.conversation_entries(now, to_unix(start), to_unix(end))
        return [orjson.loads(entry.summary) for entry in entries]

    def summary(self, start: datetime, end: datetime) -> SandboxSummary:
        now = self.clock.now_unix()
        lo, hi = to_unix(start), to_unix(end)
        first, last = self._hours(lo, hi, now)
        hours = [self._facts.hour(hour) for hour in range(first, last + 1)]
        calls = (call for facts in hours for call in facts.calls)
        conversations = (conv for facts in hours for conv in facts.conversations)
        return summarize(calls, conversations, lo, hi, now)

    # -- serving ----------------------------------------------------------------------

    def call_entries(
        self,
        now: int,
        lo: int,
        hi: int,
        *,
        descending: bool = True,
        cursor: tuple[int, str] | None = None,
        accept: Callable[[CallEntry], bool] | None = None,
    ) -> Iterator[CallEntry]:
        """Calls sorting in ``[lo, hi)`` at ``now``, in API order (or reversed)."""
        first, last = self._hours(lo, hi, now)
        accept = self._listed(accept, lambda entry: entry.fact.sid)
        return ordered(
            lambda hour: self._views.calls(hour, now).entries,
            first,
            last,
            lo,
            hi,
            descending=descending,
            cursor=cursor,
            accept=accept,
        )

    def call_entry(self, sid: str, now: int) -> CallEntry | None:
        hour = hour_of_call_sid(sid)
        if sid in self.billing.unlisted:
            return None
        if hour is None or not self._history_hour <= hour <= now // HOUR:
            return None
        return self._views.calls(hour, now).by_id.get(sid)

    def conversation_entries(
        self,
        now: int,
        lo: int,
        hi: int,
        *,
        cursor: tuple[int, str] | None = None,
        accept: Callable[[ConversationEntry], bool] | None = None,
    ) -> Iterator[ConversationEntry]:
        """Conversations started in ``[lo, hi)`` at ``now``, newest first."""
        first, last = self._hours(lo, hi, now)
        accept = self._listed(accept, lambda entry: entry.fact.conversation_id)
        return ordered(
            lambda hour: self._views.conversations(hour, now).entries,
            first,
            last,
            lo,
            hi,
            cursor=cursor,
            accept=accept,
        )

    def conversation_detail(self, conversation_id: str, now: int) -> bytes | None:
        hour = hour_of_conversation_id(conversation_id)
        if conversation_id in self.billing.unlisted:
            return None
        if hour is None or not self._history_hour <= hour <= now // HOUR:
            return None
        view = self._views.conversations(hour, now)
        entry = view.by_id.get(conversation_id)
        anomaly = self.config.anomalies.get(conversation_id)
        if entry is None or (anomaly is not None and anomaly.missing):
            return None
        return self._views.conversation_detail(view, entry, now)

    # -- what the account's owner does (edits.py) --------------------------------------

    def delete_conversation(self, conversation_id: str, now: int) -> bool:
        """``DELETE`` the conversation; False when there is none of that id to delete."""
        if self.conversation_detail(conversation_id, now) is None:
            return False
        self._edits.delete(conversation_id)
        self._views.forget_conversations(hour_of_conversation_id(conversation_id))
        return True

    def rerun_analysis(self, conversation_id: str, now: int) -> bytes | None:
        """Run the conversation's analysis again: its detail after the request (None: none)."""
        if self.conversation_detail(conversation_id, now) is None:
            return None
        hour = hour_of_conversation_id(conversation_id)
        fact = self._views.conversations(hour, now).by_id[conversation_id].fact
        self._edits.rerun_analysis(fact, now)
        self._views.forget_conversations(hour)
        return self.conversation_detail(conversation_id, now)

    # -- billing (usage.py) -------------------------------------------------------------

    def twilio_usage_records(self, first_day: int, last_day: int, now: int) -> list[dict]:
        """Usage Records, one per UTC day of ``first_day..last_day`` (midnights, unix seconds)
        and category, as Twilio's ``Daily.json`` lists them at ``now``: day ascending."""
        as_of = now - TWILIO_AS_OF_LAG
        first_day = max(first_day, self.config.history_start_unix // DAY * DAY)
        last_day = min(last_day, as_of // DAY * DAY)
        if last_day < first_day:
            return []
        first, last = self._hours(first_day, last_day + DAY, now)
        calls = (call for hour in range(first, last + 1) for call in self._facts.hour(hour).calls)
        tallies = twilio_usage(calls, as_of, self.billing)
        return [
            (day, category, tallies.get((day, category)), as_of)
            for day in range(first_day, last_day + 1, DAY)
            for category in TWILIO_CATEGORIES
        ]

    def elevenlabs_usage(self, lo: int, hi: int, now: int) -> dict[int, tuple]:
        """Credits and USD of the conversations started on each UTC day in ``[lo, hi)`` and
        final at ``now``, by day (midnight, unix seconds)."""
        first, last = self._hours(lo, hi, now)
        conversations = (
            conversation
            for hour in range(first, last + 1)
            for conversation in self._facts.hour(hour).conversations
            if lo <= conversation.started < hi
        )
        return elevenlabs_usage(conversations, now, self.billing)

    def _listed(self, accept, id_of):
        """``accept`` narrowed to the records the billing discrepancies leave listed."""
        unlisted = self.billing.unlisted
        if not unlisted:
            return accept
        if accept is None:
            return lambda entry: id_of(entry) not in unlisted
        return lambda entry: id_of(entry) not in unlisted and accept(entry)

    def _hours(self, lo: int, hi: int, now: int) -> tuple[int, int]:
        first, last = hour_span(lo, hi)
        return max(first, self._history_hour), min(last, now // HOUR)
