"""``/_sandbox/*``: control a served sandbox from a test or a benchmark (no auth).

* ``GET /_sandbox/clock`` → ``{"now": ISO-8601, "fixed": bool}``; ``PUT`` with
  ``{"now": "2026-01-05T10:00:00Z"}`` fixes the clock there (``null``: wall clock again).
* ``GET /_sandbox/stats``, ``POST /_sandbox/stats/reset``: request accounting.
* ``GET``/``PUT /_sandbox/faults``: the fault config as JSON; ``PUT`` replaces it whole
  (missing fields take their defaults) and restarts the per-request attempt counters.
* ``GET``/``PUT /_sandbox/billing``: the billing discrepancies (``usage.py``) as JSON,
  ``{"unlisted": [ids], "rebilled": {id: amount}}``; ``PUT`` replaces them whole.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simbiosia_pipeline.sandbox.clock import iso_z, parse_iso
from simbiosia_pipeline.sandbox.faults import FaultConfig, FaultInjector
from simbiosia_pipeline.sandbox.responses import json_response
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.sandbox.stats import Stats


class AdminApi:
    def __init__(self, sandbox: Sandbox, injector: FaultInjector, stats: Stats) -> None:
        self._sandbox = sandbox
        self._injector = injector
        self._stats = stats

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/clock", self.get_clock, methods=["GET"]),
            Route("/_sandbox/clock", self.set_clock, methods=["PUT"]),
            Route("/_sandbox/stats", self.get_stats, methods=["GET"]),
            Route("/_sandbox/stats/reset", self.reset_stats, methods=["POST"]),
            Route("/_sandbox/faults", self.get_faults, methods=["GET"]),
            Route("/_sandbox/faults", self.set_faults, methods=["PUT"]),
            Route("/_sandbox/billing", self.get_billing, methods=["GET"]),
            Route("/_sandbox/billing", self.set_billing, methods=["PUT"]),
        ]

    async def get_billing(self, request: Request) -> Response:
        return json_response(self._sandbox.billing.to_dict())

    async def set_billing(self, request: Request) -> Response:
        try:
            data = orjson.loads(await request.body())
            if not isinstance(data, dict):
                raise TypeError("expected a JSON object")
            self._sandbox.billing.replace(data)
        except (ValueError, TypeError, ArithmeticError) as problem:
            return json_response({"error": str(problem)}, 422)
        return json_response(self._sandbox.billing.to_dict())

    async def get_clock(self, request: Request) -> Response:
        return json_response(self._clock())

    async def set_clock(self, request: Request) -> Response:
        try:
            raw = orjson.loads(await request.body())["now"]
            self._sandbox.set_now(None if raw is None else parse_iso(raw))
        except (ValueError, KeyError, TypeError, AttributeError) as problem:
            return json_response({"error": f"expected {{'now': ISO-8601 or null}}: {problem}"}, 422)
        return json_response(self._clock())

    async def get_stats(self, request: Request) -> Response:
        return json_response(self._stats.snapshot())

    async def reset_stats(self, request: Request) -> Response:
        self._stats.reset()
        return json_response(self._stats.snapshot())

    async def get_faults(self, request: Request) -> Response:
        return json_response(self._injector.config.to_dict())

    async def set_faults(self, request: Request) -> Response:
        try:
            data = orjson.loads(await request.body())
            if not isinstance(data, dict):
                raise TypeError("expected a JSON object")
            config = FaultConfig.from_dict(data)
        except (ValueError, TypeError) as problem:
            return json_response({"error": str(problem)}, 422)
        self._injector.replace(config)
        return json_response(config.to_dict())

    def _clock(self) -> dict:
        return {"now": iso_z(self._sandbox.now()), "fixed": self._sandbox.clock.is_fixed}
