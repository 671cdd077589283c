"""The simulator as the pipeline's source resource: the test double of ``SourceApis``.

It depends on the pipeline's interface (``sources/resources.py``), never the other way round;
``definitions.py`` picks it when ``SIMBIOSIA_SOURCE=sandbox``. The simulator is started
in-process for the duration of a run on a free port — or, when both base URLs are set, the
sandbox server already running there (``simbiosia sandbox serve``) is used. No credentials, no
server to install.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
from pydantic import PrivateAttr

from simbiosia_pipeline.sandbox import credentials
from simbiosia_pipeline.sandbox.config import SandboxConfig
from simbiosia_pipeline.sandbox.server import start_sandbox_server
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.settings import SourceMode
from simbiosia_pipeline.sources.resources import Endpoints, SourceApis


class SandboxApis(SourceApis):
    """The built-in simulator: in-process for the duration of a run, unless base URLs are set."""

    seed: int = 7
    scale: float = 1.0
    twilio_base_url: str | None = None
    elevenlabs_base_url: str | None = None
    # The in-process sandbox's history begins with the first partition (settings.py), so that no
    # record exists that no partition could hold (ISO 8601; None: the simulator's own default).
    history_start: str | None = None

    _server = PrivateAttr(default=None)

    @property
    def mode(self) -> SourceMode:
        return SourceMode.SANDBOX

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.twilio_base_url and self.elevenlabs_base_url:
            return
        history = {"history_start": datetime.fromisoformat(self.history_start)}
        config = SandboxConfig(
            seed=self.seed, scale=self.scale, **(history if self.history_start else {})
        )
        self._server = start_sandbox_server(Sandbox(config))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def endpoints(self) -> Endpoints:
        served = self._server.url if self._server is not None else None
        return Endpoints(
            twilio_base_url=self.twilio_base_url or served,
            twilio_account_sid=credentials.DEFAULT_TWILIO_ACCOUNT_SID,
            twilio_auth_token=credentials.DEFAULT_TWILIO_AUTH_TOKEN,
            elevenlabs_base_url=self.elevenlabs_base_url or served,
            elevenlabs_api_key=credentials.DEFAULT_ELEVENLABS_API_KEY,
        )
