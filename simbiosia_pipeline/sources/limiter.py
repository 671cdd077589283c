"""Adaptive concurrency for the ElevenLabs fan-out (additive increase, multiplicative decrease).

ElevenLabs answers 429 ``too_many_concurrent_requests`` beyond the plan's concurrency. Each 429
halves the number of requests allowed in flight (at most once per round of in-flight requests,
so a burst of 429s from one round counts once); every ``limit`` successes in a row raise it by
one, back up to the configured ceiling when the pressure goes.
"""

from __future__ import annotations

import asyncio


class AimdLimit:
    """The pure bookkeeping: what the limit is after each success or throttle."""

    def __init__(self, ceiling: int):
        if ceiling < 1:
            raise ValueError("concurrency ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest = ceiling
        self._successes = 0
        self._ignore_throttles = 0  # responses still in flight from before the last decrease

    def on_success(self) -> None:
        self._ignore_throttles = max(0, self._ignore_throttles - 1)
        if self.limit >= self.ceiling:
            return  # the common case, kept cheap: nothing to raise
        self._successes += 1
        if self._successes >= self.limit:
            self.limit += 1
            self._successes = 0

    def on_throttle(self, in_flight: int) -> None:
        self._successes = 0
        if self._ignore_throttles > 0:
            self._ignore_throttles -= 1
            return
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self._ignore_throttles = max(0, in_flight - 1)


class AdaptiveLimiter:
    """A gate shared by the tasks of one event loop that admits at most ``AimdLimit.limit``
    concurrent holders.

    Waiters are admitted first come, first served (``asyncio.Condition`` wakes the oldest), so a
    listing request queued behind detail requests is not starved.
    """

    def __init__(self, ceiling: int):
        self.state = AimdLimit(ceiling)
        self.in_flight = 0
        self.peak = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> AdaptiveLimiter:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.state.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, *exc_info) -> None:
        async with self._changed:
            self.in_flight -= 1
            # One slot freed, and more if successes raised the limit meanwhile.
            self._changed.notify(max(1, self.state.limit - self.in_flight))

    def succeeded(self) -> None:
        self.state.on_success()

    def throttled(self) -> None:
        self.state.on_throttle(self.in_flight)
