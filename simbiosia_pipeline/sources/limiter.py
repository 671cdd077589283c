"""Adaptive concurrency for the ElevenLabs fan-out (additive increase, multiplicative decrease).

ElevenLabs answers 429 ``too_many_concurrent_requests`` beyond the plan's concurrency. Each 429
halves the number of requests allowed in flight (at most once per round of in-flight requests,
so a burst of 429s from one round counts once); every ``limit`` successes in a row raise it by
one, back up to the configured ceiling when the pressure goes.
"""

from __future__ import annotations

import asyncio
from collections import deque


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

    Waiters are admitted strictly first come, first served — a freed slot is handed to the
    oldest waiter, never taken by a newcomer — so a listing request queued behind detail
    requests is not starved. (``asyncio.Semaphore`` does the same for a fixed capacity.)
    """

    def __init__(self, ceiling: int):
        self.state = AimdLimit(ceiling)
        self.in_flight = 0
        self.peak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> AdaptiveLimiter:
        if self._waiters or self.in_flight >= self.state.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # resolved by _admit_waiters, which took the slot for us
            except asyncio.CancelledError:
                if not waiter.cancelled():
                    self._release()  # admitted, then cancelled before running: hand it on
                elif waiter in self._waiters:  # (a release may have dropped it already)
                    self._waiters.remove(waiter)
                raise
        else:
            self._take_slot()
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._release()

    def succeeded(self) -> None:
        self.state.on_success()
        self._admit_waiters()  # the limit may have grown

    def throttled(self) -> None:
        self.state.on_throttle(self.in_flight)

    def _take_slot(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def _release(self) -> None:
        self.in_flight -= 1
        self._admit_waiters()

    def _admit_waiters(self) -> None:
        while self._waiters and self.in_flight < self.state.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take_slot()
                waiter.set_result(None)
