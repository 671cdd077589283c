"""Caches of generated hours and of their rendered views, and ordered scans over windows.

Two layers, both keyed by UTC hour and bounded (LRU):

* facts: what ``HourGenerator`` produced for the hour; clock-independent, so kept until
  evicted;
* views: the hour's records serialised at a clock reading, valid until the next moment
  one of them changes (a call starts, a price lands, a conversation finishes processing).
  Old, settled hours are therefore rendered once even with a wall clock; an hour with a
  conversation in progress is re-rendered every second, because its duration grows.

Records are kept as serialised JSON (bytes): list pages are assembled by joining them,
details are served as they are, and two servers produce identical bytes.

``ordered`` merges hours into one stream sorted by ``(sort time, id)`` in either direction
without sorting the window: every record of hour ``H`` sorts in ``[H, H + SPILL)``
(the generator's contract), so after scanning hour ``H`` everything beyond the frontier is
final and can be emitted. A page therefore costs the hours it touches, not the window.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import orjson

from simbiosia_pipeline.sandbox.anomalies import Anomaly
from simbiosia_pipeline.sandbox.clock import HOUR
from simbiosia_pipeline.sandbox.edits import ConversationEdits
from simbiosia_pipeline.sandbox.facts import CallFact, ConversationFact, HourFacts
from simbiosia_pipeline.sandbox.generator import SPILL_SECONDS, HourGenerator
from simbiosia_pipeline.sandbox.render import (
    call_resource,
    conversation_detail,
    conversation_summary,
)

K = TypeVar("K")
V = TypeVar("V")
_NEVER = 1 << 62

# Cache bounds in records (~1 KB per fact, ~2 KB per rendered call), turned into hours
# for the traffic volume at hand: at scale 1.0 about 97 days of facts and 39 of views.
FACT_CACHE_RECORDS = 100_000
VIEW_CACHE_RECORDS = 40_000
RECORDS_PER_HOUR_AT_SCALE_1 = 43


def cache_hours(records: int, scale: float) -> int:
    """How many hours of ``records`` records fit, never less than two days."""
    return max(48, int(records / (RECORDS_PER_HOUR_AT_SCALE_1 * max(scale, 0.01))))


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map; values are computed outside the lock."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def get_or_make(self, key: K, make: Callable[[K], V]) -> V:
        value = self.get(key)
        if value is None:
            value = make(key)
            self.put(key, value)
        return value


@dataclass(frozen=True, slots=True)
class CallEntry:
    order: tuple[int, str]
    fact: CallFact
    body: bytes


@dataclass(frozen=True, slots=True)
class ConversationEntry:
    order: tuple[int, str]
    fact: ConversationFact
    summary: bytes


@dataclass(slots=True)
class HourView(Generic[V]):
    """An hour's entries at one clock reading, newest first, valid on [valid_from, valid_until)."""

    valid_from: int
    valid_until: int
    entries: list[V]
    by_id: dict[str, V]
    details: dict[str, bytes] = field(default_factory=dict)

    def valid_at(self, now: int) -> bool:
        return self.valid_from <= now < self.valid_until


class FactStore:
    """Generated hours (primary interactions and callbacks), cached."""

    def __init__(self, generator: HourGenerator, size: int) -> None:
        self._generator = generator
        self._primary: LruCache[int, HourFacts] = LruCache(size)
        self._hours: LruCache[int, HourFacts] = LruCache(size)

    def primary(self, hour: int) -> HourFacts:
        return self._primary.get_or_make(hour, self._generator.primary)

    def hour(self, hour: int) -> HourFacts:
        return self._hours.get_or_make(hour, self._make_hour)

    def _make_hour(self, hour: int) -> HourFacts:
        primary = self.primary(hour)
        callbacks = self._generator.callbacks(hour, self.primary)
        return HourFacts(
            hour,
            primary.calls + callbacks.calls,
            primary.conversations + callbacks.conversations,
        )


