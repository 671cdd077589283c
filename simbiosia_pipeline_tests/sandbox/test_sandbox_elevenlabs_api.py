"""The ElevenLabs Conversations API over HTTP, driven by the official SDK and raw requests."""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.types import (
    ConversationSummaryResponseModel,
    GetConversationResponseModel,
    GetConversationsPageResponseModel,
)
from sandbox_support import CONVERSATIONS_PATH, NOW

from simbiosia_pipeline.sandbox import DEFAULT_ELEVENLABS_API_KEY, Sandbox, SandboxServer

STATUSES = {"initiated", "in-progress", "processing", "done", "failed"}
RECENT = (NOW - timedelta(hours=8), NOW)


@pytest.fixture
def client(sandbox_server: SandboxServer) -> ElevenLabs:
    return ElevenLabs(api_key=DEFAULT_ELEVENLABS_API_KEY, base_url=sandbox_server.url)


def unix(moment) -> int:
    return int(moment.timestamp())


def kind(conversation: dict) -> str:
    leg = conversation["metadata"]["phone_call"]
    return "web" if leg is None else leg["type"]


def test_sdk_lists_with_cursor_and_fetches_every_state(client, sandbox: Sandbox):
    seen = []
    cursor = None
    while True:
        page = client.conversational_ai.conversations.list(
            page_size=100,
            cursor=cursor,
            call_start_after_unix=unix(RECENT[0]),
            call_start_before_unix=unix(RECENT[1]),
        )
        seen += page.conversations
        if not page.has_more:
            assert page.next_cursor is None
            break
        cursor = page.next_cursor
    truth = sandbox.conversation_summaries(*RECENT)
    assert len(truth) > 100
    assert [c.conversation_id for c in seen] == [c["conversation_id"] for c in truth]
    assert [c.dict(exclude_unset=True) for c in seen] == truth

    details = sandbox.conversations(*RECENT)
    chosen = {}
    for body in details:  # one conversation per status and per phone_call type
        chosen.setdefault(body["status"], body)
        chosen.setdefault(kind(body), body)
    assert set(chosen) >= {"in-progress", "processing", "done", "failed"}
    assert set(chosen) >= {"twilio", "sip_trunking", "web"}
    for body in chosen.values():
        fetched = client.conversational_ai.conversations.get(body["conversation_id"])
        assert fetched.dict(exclude_unset=True) == body


def test_every_body_validates_against_the_sdk_models(elevenlabs_http, sandbox: Sandbox):
    page = elevenlabs_http.get(
        CONVERSATIONS_PATH,
        params={"page_size": 100, "call_start_after_unix": unix(NOW - timedelta(hours=3))},
    ).json()
    GetConversationsPageResponseModel.model_validate(page)
    for item in page["conversations"]:
        summary = ConversationSummaryResponseModel.model_validate(item)
        assert summary.status in STATUSES
        assert summary.call_successful in {"success", "failure", "unknown"}
    for body in sandbox.conversations(NOW - timedelta(hours=3), NOW):
        model = GetConversationResponseModel.model_validate(body)
        assert model.status in STATUSES
        final = model.status in ("done", "failed")
        assert (model.metadata.cost is not None) == final
        assert (model.metadata.charging.call_charge is not None) == final
        assert (model.analysis is not None) == (model.status == "done")
        if final:
            usage = model.metadata.charging.llm_usage.irreversible_generation.model_usage
            assert usage
            assert model.metadata.charging.llm_usage.initiated_generation.model_usage == usage
        leg = model.metadata.phone_call
        if leg is not None:
            assert leg.type in ("twilio", "sip_trunking")
            assert leg.direction in ("inbound", "outbound")


def test_in_progress_shows_elapsed_time_and_partial_transcript(sandbox: Sandbox):
    live = [c for c in sandbox.conversations(*RECENT) if c["status"] == "in-progress"]
    assert live
    for conversation in live:
        elapsed = conversation["metadata"]["call_duration_secs"]
        assert elapsed == unix(NOW) - conversation["metadata"]["start_time_unix_secs"]
        assert all(turn["time_in_call_secs"] <= elapsed for turn in conversation["transcript"])
        assert conversation["metadata"]["charging"]["tier"] is not None


def test_window_is_after_inclusive_before_exclusive(elevenlabs_http, sandbox: Sandbox):
    target = sandbox.conversation_summaries(*RECENT)[10]
    start = target["start_time_unix_secs"]
    params = {"page_size": 100}
    including = elevenlabs_http.get(
        CONVERSATIONS_PATH,
        params={**params, "call_start_after_unix": start, "call_start_before_unix": start + 1},
    ).json()
    assert target["conversation_id"] in [c["conversation_id"] for c in including["conversations"]]
    excluding = elevenlabs_http.get(
        CONVERSATIONS_PATH,
        params={**params, "call_start_after_unix": start - 5, "call_start_before_unix": start},
    ).json()
    assert target["conversation_id"] not in [
        c["conversation_id"] for c in excluding["conversations"]
    ]


