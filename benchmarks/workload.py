"""The workloads: the issue's "seed-scale" and "10×", and tiny ones for the CI smoke test."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Workload:
    name: str
    start: datetime  # first hour ingested
    days: int
    now: datetime  # the sandbox's fixed clock
    seed: int = 7
    scale: float = 1.0
    latency_ms: float = 20.0
    elevenlabs_limit: int = 10  # the API's concurrency limit (429 with Retry-After beyond)
    twilio_limit: int = 10
    repeats: int = 3
    # seed_strategy_vs_ours: conversations of the sample fetched the old way, then extrapolated
    seed_sample: int = 50
    # hour_refresh_flatness: raw rows of history (calls + conversations), small vs large
    history_rows: tuple[int, int] = (10_000, 5_000_000)
    # snapshot_query_speedup: conversations in the warehouse
    query_conversations: int = 1_000_000
    smoke: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def latency_s(self) -> float:
        return self.latency_ms / 1000

    def with_(self, **changes) -> Workload:
        return replace(self, **changes)


# 90 days at scale 1.0: ~58k Twilio calls, ~34k ElevenLabs conversations (the old system's load).
SEED_SCALE = Workload(
    name="seed-scale",
    start=datetime(2025, 8, 1, tzinfo=UTC),
    days=90,
    now=datetime(2025, 11, 1, 6, tzinfo=UTC),
)

# Ten times today's traffic over 30 days, at the same latency and limits: ~195k Twilio calls,
# ~114k ElevenLabs conversations (``ingest_vs_bound_10x``). One repetition: a run takes minutes.
TEN_X = Workload(
    name="10x",
    start=datetime(2025, 10, 1, tzinfo=UTC),
    days=30,
    now=SEED_SCALE.now,
    scale=10.0,
    repeats=1,
)

# Every benchmark end to end in well under a minute: correctness of the harness, no targets.
SMOKE = Workload(
    name="smoke",
    start=datetime(2025, 10, 6, tzinfo=UTC),
    days=1,
    now=datetime(2025, 10, 9, 6, tzinfo=UTC),
    scale=0.1,
    latency_ms=2.0,
    repeats=1,
    seed_sample=10,
    history_rows=(2_000, 6_000),
    query_conversations=5_000,
    smoke=True,
)


def ten_times(workload: Workload) -> Workload:
    """The 10× counterpart of a workload: "10×" itself, or for the smoke test the tiny workload
    at ten times its traffic."""
    if workload.smoke:
        return workload.with_(name="smoke-10x", scale=workload.scale * 10)
    return TEN_X
