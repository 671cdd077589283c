"""ElevenLabs Conversational AI, ``/v1/convai``: list and fetch conversations.

Follows external-apis.md Part A. Choices where ElevenLabs is silent:

* ``call_start_after_unix <= start_time_unix_secs < call_start_before_unix``.
* Order: newest first by (start time, conversation id), both descending.
* ``cursor`` is opaque to clients: URL-safe base64 (unpadded) of the JSON
  ``[start_time_unix_secs, conversation_id]`` of the last item served (keyset paging, so
  conversations starting meanwhile only ever appear on the first page). A cursor that
  does not decode answers 400 ``invalid_cursor``, like an expired one.
* ``page_size`` 1..100 (default 30) and the two ``*_unix`` bounds must be integers,
  else 422 in FastAPI's validation format. ``agent_id`` filters; ``summary_mode=include``
  fills ``transcript_summary``; other filters are accepted and ignored.
* An unknown conversation id is a 404 ``conversation_not_found``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from itertools import islice

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simbiosia_pipeline.sandbox.faults import Attempt, FaultConfig, FaultInjector
from simbiosia_pipeline.sandbox.guard import ApiGuard
from simbiosia_pipeline.sandbox.render import conversation_summary
from simbiosia_pipeline.sandbox.responses import json_response
from simbiosia_pipeline.sandbox.truth import Sandbox

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100


def _error(status: str, message: str) -> dict:
    return {"detail": {"status": status, "message": message}}


class ElevenLabsProfile:
    """Auth by the ``xi-api-key`` header."""

    name = "elevenlabs"

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key.encode()

    def authenticate(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("xi-api-key", "").encode(), self._api_key)

    def unauthorized(self) -> Response:
        return json_response(_error("invalid_api_key", "Invalid API key"), 401)

    def error_body(self, status_code: int) -> dict:
        return {
            429: _error(
                "too_many_concurrent_requests",
                "Too many concurrent requests for this API key. Retry later.",
            ),
            500: _error("internal_server_error", "An internal server error occurred."),
            503: _error("service_unavailable", "The service is temporarily unavailable."),
        }[status_code]

    def max_concurrency(self, config: FaultConfig) -> int | None:
        return config.elevenlabs_max_concurrency


class ElevenLabsApi:
    def __init__(self, sandbox: Sandbox, injector: FaultInjector) -> None:
        self._sandbox = sandbox
        self._injector = injector
        self._agent_names = {agent.agent_id: agent.name for agent in sandbox.layout.agents}

    def routes(self, guard: ApiGuard) -> list[Route]:
        return [
            Route("/v1/convai/conversations", guard.endpoint(self.list_conversations)),
            Route(
                "/v1/convai/conversations/{conversation_id}",
                guard.endpoint(self.get_conversation),
            ),
        ]

    def list_conversations(self, request: Request, attempt: Attempt) -> Response:
        params = request.query_params
        problems: list[dict] = []
        page_size = _int(params, "page_size", problems, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        after = _int(params, "call_start_after_unix", problems)
        before = _int(params, "call_start_before_unix", problems)
        if problems:
            return json_response({"detail": problems}, 422)
        cursor = None
        if params.get("cursor"):
            cursor = _decode_cursor(params["cursor"])
            if cursor is None or attempt.happens("cursor_expiry"):
                return json_response(
                    _error("invalid_cursor", "The cursor is invalid or has expired."), 400
                )
        now = self._sandbox.clock.now_unix()
        lo = after if after is not None else self._sandbox.config.history_start_unix
        hi = before if before is not None else now + 1
        agent_id = params.get("agent_id")
        entries = self._sandbox.conversation_entries(
            now,
            lo,
            hi,
            cursor=cursor,
            accept=(lambda e: e.fact.agent_id == agent_id) if agent_id else None,
        )
        found = list(islice(entries, page_size + 1))
        page, has_more = found[:page_size], len(found) > page_size
        if params.get("summary_mode") == "include":
            items = [
                orjson.dumps(
                    conversation_summary(
                        e.fact, now, self._agent_names[e.fact.agent_id], include_summary=True
                    )
                )
                for e in page
            ]
        else:
            items = [e.summary for e in page]
        next_cursor = _encode_cursor(page[-1].order) if has_more else None
        tail = {"next_cursor": next_cursor, "has_more": has_more}
        return json_response(
            b'{"conversations":[' + b",".join(items) + b"]," + orjson.dumps(tail)[1:]
        )

    def get_conversation(self, request: Request, attempt: Attempt) -> Response:
        conversation_id = request.path_params["conversation_id"]
        body = self._sandbox.conversation_detail(conversation_id, self._sandbox.clock.now_unix())
        if body is not None and self._injector.detail_missing(conversation_id):
            attempt.report("missing_detail")
            body = None
        if body is None:
            message = f"Conversation {conversation_id} not found"
            return json_response(_error("conversation_not_found", message), 404)
        return json_response(body)


def _int(
    params: QueryParams,
    name: str,
    problems: list[dict],
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """Validate an integer query parameter like FastAPI/pydantic v2 would."""
    raw = params.get(name)
    if raw is None:
        return default
    loc = ["query", name]
    try:
        value = int(raw)
    except ValueError:
        problems.append(
            {
                "type": "int_parsing",
                "loc": loc,
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": raw,
            }
        )
        return None
    if minimum is not None and value < minimum:
        problems.append(
            {
                "type": "greater_than_equal",
                "loc": loc,
                "msg": f"Input should be greater than or equal to {minimum}",
                "input": raw,
                "ctx": {"ge": minimum},
            }
        )
    elif maximum is not None and value > maximum:
        problems.append(
            {
                "type": "less_than_equal",
                "loc": loc,
                "msg": f"Input should be less than or equal to {maximum}",
                "input": raw,
                "ctx": {"le": maximum},
            }
        )
    return value


def _encode_cursor(order: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(order))).rstrip(b"=").decode()


def _decode_cursor(text: str) -> tuple[int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        start, conversation_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if type(start) is not int or not isinstance(conversation_id, str):
        return None
    return start, conversation_id
