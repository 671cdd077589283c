"""Serve a sandbox over real HTTP from a background thread (tests, in-process demo mode).

The socket is bound before uvicorn starts, so ``port=0`` picks a free port and the URL is
known immediately. uvicorn runs with uvloop and httptools, no access log, and without
touching the host process's logging configuration (``log_config=None``), since the
pipeline embeds it next to Dagster's own logging.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from simbiosia_pipeline.sandbox.app import build_app
from simbiosia_pipeline.sandbox.faults import FaultConfig
from simbiosia_pipeline.sandbox.simulator import Sandbox

STARTUP_TIMEOUT_S = 10.0


class _Server(uvicorn.Server):
    """uvicorn as the sandbox runs it, releasing requests held by latency/hang faults as
    shutdown begins (instead of waiting for them, then cancelling them noisily)."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(
            uvicorn.Config(
                app,
                loop="uvloop",
                http="httptools",
                ws="none",
                lifespan="off",
                access_log=False,
                log_level="warning",
                log_config=None,
                timeout_graceful_shutdown=1,
            )
        )
        self._pauses = app.state.pauses

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._pauses.release()
        await super().shutdown(sockets)


class SandboxServer:
    """A sandbox bound to ``host:port`` (``.url``); ``.start()`` serves it from a background
    thread (then ``.stop()``, or use it as a context manager), ``.run()`` in the foreground."""

    def __init__(
        self,
        sandbox: Sandbox,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.sandbox = sandbox
        self.app = build_app(sandbox, faults)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(2048)  # connections made before the server runs wait, not fail
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = _Server(self.app)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"sandbox-server-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C in the main thread)."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> SandboxServer:
        """Serve from a background thread; returns once the server accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on {self.url} did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop accepting; held (latency/hang) requests answer at once, others get a second."""
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self if self._server.started else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox_server(
    sandbox: Sandbox,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> SandboxServer:
    """Start serving ``sandbox`` on ``host:port`` (0: a free port) and return the server."""
    return SandboxServer(sandbox, faults, host, port).start()
