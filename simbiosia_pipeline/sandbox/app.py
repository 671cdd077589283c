"""The ASGI app: both provider APIs and the admin endpoints on one Starlette router."""

from __future__ import annotations

from starlette.applications import Starlette

from simbiosia_pipeline.sandbox.admin_api import AdminApi
from simbiosia_pipeline.sandbox.elevenlabs_api import ElevenLabsApi, ElevenLabsProfile
from simbiosia_pipeline.sandbox.elevenlabs_usage_api import ElevenLabsUsageApi
from simbiosia_pipeline.sandbox.faults import FaultConfig, FaultInjector
from simbiosia_pipeline.sandbox.guard import ApiGuard, Pauses
from simbiosia_pipeline.sandbox.responses import hide_dropped_connection_logs
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.sandbox.stats import Stats
from simbiosia_pipeline.sandbox.twilio_api import TwilioApi, TwilioProfile


def build_app(sandbox: Sandbox, faults: FaultConfig | None = None) -> Starlette:
    """Serve ``sandbox`` under ``faults``; ``app.state`` exposes ``sandbox``, ``faults``
    (the ``FaultInjector``), ``stats`` and ``pauses`` (release them before shutting down)."""
    config = sandbox.config
    injector = FaultInjector(config.seed, faults)
    stats = Stats()
    pauses = Pauses()
    twilio = ApiGuard(
        TwilioProfile(config.twilio_account_sid, config.twilio_auth_token),
        injector,
        stats,
        pauses,
    )
    elevenlabs = ApiGuard(ElevenLabsProfile(config.elevenlabs_api_key), injector, stats, pauses)
    routes = [
        *TwilioApi(sandbox).routes(twilio),
        *ElevenLabsApi(sandbox, injector).routes(elevenlabs),
        *ElevenLabsUsageApi(sandbox).routes(elevenlabs),
        *AdminApi(sandbox, injector, stats).routes(),
    ]
    hide_dropped_connection_logs()
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    app.state.faults = injector
    app.state.stats = stats
    app.state.pauses = pauses
    return app
