"""Adaptive concurrency for the ElevenLabs fan-out (additive increase, multiplicative decrease).

ElevenLabs answers 429 ``too_many_concurrent_requests`` beyond the plan's concurrency. Each 429
halves the number of requests allowed in flight (at most once per round of in-flight requests,
so a burst of 429s from one round counts once); every ``limit`` successes in a row raise it by
one, back up to the configured ceiling when the pressure goes.
"""

from __future__ import annotations

import threading


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
    """A gate shared by threads that admits at most ``AimdLimit.limit`` concurrent holders.

    Waiters are admitted first come, first served (``Condition.notify`` wakes the oldest), so a
    listing request queued behind detail requests is not starved.
    """

    def __init__(self, ceiling: int):
        self.state = AimdLimit(ceiling)
        self.in_flight = 0
        self.peak = 0
        self._changed = threading.Condition(threading.Lock())

    def __enter__(self) -> AdaptiveLimiter:
        with self._changed:
            while self.in_flight >= self.state.limit:
                self._changed.wait()
            self.in_flight += 1
            if self.in_flight > self.peak:
                self.peak = self.in_flight
        return self

    def __exit__(self, *exc_info) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify()

    def succeeded(self) -> None:
        with self._changed:
            before = self.state.limit
            self.state.on_success()
            if self.state.limit > before:
                self._changed.notify(self.state.limit - before)

    def throttled(self) -> None:
        with self._changed:
            self.state.on_throttle(self.in_flight)