class ViewStore:
    """Rendered hours at a clock reading, cached while still valid."""

    def __init__(
        self,
        facts: FactStore,
        account_sid: str,
        agent_names: dict[str, str],
        size: int,
        anomalies: dict[str, Anomaly] | None = None,
        price_unit: str = "USD",
        edits: ConversationEdits | None = None,
    ) -> None:
        self._facts = facts
        self._edits = edits or ConversationEdits()
        self._price_unit = price_unit
        self._account_sid = account_sid
        self._agent_names = agent_names
        self._anomalies = anomalies or {}
        self._calls: LruCache[int, HourView[CallEntry]] = LruCache(size)
        self._conversations: LruCache[int, HourView[ConversationEntry]] = LruCache(size)

    def calls(self, hour: int, now: int) -> HourView[CallEntry]:
        view = self._calls.get(hour)
        if view is None or not view.valid_at(now):
            view = self._render_calls(hour, now)
            self._calls.put(hour, view)
        return view

    def conversations(self, hour: int, now: int) -> HourView[ConversationEntry]:
        view = self._conversations.get(hour)
        if view is None or not view.valid_at(now):
            view = self._render_conversations(hour, now)
            self._conversations.put(hour, view)
        return view

    def forget_conversations(self, hour: int) -> None:
        """Render the hour's conversations again on the next request (an edit changed them)."""
        self._conversations.discard(hour)

    def conversation_detail(
        self, view: HourView[ConversationEntry], entry: ConversationEntry, now: int
    ) -> bytes:
        """The detail body, rendered on first request and kept with the hour's view."""
        key = entry.fact.conversation_id
        body = view.details.get(key)
        if body is None:
            name = self._agent_names[entry.fact.agent_id]
            body = _compact_json(self._altered(key, conversation_detail(entry.fact, now, name)))
            view.details[key] = body
        return body

    def _altered(self, record_id: str, record: dict) -> dict:
        anomaly = self._anomalies.get(record_id)
        return record if anomaly is None else anomaly.apply(record)

    def _render_calls(self, hour: int, now: int) -> HourView[CallEntry]:
        facts = self._facts.hour(hour).calls
        valid_from, valid_until = _validity(facts, now)
        entries = [
            CallEntry(
                (fact.sort_key_at(now), fact.sid),
                fact,
                _compact_json(
                    self._altered(
                        fact.sid, call_resource(fact, now, self._account_sid, self._price_unit)
                    )
                ),
            )
            for fact in facts
            if fact.created <= now
        ]
        entries.sort(key=_order, reverse=True)
        by_id = {entry.fact.sid: entry for entry in entries}
        return HourView(valid_from, valid_until, entries, by_id)

    def _render_conversations(self, hour: int, now: int) -> HourView[ConversationEntry]:
        facts = self._edits.applied(self._facts.hour(hour).conversations)
        valid_from, valid_until = _validity(facts, now)
        if any(fact.started <= now < fact.ended for fact in facts):
            valid_from, valid_until = now, now + 1  # durations grow every second
        entries = [
            ConversationEntry(
                (fact.started, fact.conversation_id),
                fact,
                _compact_json(conversation_summary(fact, now, self._agent_names[fact.agent_id])),
            )
            for fact in facts
            if fact.started <= now
        ]
        entries.sort(key=_order, reverse=True)
        by_id = {entry.fact.conversation_id: entry for entry in entries}
        return HourView(valid_from, valid_until, entries, by_id)


def _compact_json(value: dict) -> bytes:
    """Serialise for caching. orjson's result keeps its whole write buffer (16 KiB and
    more) allocated; a copy holds just the bytes, which matters for thousands of records."""
    return bytes(memoryview(orjson.dumps(value)))


def _order(entry: CallEntry | ConversationEntry) -> tuple[int, str]:
    return entry.order


def _validity(
    facts: tuple[CallFact, ...] | tuple[ConversationFact, ...], now: int
) -> tuple[int, int]:
    """The span around ``now`` in which no record of ``facts`` changes."""
    valid_from, valid_until = -_NEVER, _NEVER
    for fact in facts:
        for moment in fact.transitions():
            if moment <= now:
                valid_from = max(valid_from, moment)
            else:
                valid_until = min(valid_until, moment)
    return valid_from, valid_until


def hour_span(lo: int, hi: int) -> tuple[int, int]:
    """The generation hours whose records can sort inside ``[lo, hi)``."""
    return (lo - SPILL_SECONDS) // HOUR + 1, (hi - 1) // HOUR


def ordered(
    entries_of: Callable[[int], list[V]],
    first_hour: int,
    last_hour: int,
    lo: int,
    hi: int,
    *,
    descending: bool = True,
    cursor: tuple[int, str] | None = None,
    accept: Callable[[V], bool] | None = None,
) -> Iterator[V]:
    """Entries of hours ``first_hour..last_hour`` whose sort time is in ``[lo, hi)``,
    strictly past ``cursor`` in the direction of travel, in ``(sort time, id)`` order.
    """
    if cursor is not None:
        if descending:
            last_hour = min(last_hour, cursor[0] // HOUR)
        else:
            first_hour = max(first_hour, (cursor[0] - SPILL_SECONDS) // HOUR + 1)
    hours = range(last_hour, first_hour - 1, -1) if descending else range(first_hour, last_hour + 1)
    pending: list[V] = []
    for hour in hours:
        for entry in entries_of(hour):
            key = entry.order
            if not lo <= key[0] < hi:
                continue
            if cursor is not None and (key >= cursor if descending else key <= cursor):
                continue
            if accept is None or accept(entry):
                pending.append(entry)
        if not pending:
            continue
        if descending:  # unscanned hours sort before (hour - 1) * HOUR + SPILL
            frontier = (hour - 1) * HOUR + SPILL_SECONDS
            ready = [e for e in pending if e.order[0] >= frontier]
            pending = [e for e in pending if e.order[0] < frontier]
        else:  # unscanned hours sort at or after (hour + 1) * HOUR
            frontier = (hour + 1) * HOUR
            ready = [e for e in pending if e.order[0] < frontier]
            pending = [e for e in pending if e.order[0] >= frontier]
        ready.sort(key=_order, reverse=descending)
        yield from ready
    pending.sort(key=_order, reverse=descending)
    yield from pending
