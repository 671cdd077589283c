"""``peer_vs_ours``: the same 90-day extraction done with dlt (see ``peer_dlt_child.py``),
divided by ours; both runs are checked against the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from benchmarks.infra import Requests, run_child, scratch_database
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError
from simbiosia_pipeline.sandbox import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)
from simbiosia_pipeline.sources.windows import unix_seconds

SCHEMA = "dlt_peer"


@dataclass
class PeerRun:
    seconds: float
    requests: Requests
    peak_rss_mb: float


def once(bench) -> PeerRun:
    w = bench.workload
    with scratch_database("simbiosia_bench_dlt") as url:
        bench.sandbox.reset_stats()
        outcome = run_child(
            "benchmarks.peer_dlt_child",
            {
                "base_url": bench.sandbox.url,
                "api_key": DEFAULT_ELEVENLABS_API_KEY,
                "account_sid": DEFAULT_TWILIO_ACCOUNT_SID,
                "auth_token": DEFAULT_TWILIO_AUTH_TOKEN,
                "start_unix": unix_seconds(w.start),
                "end_unix": unix_seconds(w.end),
                "start_date": w.start.date().isoformat(),
                "end_date": w.end.date().isoformat(),
                "database_url": url,
                "schema": SCHEMA,
                "workers": w.elevenlabs_limit,
            },
        )
        requests = Requests.from_stats(bench.sandbox.stats())
        with psycopg.connect(url) as conn:
            _check(conn, bench.truth)
    return PeerRun(outcome["seconds"], requests, outcome["peak_rss_mb"])


def _check(conn, truth) -> None:
    sids = {r[0] for r in conn.execute(f"SELECT sid FROM {SCHEMA}.twilio_calls")}
    conversation_ids = [
        r[0] for r in conn.execute(f"SELECT conversation_id FROM {SCHEMA}.conversations")
    ]
    if sids != truth.calls.keys():
        raise BenchmarkError(
            f"dlt: {len(truth.calls.keys() - sids)} Twilio calls missing, "
            f"{len(sids - truth.calls.keys())} unexpected"
        )
    if len(conversation_ids) != len(set(conversation_ids)) or set(conversation_ids) != set(
        truth.conversations
    ):
        raise BenchmarkError(
            f"dlt: {len(conversation_ids)} conversation rows for {len(truth.conversations)} "
            "conversations of the window"
        )
    price, credits = conn.execute(
        f"SELECT (SELECT coalesce(sum(price), 0) FROM {SCHEMA}.twilio_calls),"
        f" (SELECT coalesce(sum((metadata->>'cost')::numeric), 0) FROM {SCHEMA}.conversations)"
    ).fetchone()
    if Decimal(price) != truth.price_total or Decimal(credits) != truth.credit_total:
        raise BenchmarkError(
            f"dlt sums differ: price {price} vs {truth.price_total}, credits {credits} vs "
            f"{truth.credit_total}"
        )


def result(bench, ours, peers: list[PeerRun]) -> Result:
    from benchmarks.infra import median

    ratios = [peer.seconds / mine.seconds for mine, peer in zip(ours, peers, strict=True)]
    return Result.judged(
        "peer_vs_ours",
        median(ratios),
        "x ours",
        ">=",
        2,
        dlt_seconds=[round(p.seconds, 2) for p in peers],
        ours_seconds=[round(o.seconds, 2) for o in ours],
        dlt_requests=[p.requests.elevenlabs_total + p.requests.twilio_total for p in peers],
        dlt_throttled=[p.requests.throttled for p in peers],
        dlt_peak_rss_mb=[round(p.peak_rss_mb) for p in peers],
        dlt_version=_dlt_version(),
        checked="ids of every call and conversation, price and credit totals",
    )


def _dlt_version() -> str:
    from importlib.metadata import version

    return version("dlt")
