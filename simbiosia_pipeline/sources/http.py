"""Retries for both APIs: rate limits are a budget, not an error.

429s, 5xx answers, timeouts, dropped connections and bodies that are not valid JSON are
transient: the request is retried with exponential backoff and full jitter, and a server's
``Retry-After`` is honoured when it is longer. Anything else — and a transient fault that outlasts
the retry budget — raises, so a record that cannot be fetched fails the run instead of vanishing.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class BackoffPolicy:
    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = rng.uniform(0, ceiling)  # "full jitter": spreads retries of concurrent workers
        if retry_after is not None:
            return max(min(retry_after, self.max_delay), jittered)
        return jittered


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class TransientResponseError(Exception):
    """A response that is worth retrying (status or malformed body)."""

    def __init__(self, description: str, retry_after: float | None = None, throttled: bool = False):
        super().__init__(description)
        self.retry_after = retry_after
        self.throttled = throttled


class RequestFailedError(RuntimeError):
    """A request that failed for good: a permanent error, or a transient one past the budget."""


@dataclass
class RequestStats:
    """Counters of one fetch, reported as asset metadata. Safe to share between threads."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, throttled: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.throttled += throttled

    def as_metadata(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": self.retries, "throttled_429": self.throttled}


def check_response(response: httpx.Response) -> httpx.Response:
    """Raise ``TransientResponseError`` for a retryable status; return the response otherwise."""
    raise_if_retryable(response.status_code, response.headers.get("retry-after"))
    return response


def raise_if_retryable(status: int, retry_after: str | None) -> None:
    """Raise ``TransientResponseError`` when ``status`` is worth retrying."""
    if status in RETRYABLE_STATUSES:
        raise TransientResponseError(
            f"HTTP {status}", retry_after=parse_retry_after(retry_after), throttled=status == 429
        )


_TRANSIENT_EXCEPTIONS = (TransientResponseError, httpx.TimeoutException, httpx.TransportError)


def call_with_retries(
    attempt: Callable[[], T],
    *,
    what: str,
    policy: BackoffPolicy,
    stats: RequestStats,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_throttled: Callable[[], None] | None = None,
) -> T:
    """Run ``attempt`` (one request + parsing) until it succeeds or the budget is spent;
    ``on_throttled`` lets a limiter back off when the answer was a 429."""
    rng = rng or random.Random()
    for number in range(1, policy.max_attempts + 1):
        stats.add(requests=1)
        try:
            return attempt()
        except _TRANSIENT_EXCEPTIONS as exc:
            _give_up_if_spent(exc, number, what, policy)
            if on_throttled and getattr(exc, "throttled", False):
                on_throttled()
            sleep(_wait(exc, number, policy, rng, stats))
    raise AssertionError("unreachable")


async def acall_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    policy: BackoffPolicy,
    stats: RequestStats,
    rng: random.Random | None = None,
    on_throttled: Callable[[], None] | None = None,
) -> T:
    """The asyncio twin of ``call_with_retries``; ``on_throttled`` lets a limiter back off."""
    rng = rng or random.Random()
    for number in range(1, policy.max_attempts + 1):
        stats.add(requests=1)
        try:
            return await attempt()
        except _TRANSIENT_EXCEPTIONS as exc:
            _give_up_if_spent(exc, number, what, policy)
            if on_throttled and getattr(exc, "throttled", False):
                on_throttled()
            await asyncio.sleep(_wait(exc, number, policy, rng, stats))
    raise AssertionError("unreachable")


def _give_up_if_spent(exc: Exception, number: int, what: str, policy: BackoffPolicy) -> None:
    if number >= policy.max_attempts:
        raise RequestFailedError(
            f"{what}: still failing after {number} attempts ({describe(exc)})"
        ) from exc


def _wait(exc, number: int, policy: BackoffPolicy, rng: random.Random, stats: RequestStats):
    throttled = getattr(exc, "throttled", False)
    stats.add(retries=1, throttled=1 if throttled else 0)
    return policy.delay(number, getattr(exc, "retry_after", None), rng)


def describe(exc: BaseException) -> str:
    """A one-line cause that never includes request headers (where the credentials travel)."""
    if isinstance(exc, TransientResponseError):
        return str(exc)
    return type(exc).__name__