def test_default_page_size_agent_filter_and_summary_mode(elevenlabs_http, sandbox: Sandbox):
    page = elevenlabs_http.get(CONVERSATIONS_PATH).json()
    assert list(page) == ["conversations", "next_cursor", "has_more"]
    assert len(page["conversations"]) == 30
    assert page["has_more"] is True
    agent = sandbox.conversation_summaries(*RECENT)[0]["agent_id"]
    filtered = elevenlabs_http.get(
        CONVERSATIONS_PATH, params={"agent_id": agent, "page_size": 100}
    ).json()
    assert {c["agent_id"] for c in filtered["conversations"]} == {agent}
    with_summary = elevenlabs_http.get(
        CONVERSATIONS_PATH, params={"summary_mode": "include", "page_size": 100}
    ).json()
    done = [c for c in with_summary["conversations"] if c["status"] == "done"]
    assert done
    assert all(c["transcript_summary"] for c in done)


def list_all(http, params: dict) -> list[dict]:
    window = {"call_start_after_unix": unix(RECENT[0]), "call_start_before_unix": unix(RECENT[1])}
    items, cursor = [], None
    while True:
        page = http.get(
            CONVERSATIONS_PATH,
            params={**window, "page_size": 100, **params, **({"cursor": cursor} if cursor else {})},
        )
        assert page.status_code == 200, page.text
        items += page.json()["conversations"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize(
    ("params", "keeps"),
    [
        ({"exclude_statuses": ["done", "failed"]}, lambda c: c["status"] not in ("done", "failed")),
        ({"call_successful": "success"}, lambda c: c["call_successful"] == "success"),
        ({"call_duration_min_secs": 120}, lambda c: c["call_duration_secs"] >= 120),
        ({"call_duration_max_secs": 30}, lambda c: c["call_duration_secs"] <= 30),
        ({"main_languages": ["en"]}, lambda c: c["main_language"] == "en"),
        (
            {"conversation_initiation_source": "widget"},
            lambda c: c["conversation_initiation_source"] == "widget",
        ),
        ({"text_only": "true"}, lambda c: False),  # every sandbox conversation is a voice call
        ({"text_only": "false"}, lambda c: True),
        ({"user_id": "someone"}, lambda c: False),
    ],
)
def test_implemented_filters_keep_exactly_the_matching_conversations(
    elevenlabs_http, sandbox: Sandbox, params, keeps
):
    truth = sandbox.conversation_summaries(*RECENT)
    expected = [c["conversation_id"] for c in truth if keeps(c)]
    assert [c["conversation_id"] for c in list_all(elevenlabs_http, params)] == expected
    assert 0 < len(expected) < len(truth) or params.get("text_only") or "user_id" in params


def test_documented_filters_the_sandbox_does_not_implement_are_refused(elevenlabs_http):
    for params in ({"search": "hola"}, {"tool_names": "transfer"}, {"sort_direction": "asc"}):
        answer = elevenlabs_http.get(CONVERSATIONS_PATH, params=params)
        assert answer.status_code == 422
        (problem,) = answer.json()["detail"]
        assert problem["loc"] == ["query", next(iter(params))]
        assert "does not implement" in problem["msg"]
    # an undocumented parameter is ignored, as FastAPI does
    assert elevenlabs_http.get(CONVERSATIONS_PATH, params={"colour": "red"}).status_code == 200


def test_detail_bytes_are_the_ground_truth(elevenlabs_http, sandbox: Sandbox):
    truth = sandbox.conversations(*RECENT)[:20]
    for body in truth:
        response = elevenlabs_http.get(f"{CONVERSATIONS_PATH}/{body['conversation_id']}")
        assert response.content == orjson.dumps(body)


def test_authentication_failures(sandbox_server: SandboxServer):
    expected = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
    with httpx.Client(base_url=sandbox_server.url) as plain:
        for headers in ({}, {"xi-api-key": "sk_wrong"}):
            response = plain.get(CONVERSATIONS_PATH, headers=headers)
            assert response.status_code == 401
            assert response.json() == expected
            assert "sk_wrong" not in response.text


def test_sdk_raises_on_bad_key(sandbox_server: SandboxServer):
    client = ElevenLabs(api_key="sk_wrong", base_url=sandbox_server.url)
    with pytest.raises(ApiError) as raised:
        client.conversational_ai.conversations.list()
    assert raised.value.status_code == 401


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"page_size": "101"},
            {
                "type": "less_than_equal",
                "loc": ["query", "page_size"],
                "msg": "Input should be less than or equal to 100",
                "input": "101",
                "ctx": {"le": 100},
            },
        ),
        (
            {"page_size": "0"},
            {
                "type": "greater_than_equal",
                "loc": ["query", "page_size"],
                "msg": "Input should be greater than or equal to 1",
                "input": "0",
                "ctx": {"ge": 1},
            },
        ),
        (
            {"call_start_after_unix": "yesterday"},
            {
                "type": "int_parsing",
                "loc": ["query", "call_start_after_unix"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "yesterday",
            },
        ),
    ],
)
def test_validation_errors_are_fastapi_422(elevenlabs_http, params, problem):
    response = elevenlabs_http.get(CONVERSATIONS_PATH, params=params)
    assert response.status_code == 422
    assert response.json() == {"detail": [problem]}


def test_unknown_conversation_and_bad_cursor(elevenlabs_http):
    missing = elevenlabs_http.get(f"{CONVERSATIONS_PATH}/conv_{'0' * 28}")
    assert missing.status_code == 404
    assert missing.json()["detail"]["status"] == "conversation_not_found"
    bad = elevenlabs_http.get(CONVERSATIONS_PATH, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.json()["detail"]["status"] == "invalid_cursor"
