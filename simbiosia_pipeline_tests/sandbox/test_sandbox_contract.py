"""Every kind of answer the sandbox serves validates against the providers' published schemas
(copied from the official specs into ``simbiosia_pipeline_tests/api_specs``; see
``api_schemas.py`` for the sources and the one deliberate deviation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from elevenlabs.types import GetConversationResponseModel
from sandbox_support import (
    ACCOUNT,
    CALLS_PATH,
    CONVERSATIONS_PATH,
    ELEVENLABS_HEADERS,
    NOW,
    TWILIO_AUTH,
    call_path,
)

from simbiosia_pipeline.sandbox import FaultConfig, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sandbox.elevenlabs_api import ElevenLabsProfile
from simbiosia_pipeline.sandbox.twilio_api import TwilioProfile
from simbiosia_pipeline_tests.api_schemas import (
    ELEVENLABS_422,
    ELEVENLABS_DETAIL,
    ELEVENLABS_ERROR,
    ELEVENLABS_LIST,
    ELEVENLABS_USAGE,
    TWILIO_CALL,
    TWILIO_ERROR,
    TWILIO_LIST,
    TWILIO_USAGE_DAILY,
    assert_valid,
    load_spec,
)


def test_the_copied_schemas_validate_the_specs_own_examples():
    """The translation and copies are right: the published examples pass, a broken one fails."""
    spec = load_spec("twilio_api_v2010_2026-04.json")
    assert spec["source"]["copied_from"].endswith("twilio_api_v2010_2026-04.json")
    example = {
        "sid": "CA" + "a" * 32,
        "status": "completed",
        "price": None,
        "price_unit": "JPY",
        "trunk_sid": None,
        "date_created": "Fri, 18 Oct 2019 17:00:00 +0000",
    }
    assert_valid(TWILIO_CALL, example)
    assert not TWILIO_CALL.is_valid({**example, "status": "answered"})
    assert not TWILIO_CALL.is_valid({**example, "price": -0.2})
    assert not TWILIO_CALL.is_valid({**example, "date_created": "2019-10-18"})
    assert not ELEVENLABS_DETAIL.is_valid({"conversation_id": "c", "status": "done"})


# --- Twilio ----------------------------------------------------------------------------------


def test_twilio_list_pages_and_calls_match_the_spec(sandbox_server, sandbox):
    with httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH, timeout=10) as http:
        url, params, pages = CALLS_PATH, {"StartTime>": "2026-01-14", "PageSize": 200}, 0
        while url:
            page = http.get(url, params=params).json()
            assert_valid(TWILIO_LIST, page)
            url, params, pages = page["next_page_uri"], None, pages + 1
        assert pages > 1
        empty = http.get(CALLS_PATH, params={"StartTime<": "2020-01-01"}).json()
        assert_valid(TWILIO_LIST, empty)
        assert empty["calls"] == []
        one = http.get(call_path(page["calls"][-1]["sid"]))
        assert one.status_code == 200
        assert_valid(TWILIO_CALL, one.json())
    # Every call of a day, in every state the clock shows (the same bytes the server sends).
    calls = sandbox.twilio_calls(NOW - timedelta(days=1), NOW)
    for call in calls:
        assert_valid(TWILIO_CALL, call)
    statuses = {call["status"] for call in calls}
    assert {"completed", "busy", "no-answer", "failed", "canceled", "in-progress"} <= statuses
    assert any(call["trunk_sid"] == "" for call in calls)
    assert all("annotation" in call for call in calls)


def test_twilio_errors_have_the_documented_shape(sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, timeout=10) as http:
        answers = {
            401: http.get(CALLS_PATH, auth=(ACCOUNT, "wrong")),
            404: http.get(call_path("CA" + "0" * 32), auth=TWILIO_AUTH),
            400: http.get(CALLS_PATH, params={"PageSize": 1001}, auth=TWILIO_AUTH),
        }
    for status, answer in answers.items():
        assert answer.status_code == status
        assert_valid(TWILIO_ERROR, answer.json())
    assert answers[401].json()["detail"] == "Your AccountSid or AuthToken was incorrect."
    profile = TwilioProfile(ACCOUNT, "token")
    for status in (429, 500, 503):
        assert_valid(TWILIO_ERROR, profile.error_body(status))


# --- ElevenLabs ------------------------------------------------------------------------------


def test_elevenlabs_list_pages_match_the_spec(sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, headers=ELEVENLABS_HEADERS, timeout=10) as http:
        for params in (
            {"page_size": 100},
            {"page_size": 5, "summary_mode": "include"},
            {"call_start_before_unix": 1},  # empty
            {
                "exclude_statuses": ["done", "failed"],
                "call_successful": "unknown",
                "call_start_after_unix": int((NOW - timedelta(hours=6)).timestamp()),
            },
        ):
            page = http.get(CONVERSATIONS_PATH, params=params).json()
            assert_valid(ELEVENLABS_LIST, page)
        cursor = http.get(CONVERSATIONS_PATH, params={"page_size": 3}).json()["next_cursor"]
        page = http.get(CONVERSATIONS_PATH, params={"page_size": 3, "cursor": cursor})
        assert_valid(ELEVENLABS_LIST, page.json())


def test_elevenlabs_details_in_every_state_match_the_spec(sandbox):
    details = sandbox.conversations(NOW - timedelta(days=1), NOW)
    for detail in details:
        assert_valid(ELEVENLABS_DETAIL, detail)
        GetConversationResponseModel.model_validate(detail)  # the official SDK still reads it
    assert {d["status"] for d in details} >= {"in-progress", "processing", "done", "failed"}
    kinds = {(d["metadata"]["phone_call"] or {}).get("type") for d in details}
    assert kinds == {"twilio", "sip_trunking", None}


def test_an_initiated_conversation_matches_the_spec():
    """A phone conversation is ``initiated`` for the second before it is accepted."""
    box = Sandbox(SandboxConfig(now=NOW))
    for summary in box.conversation_summaries(NOW - timedelta(hours=3), NOW):
        started = datetime.fromtimestamp(summary["start_time_unix_secs"], UTC)
        box.set_now(started)
        in_that_second = box.conversations(started, started + timedelta(seconds=1))
        detail = next(
            d for d in in_that_second if d["conversation_id"] == summary["conversation_id"]
        )
        if detail["status"] == "initiated":
            break
    else:
        pytest.fail("no conversation waited a second to be accepted in three hours")
    assert detail["metadata"]["accepted_time_unix_secs"] is None
    assert_valid(ELEVENLABS_DETAIL, detail)
    assert GetConversationResponseModel.model_validate(detail).status == "initiated"
    listed = box.conversation_summaries(started, started + timedelta(seconds=1))
    assert "initiated" in {item["status"] for item in listed}
    assert_valid(ELEVENLABS_LIST, {"conversations": listed, "has_more": False})


def test_elevenlabs_errors_match_the_spec_or_the_documented_shape(sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, headers=ELEVENLABS_HEADERS, timeout=10) as http:
        invalid = [
            {"page_size": 101},
            {"call_start_after_unix": "yesterday"},
            {"summary_mode": "full"},
            {"call_successful": "maybe"},
            {"exclude_statuses": ["done", "archived"]},
            {"text_only": "perhaps"},
            {"rating_min": 3},  # documented, not implemented by the sandbox
            {"sort_direction": "asc"},
        ]
        for params in invalid:
            answer = http.get(CONVERSATIONS_PATH, params=params)
            assert answer.status_code == 422, params
            assert_valid(ELEVENLABS_422, answer.json())
        others = {
            401: http.get(CONVERSATIONS_PATH, headers={"xi-api-key": "wrong"}),
            404: http.get(f"{CONVERSATIONS_PATH}/conv_unknown"),
            400: http.get(CONVERSATIONS_PATH, params={"cursor": "not-a-cursor"}),
        }
    for status, answer in others.items():
        assert answer.status_code == status
        assert_valid(ELEVENLABS_ERROR, answer.json())
    profile = ElevenLabsProfile("key")
    for status in (429, 500, 503):
        assert_valid(ELEVENLABS_ERROR, profile.error_body(status))


def test_server_errors_over_http_have_the_documented_shapes():
    box = Sandbox(SandboxConfig(now=NOW))
    with start_sandbox_server(box, FaultConfig(error_rate=1.0, retry_after_s=0)) as server:
        twilio = httpx.get(server.url + CALLS_PATH, auth=TWILIO_AUTH, timeout=10)
        elevenlabs = httpx.get(
            server.url + CONVERSATIONS_PATH, headers=ELEVENLABS_HEADERS, timeout=10
        )
    assert twilio.status_code in (500, 503)
    assert elevenlabs.status_code in (500, 503)
    assert_valid(TWILIO_ERROR, twilio.json())
    assert_valid(ELEVENLABS_ERROR, elevenlabs.json())


# --- what the providers bill ------------------------------------------------------------------

USAGE_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Usage/Records/Daily.json"
ELEVENLABS_USAGE_PATH = "/v1/workspace/analytics/query/usage-by-product-over-time"


def test_twilio_usage_record_pages_match_the_spec(sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH, timeout=10) as http:
        url, params, records = USAGE_PATH, {"StartDate": "2026-01-10", "PageSize": 7}, []
        while url:
            page = http.get(url, params=params).json()
            assert_valid(TWILIO_USAGE_DAILY, page)
            records += page["usage_records"]
            url, params = page["next_page_uri"], None
        assert len(records) > 7  # several pages
        assert {record["category"] for record in records} == {
            "calls", "calls-inbound", "calls-outbound", "trunking-origination",
            "trunking-termination", "totalprice",
        }  # fmt: skip
        assert all(record["price"] >= 0 for record in records)  # charges positive here
        refused = http.get(USAGE_PATH, params={"StartDate": "yesterday"})
        assert refused.status_code == 400
        assert_valid(TWILIO_ERROR, refused.json())


def test_elevenlabs_usage_matches_the_spec(sandbox_server):
    body = {
        "start_time": int(datetime(2026, 1, 10, tzinfo=UTC).timestamp()) * 1000,
        "end_time": int(datetime(2026, 1, 14, tzinfo=UTC).timestamp()) * 1000,
        "interval_seconds": 86400,
        "group_by": ["product_type"],
    }
    with httpx.Client(base_url=sandbox_server.url, headers=ELEVENLABS_HEADERS, timeout=10) as http:
        answer = http.post(ELEVENLABS_USAGE_PATH, json=body).json()
        assert_valid(ELEVENLABS_USAGE, answer)
        assert len(answer["rows"]) == 4
        assert "credits" in answer["column_units"]
        for invalid in ({**body, "start_time": "soon"}, {**body, "group_by": ["colour"]}, {}):
            refused = http.post(ELEVENLABS_USAGE_PATH, json=invalid)
            assert refused.status_code == 422
            assert_valid(ELEVENLABS_422, refused.json())
