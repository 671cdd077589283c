"""Request accounting, so benchmarks can see how a client treated the APIs.

Counts requests and responses per API, faults injected per kind, and the in-flight
requests per API with their peak (what a client's concurrency really was, which is what
the providers' concurrency limits judge).
"""

from __future__ import annotations

import threading
from collections import Counter

from simbiosia_pipeline.sandbox.faults import FAULT_KINDS

APIS = ("twilio", "elevenlabs")


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter; the current in-flight requests stay counted (and are the peak)."""
        with self._lock:
            in_flight = getattr(self, "_in_flight", Counter())
            self._requests: Counter[str] = Counter()
            self._responses: dict[str, Counter[int]] = {api: Counter() for api in APIS}
            self._faults: Counter[str] = Counter()
            self._in_flight: Counter[str] = in_flight
            self._peak: Counter[str] = Counter(in_flight)

    def requested(self, api: str) -> None:
        with self._lock:
            self._requests[api] += 1

    def responded(self, api: str, status: int) -> None:
        with self._lock:
            self._responses[api][status] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def in_flight(self, api: str) -> int:
        return self._in_flight[api]

    def enter(self, api: str) -> None:
        with self._lock:
            self._in_flight[api] += 1
            self._peak[api] = max(self._peak[api], self._in_flight[api])

    def leave(self, api: str) -> None:
        with self._lock:
            self._in_flight[api] -= 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": {api: self._requests[api] for api in APIS},
                "responses": {
                    api: {str(status): n for status, n in sorted(self._responses[api].items())}
                    for api in APIS
                },
                "faults": {kind: self._faults[kind] for kind in FAULT_KINDS},
                "in_flight": {api: self._in_flight[api] for api in APIS},
                "peak_in_flight": {api: self._peak[api] for api in APIS},
            }
