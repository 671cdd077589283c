"""``seed_strategy_vs_ours``: the old system's ElevenLabs sync (``seed-system.md`` §5.2) on a
sample of the workload, extrapolated to the whole, against our ingestion of item 1.

The old strategy: list sequentially (100 per page), then fetch details five at a time in
parallel with a one-second pause between batches, saving each batch row by row. Timing all
34k conversations that way would take hours, so a sample of ``seed_sample`` conversations is
timed and the two phases extrapolated: seconds per page × pages of the window, seconds per
conversation × conversations of the window. Its Twilio resync (a separate endpoint, minutes)
is left out, which only flatters the old system.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import psycopg

from benchmarks.infra import median, scratch_database
from benchmarks.report import Result
from benchmarks.truth import BenchmarkError
from simbiosia_pipeline.sandbox import DEFAULT_ELEVENLABS_API_KEY
from simbiosia_pipeline.sources.windows import unix_seconds

BATCH = 5
PAUSE_S = 1.0
PAGE_SIZE = 100


def run(bench) -> list[Result]:
    w = bench.workload
    total = len(bench.truth.conversations)
    pages_total = max(1, math.ceil(total / PAGE_SIZE))
    estimates, samples = [], []
    with scratch_database() as url, psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE elevenlabs_conversations (id text PRIMARY KEY, cost numeric, data jsonb)"
        )
        for repetition in range(w.repeats):
            sample = _sample(bench, db)
            seconds = sample["per_page"] * pages_total + sample["per_detail"] * total
            estimates.append(seconds)
            samples.append(sample)
            bench.log(
                f"seed strategy #{repetition + 1}: {sample['per_detail'] * 1000:.0f} ms per "
                f"conversation, {sample['per_page'] * 1000:.0f} ms per page → "
                f"{seconds / 3600:.2f} h for {total} conversations"
            )
    seed_seconds = median(estimates)
    return [
        Result.judged(
            "seed_strategy_vs_ours",
            seed_seconds / bench.ours_seconds,
            "x ours",
            ">=",
            None,
            seed_seconds_extrapolated=round(seed_seconds, 1),
            ours_seconds=round(bench.ours_seconds, 2),
            sample_conversations=w.seed_sample,
            conversations=total,
            list_pages=pages_total,
            samples=samples,
        )
    ]


def _sample(bench, db) -> dict:
    w = bench.workload
    client = httpx.Client(
        base_url=bench.sandbox.url,
        headers={"xi-api-key": DEFAULT_ELEVENLABS_API_KEY},
        timeout=10.0,  # the old code's per-detail timeout
    )
    with client, ThreadPoolExecutor(max_workers=BATCH) as pool:
        ids, cursor, pages = [], None, 0
        began = time.perf_counter()
        while len(ids) < w.seed_sample:  # sequential listing, one page after the other
            params = {
                "page_size": PAGE_SIZE,
                "call_start_after_unix": unix_seconds(w.start),
                "call_start_before_unix": unix_seconds(w.end),
                **({"cursor": cursor} if cursor else {}),
            }
            page = client.get("/v1/convai/conversations", params=params).raise_for_status().json()
            pages += 1
            ids += [c["conversation_id"] for c in page["conversations"]]
            cursor = page.get("next_cursor")
            if not page.get("has_more"):
                break
        listing = time.perf_counter() - began
        ids = ids[: w.seed_sample]

        def fetch(conversation_id: str) -> dict:
            response = client.get(f"/v1/convai/conversations/{conversation_id}")
            return response.raise_for_status().json()

        began = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            details = list(pool.map(fetch, ids[start : start + BATCH]))
            for detail in details:  # "each batch is saved right away, one by one"
                db.execute(
                    "INSERT INTO elevenlabs_conversations VALUES (%s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET cost = excluded.cost, data = excluded.data",
                    (
                        detail["conversation_id"],
                        detail["metadata"].get("cost"),
                        orjson.dumps(detail).decode(),
                    ),
                )
            if start + BATCH < len(ids):
                time.sleep(PAUSE_S)
        detailing = time.perf_counter() - began
    stored = db.execute("SELECT count(*) FROM elevenlabs_conversations").fetchone()[0]
    if stored < len(ids) or any(i not in bench.truth.conversations for i in ids):
        raise BenchmarkError("the old strategy's sample does not match the ground truth")
    return {
        "per_page": listing / pages,
        "per_detail": detailing / len(ids),
        "pages": pages,
        "conversations": len(ids),
    }
