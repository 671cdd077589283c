"""An alert webhook on 127.0.0.1 that records what the alerts POST (``webhook`` in conftest.py
sets ``SIMBIOSIA_ALERT_WEBHOOK_URL`` to one for a test)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """Records every JSON payload POSTed to ``url`` and answers ``status`` (a test may make it
    refuse). ``path`` is the URL's path: a real webhook's holds the secret that authorises posts."""

    def __init__(self, path: str = "/hook", status: int = 200) -> None:
        self.payloads: list[dict] = []
        self.status = status
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
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def texts(self) -> list[str]:
        return [payload["text"] for payload in self.payloads]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
