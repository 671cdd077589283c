"""Pure pieces of the fetchers: window arithmetic, backoff, Retry-After, the adaptive limit."""

import asyncio
import itertools
import random
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestFailedError,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    parse_retry_after,
)
from simbiosia_pipeline.sources.limiter import AdaptiveLimiter, AimdLimit
from simbiosia_pipeline.sources.windows import Window

T0 = datetime(2025, 10, 1, 22, tzinfo=UTC)


def test_window_days_and_split_cross_midnight():
    window = Window(T0, T0 + timedelta(hours=27))  # 22:00 day 1 .. 01:00 day 3
    assert window.days() == [date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)]
    pieces = list(window.split_by_day())
    assert [(p.start.hour, p.end.hour) for p in pieces] == [(22, 0), (0, 0), (0, 1)]
    assert window.hours == 27


@given(st.integers(min_value=0, max_value=24 * 400), st.integers(min_value=1, max_value=24 * 60))
def test_split_by_day_tiles_the_window(offset_hours, length_hours):
    start = datetime(2025, 8, 1, tzinfo=UTC) + timedelta(hours=offset_hours)
    window = Window(start, start + timedelta(hours=length_hours))
    pieces = list(window.split_by_day())
    assert pieces[0].start == window.start and pieces[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    assert len(pieces) == len(window.days())


def test_window_rejects_naive_and_empty_bounds():
    with pytest.raises(ValueError):
        Window(datetime(2025, 1, 1), datetime(2025, 1, 2))
    with pytest.raises(ValueError):
        Window(T0, T0)


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Mon, 05 Jan 2026 10:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@given(st.integers(min_value=1, max_value=20), st.floats(min_value=0, max_value=100))
def test_backoff_honours_retry_after_and_stays_bounded(attempt, retry_after):
    policy = BackoffPolicy(base_delay=0.5, max_delay=30)
    delay = policy.delay(attempt, retry_after, random.Random(1))
    assert min(retry_after, 30) <= delay <= 30


def test_transient_failures_are_retried_until_success():
    answers = iter([TransientResponseError("HTTP 429", 0, True), httpx.ReadTimeout("slow"), "ok"])
    stats = RequestStats()
    slept = []

    def attempt():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = call_with_retries(
        attempt, what="test", policy=BackoffPolicy(), stats=stats, sleep=slept.append
    )
    assert result == "ok"
    assert stats.as_metadata() == {"requests": 3, "retries": 2, "throttled_429": 1}
    assert len(slept) == 2


def test_a_fault_that_never_clears_fails_naming_the_cause():
    def attempt():
        raise TransientResponseError("HTTP 503")

    with pytest.raises(RequestFailedError, match="still failing after 3 attempts.*HTTP 503"):
        call_with_retries(
            attempt,
            what="Twilio GET /Calls.json",
            policy=BackoffPolicy(max_attempts=3),
            stats=RequestStats(),
            sleep=lambda _: None,
        )


def test_aimd_halves_on_throttling_once_per_round_and_recovers():
    limit = AimdLimit(ceiling=8)
    limit.on_throttle(in_flight=8)
    assert limit.limit == 4
    for _ in range(7):  # the rest of the same round of in-flight requests
        limit.on_throttle(in_flight=4)
    assert limit.limit == 4
    limit.on_throttle(in_flight=4)
    assert limit.limit == 2 and limit.lowest == 2
    for _ in range(200):
        limit.on_success()
    assert limit.limit == 8


def test_the_limiter_admits_in_arrival_order_and_never_beyond_its_limit():
    async def scenario() -> tuple[list[int], list[int], int]:
        limiter = AdaptiveLimiter(ceiling=4)
        admitted: list[int] = []
        over_limit: list[int] = []

        async def request(number: int) -> None:
            async with limiter:
                admitted.append(number)
                if limiter.in_flight > limiter.state.limit:
                    over_limit.append(number)
                await asyncio.sleep(0.001)
                if number == 2:
                    limiter.throttled()  # a 429 while 4 are in flight: the limit halves

        await asyncio.gather(*(request(n) for n in range(20)))
        return admitted, over_limit, limiter.peak, limiter.state.lowest

    admitted, over_limit, peak, lowest = asyncio.run(scenario())
    assert admitted == list(range(20))
    assert over_limit == [] and peak == 4
    assert lowest == 2  # the halved limit was in force for some admissions


@pytest.mark.parametrize("slot_freed_before_it_runs", [False, True])
def test_a_cancelled_waiter_leaves_no_slot_taken(slot_freed_before_it_runs):
    async def scenario() -> list:
        limiter = AdaptiveLimiter(ceiling=1)
        await limiter.__aenter__()
        queued = asyncio.create_task(limiter.__aenter__())
        await asyncio.sleep(0)
        queued.cancel()  # e.g. a lister cancelled because another one failed
        if slot_freed_before_it_runs:
            await limiter.__aexit__()  # the release meets the cancelled waiter first
            outcomes = await asyncio.gather(queued, return_exceptions=True)
        else:
            outcomes = await asyncio.gather(queued, return_exceptions=True)
            await limiter.__aexit__()
        async with limiter:  # would wait forever if the cancelled waiter kept a slot
            return [type(o).__name__ for o in outcomes] + [limiter.in_flight]

    outcome = asyncio.run(asyncio.wait_for(scenario(), timeout=5))
    assert outcome == ["CancelledError", 1]


def test_a_backfill_and_the_routine_runs_share_the_budget_without_exceeding_it():
    from simbiosia_pipeline.sources.resources import split_concurrency

    assert split_concurrency(10, 2, bulk=True) + split_concurrency(10, 2, bulk=False) == 10
    assert split_concurrency(2, 2, bulk=True) == 2
