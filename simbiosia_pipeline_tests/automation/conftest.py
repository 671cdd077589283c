"""A webhook receiver on 127.0.0.1 that records what the alerts POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class WebhookReceiver:
    def __init__(self) -> None:
        self.payloads: list[dict] = []
        self.status = 200  # what it answers; a test may make it refuse
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                receiver.payloads.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def texts(self) -> list[str]:
        return [payload["text"] for payload in self.payloads]


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch):
    receiver = WebhookReceiver()
    receiver.thread.start()
    monkeypatch.setenv("SIMBIOSIA_ALERT_WEBHOOK_URL", receiver.url)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
