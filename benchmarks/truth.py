"""Ground truth checks: the warehouse holds exactly the sandbox's records of the window."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from benchmarks.workload import Workload
from simbiosia_pipeline.sandbox import Sandbox
from simbiosia_pipeline.sources.records import without_transcript


class BenchmarkError(RuntimeError):
    """A benchmark run was wrong (lost, duplicated or altered records): its time means nothing."""


@dataclass
class Truth:
    sandbox: Sandbox
    workload: Workload

    @cached_property
    def calls(self) -> dict[str, dict]:
        w = self.workload
        return {c["sid"]: c for c in self.sandbox.twilio_calls(w.start, w.end)}

    @cached_property
    def conversations(self) -> dict[str, dict]:
        w = self.workload
        return {
            d["conversation_id"]: without_transcript(d)
            for d in self.sandbox.conversations(w.start, w.end)
        }

    @cached_property
    def price_total(self) -> Decimal:
        return sum(
            (Decimal(c["price"]) for c in self.calls.values() if c["price"] is not None),
            Decimal(0),
        )

    @cached_property
    def credit_total(self) -> Decimal:
        return sum(
            (
                Decimal(str(d["metadata"]["cost"]))
                for d in self.conversations.values()
                if d["metadata"].get("cost") is not None
            ),
            Decimal(0),
        )


def check_raw_tables(conn, truth: Truth) -> int:
    """Our raw tables hold exactly the truth of the window: ids, whole payloads, sums."""
    w = truth.workload
    calls = dict(
        conn.execute(
            "SELECT sid, payload FROM raw.twilio_calls WHERE event_time >= %s AND event_time < %s",
            (w.start, w.end),
        ).fetchall()
    )
    conversations = dict(
        conn.execute(
            "SELECT conversation_id, payload FROM raw.elevenlabs_conversations"
            " WHERE start_time >= %s AND start_time < %s",
            (w.start, w.end),
        ).fetchall()
    )
    _same("Twilio calls", calls, truth.calls)
    _same("ElevenLabs conversations", conversations, truth.conversations)
    price, credits = conn.execute(
        "SELECT (SELECT coalesce(sum(price), 0) FROM raw.twilio_calls),"
        " (SELECT coalesce(sum(cost), 0) FROM raw.elevenlabs_conversations)"
    ).fetchone()
    if (price, credits) != (truth.price_total, truth.credit_total):
        raise BenchmarkError(
            f"sums differ: price {price} vs {truth.price_total}, "
            f"credits {credits} vs {truth.credit_total}"
        )
    return len(calls) + len(conversations)


def _same(what: str, stored: dict, expected: dict) -> None:
    missing = expected.keys() - stored.keys()
    extra = stored.keys() - expected.keys()
    if missing or extra:
        raise BenchmarkError(
            f"{what}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), "
            f"{len(extra)} unexpected (e.g. {sorted(extra)[:3]})"
        )
    altered = [key for key, value in expected.items() if stored[key] != value]
    if altered:
        raise BenchmarkError(f"{what}: {len(altered)} payloads differ, e.g. {altered[:3]}")
