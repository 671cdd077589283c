"""HTTP responses, including deliberately broken ones.

Bodies are pre-serialised JSON bytes (orjson keeps key order), so two servers with the
same configuration send identical bytes.
"""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

JSON = "application/json"


def json_response(
    body: bytes | dict | list, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status_code, headers=headers, media_type=JSON)


def truncated(response: Response) -> Response:
    """The same status and type, a valid HTTP message, but a JSON body cut in half."""
    return Response(response.body[: len(response.body) // 2], response.status_code, media_type=JSON)


class ConnectionDropped(Exception):
    """Raised after a partial body so the server closes the connection mid-response."""


class DroppedResponse(Response):
    """Sends the headers (with the full Content-Length) and half the body, then drops the
    connection, so the client sees a protocol error ("incomplete message body")."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body, response.status_code, media_type=JSON)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionDropped


class _HideDroppedConnections(logging.Filter):
    """uvicorn logs an exception that ends a started response; ours are intentional."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_FILTER = _HideDroppedConnections()


def hide_dropped_connection_logs() -> None:
    """Install the filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
