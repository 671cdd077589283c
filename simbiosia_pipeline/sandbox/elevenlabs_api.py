"""ElevenLabs Conversational AI, ``/v1/convai``: list and fetch conversations.

Follows external-apis.md Part A. Choices where ElevenLabs is silent:

* ``call_start_after_unix <= start_time_unix_secs < call_start_before_unix``.
* Order: newest first by (start time, conversation id), both descending.
* ``cursor`` is opaque to clients: URL-safe base64 (unpadded) of the JSON
  ``[start_time_unix_secs, conversation_id]`` of the last item served (keyset paging, so
  conversations starting meanwhile only ever appear on the first page). A cursor that
  does not decode answers 400 ``invalid_cursor``, like an expired one.
* ``page_size`` 1..100 (default 30) and the two ``*_unix`` bounds must be integers,
  else 422 in FastAPI's validation format. Implemented filters, validated like FastAPI
  would (422 otherwise): ``agent_id``, ``user_id`` (the sandbox has no users: matches
  nothing), ``call_successful``, ``call_duration_min_secs``/``max_secs``,
  ``exclude_statuses``, ``text_only``, ``conversation_initiation_source``,
  ``main_languages``, ``termination_reasons``, ``sort_direction=desc``;
  ``summary_mode=include`` fills ``transcript_summary``. Every other documented filter (and
  ``sort_direction=asc``) is answered 422, never silently ignored; undocumented parameters
  are ignored, as FastAPI does.
* An unknown conversation id is a 404 ``conversation_not_found``.
* ``DELETE /v1/convai/conversations/{id}`` answers ``{}`` (the spec's 200 has an empty
  schema) and ``POST .../{id}/analysis/run`` the conversation after the request (see
  ``edits.py`` for what each does to what is served).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from itertools import islice

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simbiosia_pipeline.sandbox.facts import ConversationFact
from simbiosia_pipeline.sandbox.faults import Attempt, FaultConfig, FaultInjector
from simbiosia_pipeline.sandbox.guard import ApiGuard
from simbiosia_pipeline.sandbox.render import conversation_summary
from simbiosia_pipeline.sandbox.responses import json_response
from simbiosia_pipeline.sandbox.simulator import Sandbox

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
# Enumerations of the list's parameters in the official spec (2026-08).
SUMMARY_MODES = ("exclude", "include")
OUTCOMES = ("success", "failure", "unknown")
STATUSES = ("initiated", "in-progress", "processing", "done", "failed")
SOURCES = (
    "unknown", "android_sdk", "node_js_sdk", "react_native_sdk", "react_sdk", "js_sdk",
    "python_sdk", "widget", "sip_trunk", "twilio", "exotel", "genesys", "avaya", "audiocodes",
    "swift_sdk", "whatsapp", "twilio_sms", "flutter_sdk", "zendesk_integration",
    "slack_integration", "telegram_integration", "intercom_integration", "freshdesk_integration",
    "salesforce_integration", "template_preview", "genesys_bot_connector", "subagent_tool",
)  # fmt: skip
# The documented filters the sandbox does not implement: answered 422, never silently ignored.
UNIMPLEMENTED_FILTERS = (
    "visited_agent_ids", "visited_agent_branch_ids", "triggered_procedure_ids", "rating_max",
    "rating_min", "has_feedback_comment", "evaluation_params", "data_collection_params",
    "data_collection_ids", "evaluation_criteria_ids", "tool_names", "tool_names_successful",
    "tool_names_errored", "include_invalid_tool_calls", "search", "conversation_product_type",
    "branch_id", "version_id", "parent_conversation_id", "topic_ids", "tag_ids",
    "workflow_node_entered_id", "guardrail_types", "custom_guardrail_names",
)  # fmt: skip

Match = Callable[[ConversationFact, int], bool]


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
            Route(
                "/v1/convai/conversations/{conversation_id}",
                guard.endpoint(self.delete_conversation),
                methods=["DELETE"],
            ),
            Route(
                "/v1/convai/conversations/{conversation_id}/analysis/run",
                guard.endpoint(self.run_analysis),
                methods=["POST"],
            ),
        ]

    def list_conversations(self, request: Request, attempt: Attempt) -> Response:
        params = request.query_params
        problems: list[dict] = []
        page_size = _int(params, "page_size", problems, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        after = _int(params, "call_start_after_unix", problems)
        before = _int(params, "call_start_before_unix", problems)
        summary_mode = _enum(params, "summary_mode", SUMMARY_MODES, problems) or "exclude"
        matches = list_filters(params, problems)
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
        entries = self._sandbox.conversation_entries(
            now,
            lo,
            hi,
            cursor=cursor,
            accept=(lambda e: all(match(e.fact, now) for match in matches)) if matches else None,
        )
        found = list(islice(entries, page_size + 1))
        page, has_more = found[:page_size], len(found) > page_size
        if summary_mode == "include":
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
            return _not_found(conversation_id)
        return json_response(body)

    def delete_conversation(self, request: Request, attempt: Attempt) -> Response:
        conversation_id = request.path_params["conversation_id"]
        if not self._sandbox.delete_conversation(conversation_id, self._sandbox.clock.now_unix()):
            return _not_found(conversation_id)
        return json_response({})

    def run_analysis(self, request: Request, attempt: Attempt) -> Response:
        conversation_id = request.path_params["conversation_id"]
        body = self._sandbox.rerun_analysis(conversation_id, self._sandbox.clock.now_unix())
        return _not_found(conversation_id) if body is None else json_response(body)


def _not_found(conversation_id: str) -> Response:
    message = f"Conversation {conversation_id} not found"
    return json_response(_error("conversation_not_found", message), 404)


def list_filters(params: QueryParams, problems: list[dict]) -> list[Match]:
    """The list's filters as predicates on (fact, now); invalid values and the documented
    filters the sandbox does not implement are reported in ``problems`` (422), never ignored."""
    matches: list[Match] = []
    if agent_id := params.get("agent_id"):
        matches.append(lambda fact, now: fact.agent_id == agent_id)
    if "user_id" in params:  # the sandbox's conversations have no user id
        matches.append(lambda fact, now: False)
    if outcome := _enum(params, "call_successful", OUTCOMES, problems):
        matches.append(lambda fact, now: _outcome_at(fact, now) == outcome)
    shortest = _int(params, "call_duration_min_secs", problems)
    if shortest is not None:
        matches.append(lambda fact, now: fact.elapsed_at(now) >= shortest)
    longest = _int(params, "call_duration_max_secs", problems)
    if longest is not None:
        matches.append(lambda fact, now: fact.elapsed_at(now) <= longest)
    if excluded := _enums(params, "exclude_statuses", STATUSES, problems):
        matches.append(lambda fact, now: fact.status_at(now) not in excluded)
    text_only = _bool(params, "text_only", problems)
    if text_only is not None:  # every sandbox conversation is a voice call
        matches.append(lambda fact, now: not text_only)
    if source := _enum(params, "conversation_initiation_source", SOURCES, problems):
        matches.append(lambda fact, now: fact.source == source)
    if languages := params.getlist("main_languages"):
        matches.append(lambda fact, now: _final(fact, now) and fact.language in languages)
    if reasons := params.getlist("termination_reasons"):
        matches.append(lambda fact, now: _final(fact, now) and fact.termination_reason in reasons)
    if _enum(params, "sort_direction", ("asc", "desc"), problems) == "asc":
        problems.append(_not_implemented("sort_direction", "asc"))
    for name in UNIMPLEMENTED_FILTERS:
        if name in params:
            problems.append(_not_implemented(name, params[name]))
    return matches


def _final(fact: ConversationFact, now: int) -> bool:
    return fact.status_at(now) in ("done", "failed")


def _outcome_at(fact: ConversationFact, now: int) -> str:
    return fact.outcome if fact.status_at(now) == "done" else "unknown"


def _not_implemented(name: str, value: str) -> dict:
    return {
        "type": "value_error",
        "loc": ["query", name],
        "msg": f"Value error, the sandbox does not implement the {name!r} filter",
        "input": value,
    }


def _enum(
    params: QueryParams, name: str, allowed: tuple[str, ...], problems: list[dict]
) -> str | None:
    values = _enums(params, name, allowed, problems)
    return values[-1] if values else None


def _enums(
    params: QueryParams, name: str, allowed: tuple[str, ...], problems: list[dict]
) -> tuple[str, ...]:
    """Values of an enum parameter (repeated keys for a list), validated like pydantic v2."""
    values = tuple(params.getlist(name))
    expected = ", ".join(f"'{value}'" for value in allowed[:-1]) + f" or '{allowed[-1]}'"
    for index, value in enumerate(values):
        if value not in allowed:
            loc = ["query", name, index] if len(values) > 1 else ["query", name]
            problems.append(
                {
                    "type": "enum",
                    "loc": loc,
                    "msg": f"Input should be {expected}",
                    "input": value,
                    "ctx": {"expected": expected},
                }
            )
    return tuple(value for value in values if value in allowed)


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _bool(params: QueryParams, name: str, problems: list[dict]) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw.lower() in _TRUE | _FALSE:
        return raw.lower() in _TRUE
    problems.append(
        {
            "type": "bool_parsing",
            "loc": ["query", name],
            "msg": "Input should be a valid boolean, unable to interpret input",
            "input": raw,
        }
    )
    return None


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
