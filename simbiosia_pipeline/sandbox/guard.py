"""The request pipeline every API endpoint runs through: auth, limits, latency, faults.

Order, as a provider would behave: authenticate (401 without touching anything else),
admit or reject against the API's concurrency limit (429 at once, the request "is never
processed", as Twilio says of its 20429), possibly hang, then fail (500/503) or run the
endpoint and possibly damage a successful answer (truncate the body or drop the
connection), and answer once the configured latency has passed since the request arrived.
Every request and fault is counted in ``Stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from simbiosia_pipeline.sandbox.faults import Attempt, FaultConfig, FaultInjector
from simbiosia_pipeline.sandbox.responses import DroppedResponse, json_response, truncated
from simbiosia_pipeline.sandbox.stats import Stats

Handler = Callable[[Request, Attempt], Response]
SHORT_WAIT_S = 1.0  # shorter waits are not cut short by a shutdown


class ApiProfile(Protocol):
    """How one provider authenticates and words its errors."""

    name: str

    def authenticate(self, request: Request) -> bool: ...

    def unauthorized(self) -> Response: ...

    def error_body(self, status_code: int) -> dict:
        """Body of a 429, 500 or 503 answer."""
        ...

    def max_concurrency(self, config: FaultConfig) -> int | None: ...


class Pauses:
    """Waits imposed by latency and hang faults, cut short when the server shuts down.

    A hanging request keeps its concurrency slot even if the client gave up, as on a real
    server; but stopping the sandbox must not wait for (or cancel) up to ``hang_seconds``
    of sleeping requests, so shutdown releases them and they answer at once.
    """

    def __init__(self) -> None:
        self._stopping: asyncio.Event | None = None

    async def wait(self, seconds: float) -> None:
        if self._stopping is None:
            self._stopping = asyncio.Event()
        if self._stopping.is_set():
            return
        if seconds <= SHORT_WAIT_S:  # a latency: a plain sleep costs a fraction of a race
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def release(self) -> None:
        """End every current and future wait; call from the server's event loop."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        self._stopping.set()


class ApiGuard:
    def __init__(
        self, profile: ApiProfile, injector: FaultInjector, stats: Stats, pauses: Pauses
    ) -> None:
        self._profile = profile
        self._injector = injector
        self._stats = stats
        self._pauses = pauses

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        api = self._profile.name

        async def endpoint(request: Request) -> Response:
            self._stats.requested(api)
            response = await self._run(request, handler)
            self._stats.responded(api, response.status_code)
            return response

        return endpoint

    async def _run(self, request: Request, handler: Handler) -> Response:
        profile, stats = self._profile, self._stats
        if not profile.authenticate(request):
            return profile.unauthorized()
        config = self._injector.config
        limit = profile.max_concurrency(config)
        if limit is not None and stats.in_flight(profile.name) >= limit:
            stats.fault("rate_limit")
            return self._error(429, config)
        stats.enter(profile.name)
        try:
            loop = asyncio.get_running_loop()
            arrived = loop.time()
            # A handler is synchronous: a request body (a POST query) is read for it here.
            request.state.body = await request.body()
            attempt = self._injector.attempt(_fingerprint(request), stats.fault)
            if attempt.happens("hang"):
                await self._pauses.wait(config.hang_seconds)
            response = self._answer(request, handler, attempt, config)
            # The latency is the time to answer, the work of answering included, as a client
            # of the real API sees it: only what the work left of it is waited.
            remaining = attempt.latency_seconds() - (loop.time() - arrived)
            if remaining > 0:
                await self._pauses.wait(remaining)
            return response
        finally:
            stats.leave(profile.name)

    def _answer(
        self, request: Request, handler: Handler, attempt: Attempt, config: FaultConfig
    ) -> Response:
        if attempt.happens("error"):
            return self._error(503 if attempt.draw("error_status") < 0.5 else 500, config)
        response = handler(request, attempt)
        if response.status_code == 200:
            if attempt.happens("reset"):
                return DroppedResponse(response)
            if attempt.happens("truncate"):
                return truncated(response)
        return response

    def _error(self, status_code: int, config: FaultConfig) -> Response:
        headers = None
        if status_code in (429, 503) and config.retry_after:
            headers = {"Retry-After": str(config.retry_after_s)}
        return json_response(self._profile.error_body(status_code), status_code, headers)


def _fingerprint(request: Request) -> str:
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    body = request.state.body
    digest = f" {hashlib.sha256(body).hexdigest()[:16]}" if body else ""
    return f"{request.method} {request.url.path}?{query}{digest}"
