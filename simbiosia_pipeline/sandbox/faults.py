"""Fault injection: what can go wrong between the pipeline and the providers, on demand.

Every fault is off by default. Transient faults are decided by a hash of (seed, fault kind,
request fingerprint, attempt number), where the fingerprint is method + path + sorted query
and the attempt number counts how often that exact request has been seen. Consequences:

* a run is reproducible: the same requests meet the same faults, whatever the interleaving
  of concurrent requests (each fingerprint has its own counter);
* a retried request gets a fresh draw, so with any rate below 1 it eventually succeeds,
  after a number of attempts that is itself deterministic.

``missing_detail`` is different on purpose: a conversation that the list shows but whose
detail answers 404 does so permanently (hash of seed and conversation id only), as with a
record deleted between list and fetch. Replacing the fault config resets the counters.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from simbiosia_pipeline.sandbox.ids import stable_fraction

FAULT_KINDS = (
    "rate_limit",
    "error",
    "hang",
    "truncate",
    "reset",
    "duplicate",
    "cursor_expiry",
    "missing_detail",
)


@dataclass(frozen=True)
class FaultConfig:
    """Knobs for latency, concurrency limits and faults (rates are probabilities 0..1).

    * ``latency_ms`` + a deterministic ``jitter_ms`` share: added to every API request.
    * ``*_max_concurrency``: requests beyond this many in flight on that API get 429 at
      once, with ``Retry-After: retry_after_s`` unless ``retry_after`` is False.
    * ``error_rate``: 500 or 503 (half each) with the API's error body.
    * ``hang_rate``: the answer only comes after ``hang_seconds`` (or when the server stops).
    * ``truncate_rate``: 200 with the JSON body cut in half.
    * ``reset_rate``: headers and half the body, then the connection is dropped.
    * ``duplicate_rate``: a Twilio list page after the first starts with 1–3 records of the
      previous page (the page token still anchors on the page's last record).
    * ``cursor_expiry_rate``: an ElevenLabs list request with a cursor answers 400
      ``invalid_cursor``.
    * ``missing_detail_rate``: share of conversations whose detail is permanently 404.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    twilio_max_concurrency: int | None = None
    elevenlabs_max_concurrency: int | None = None
    retry_after: bool = True
    retry_after_s: int = 1
    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    truncate_rate: float = 0.0
    reset_rate: float = 0.0
    duplicate_rate: float = 0.0
    cursor_expiry_rate: float = 0.0
    missing_detail_rate: float = 0.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{item.name} must be between 0 and 1, got {value}")
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{item.name} must not be negative, got {value}")
        for name in ("twilio_max_concurrency", "elevenlabs_max_concurrency"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, got {limit}")

    @classmethod
    def from_dict(cls, data: dict) -> FaultConfig:
        """Build from JSON (``PUT /_sandbox/faults``); unknown keys are an error."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    """Holds the current fault config and counts attempts per request fingerprint."""

    def __init__(self, seed: int, config: FaultConfig | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self.config = config or FaultConfig()

    def replace(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._seen.clear()

    def attempt(self, fingerprint: str, on_fault: Callable[[str], None]) -> Attempt:
        """Draws for the next attempt of ``fingerprint``; ``on_fault`` hears each fault."""
        with self._lock:
            self._seen[fingerprint] += 1
            number = self._seen[fingerprint]
        return Attempt(self._seed, self.config, fingerprint, number, on_fault)

    def detail_missing(self, conversation_id: str) -> bool:
        rate = self.config.missing_detail_rate
        return rate > 0 and stable_fraction(self._seed, "missing_detail", conversation_id) < rate


class Attempt:
    """The fault draws of one request attempt."""

    def __init__(
        self,
        seed: int,
        config: FaultConfig,
        fingerprint: str,
        number: int,
        on_fault: Callable[[str], None],
    ) -> None:
        self.config = config
        self._key = (seed, fingerprint, number)
        self._on_fault = on_fault

    def draw(self, kind: str) -> float:
        """A uniform number in [0, 1) for ``kind``, fixed for this attempt."""
        seed, fingerprint, number = self._key
        return stable_fraction(seed, kind, fingerprint, number)

    def happens(self, kind: str) -> bool:
        """Whether fault ``kind`` strikes this attempt (reported to ``on_fault`` if so)."""
        rate = getattr(self.config, f"{kind}_rate")
        struck = rate > 0 and self.draw(kind) < rate
        if struck:
            self.report(kind)
        return struck

    def report(self, kind: str) -> None:
        """Record that fault ``kind`` shaped this attempt's answer."""
        self._on_fault(kind)

    def latency_seconds(self) -> float:
        jitter = self.config.jitter_ms * self.draw("jitter") if self.config.jitter_ms else 0.0
        return (self.config.latency_ms + jitter) / 1000
