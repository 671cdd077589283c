"""Driving a served sandbox from a scenario: faults, clock, and what it injected."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import httpx


class SandboxControl:
    """The sandbox's admin API (``/_sandbox/*``) at ``url``."""

    def __init__(self, url: str):
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=10)
        self.injected: Counter[str] = Counter()

    def set_faults(self, **faults) -> None:
        """Replace the fault config (what is not named is off); counters restart."""
        self._http.put("/_sandbox/faults", json=faults).raise_for_status()

    def set_clock(self, now: datetime) -> None:
        self._http.put("/_sandbox/clock", json={"now": now.isoformat()}).raise_for_status()

    def stats(self) -> dict:
        return self._http.get("/_sandbox/stats").json()

    def collect(self, label: str = "") -> Counter[str]:
        """Add the faults injected since the last collection to ``injected`` (by kind, 500 and
        503 apart, 429s labelled) and reset the server's counters."""
        stats = self.stats()
        phase: Counter[str] = Counter()
        for kind, count in stats["faults"].items():
            if kind == "error":
                continue  # split by status below
            name = f"429 {label}".strip() if kind == "rate_limit" else kind
            phase[name] += count
        for api in ("twilio", "elevenlabs"):
            for status in ("500", "503"):
                phase[status] += stats["responses"][api].get(status, 0)
        self._http.post("/_sandbox/stats/reset").raise_for_status()
        self.injected.update(phase)
        return phase

    def close(self) -> None:
        self._http.close()
