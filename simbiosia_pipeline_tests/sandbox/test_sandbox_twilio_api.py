"""The Twilio Calls API over HTTP, driven by the official SDK and by raw requests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_support import ACCOUNT, CALLS_PATH, NOW, TWILIO_AUTH, call_path, rfc2822
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from simbiosia_pipeline.sandbox import Sandbox, SandboxServer

DAY = datetime(2026, 1, 13, tzinfo=UTC)
ENVELOPE_KEYS = [
    "calls",
    "first_page_uri",
    "next_page_uri",
    "previous_page_uri",
    "page",
    "page_size",
    "start",
    "end",
    "uri",
]
UNAUTHORIZED = {
    "code": 20003,
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
    "detail": "Your AccountSid or AuthToken was incorrect.",
}


@pytest.fixture
def client(sandbox_server: SandboxServer) -> Client:
    twilio = Client(*TWILIO_AUTH)
    twilio.api.base_url = sandbox_server.url
    return twilio


def as_seen_by_sdk(call: dict) -> tuple:
    return (
        call["sid"],
        call["parent_call_sid"],
        call["from"],
        call["to"],
        call["status"],
        call["direction"],
        rfc2822(call["date_created"]),
        rfc2822(call["date_updated"]),
        rfc2822(call["start_time"]),
        rfc2822(call["end_time"]),
        call["duration"],
        call["price"],
        call["price_unit"],
        call["trunk_sid"],
        call["queue_time"],
        call["uri"],
    )


def sdk_view(call) -> tuple:
    return (
        call.sid,
        call.parent_call_sid,
        call._from,
        call.to,
        call.status,
        call.direction,
        call.date_created,
        call.date_updated,
        call.start_time,
        call.end_time,
        call.duration,
        call.price,
        call.price_unit,
        call.trunk_sid,
        call.queue_time,
        call.uri,
    )


def test_sdk_lists_a_whole_day_through_several_pages(client, sandbox: Sandbox, sandbox_server):
    calls = client.calls.list(
        start_time_after=DAY, start_time_before=DAY + timedelta(days=1), page_size=150
    )
    truth = sandbox.twilio_calls(DAY, DAY + timedelta(days=1))
    assert len(truth) > 600  # five or more pages
    assert [sdk_view(call) for call in calls] == [as_seen_by_sdk(call) for call in truth]


def test_sdk_fetches_one_call(client, sandbox: Sandbox):
    truth = sandbox.twilio_calls(DAY, DAY + timedelta(days=1))[17]
    assert sdk_view(client.calls(truth["sid"]).fetch()) == as_seen_by_sdk(truth)


def test_sdk_raises_on_unknown_call(client):
    with pytest.raises(TwilioRestException) as raised:
        client.calls("CA" + "0" * 32).fetch()
    assert raised.value.status == 404
    assert raised.value.code == 20404


def test_envelope_has_exactly_the_documented_keys_and_keyset_paging(twilio_http, sandbox):
    response = twilio_http.get(CALLS_PATH, params={"StartTime": "2026-01-13", "PageSize": 2})
    assert response.headers["content-type"].startswith("application/json")
    page = response.json()
    assert list(page) == ENVELOPE_KEYS
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert page["previous_page_uri"] is None
    assert page["first_page_uri"] == page["uri"]
    assert page["uri"] == f"{CALLS_PATH}?StartTime=2026-01-13&PageSize=2&Page=0"
    next_query = parse_qs(urlsplit(page["next_page_uri"]).query)
    assert next_query == {
        "StartTime": ["2026-01-13"],
        "PageSize": ["2"],
        "Page": ["1"],
        "PageToken": ["PA" + page["calls"][-1]["sid"]],
    }
    second = twilio_http.get(page["next_page_uri"]).json()
    truth = sandbox.twilio_calls(DAY, DAY + timedelta(days=1))
    assert second["calls"] == truth[2:4]
    assert (second["page"], second["start"], second["end"]) == (1, 2, 3)
    previous = twilio_http.get(second["previous_page_uri"]).json()
    assert previous["calls"] == truth[:2]


def test_filter_keys_keep_their_angle_brackets_in_uris(twilio_http):
    response = twilio_http.get(
        CALLS_PATH, params={"StartTime>": "2026-01-13T10:00:00Z", "PageSize": 1}
    )
    page = response.json()
    assert page["uri"].startswith(f"{CALLS_PATH}?StartTime%3E=2026-01-13T10%3A00%3A00Z&")


def test_page_size_defaults_to_50_and_goes_up_to_1000(twilio_http):
    assert len(twilio_http.get(CALLS_PATH).json()["calls"]) == 50
    page = twilio_http.get(CALLS_PATH, params={"PageSize": 1000}).json()
    assert page["page_size"] == 1000
    assert len(page["calls"]) == 1000


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"PageSize": 5000}, "PageSize"),
        ({"PageSize": 0}, "PageSize"),
        ({"Page": -1}, "Page"),
        ({"Status": "answered"}, "Status"),
    ],
)
def test_parameters_outside_the_spec_are_refused_not_served(twilio_http, params, named):
    response = twilio_http.get(CALLS_PATH, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == 20001
    assert named in response.json()["message"]


def test_date_filters_use_only_the_date(twilio_http, sandbox):
    truth = sandbox.twilio_calls(DAY, DAY + timedelta(days=1))
    whole_day = []
    url = CALLS_PATH
    params = {
        "StartTime>": "2026-01-13T18:45:00Z",  # the time of day is ignored
        "StartTime<": "2026-01-14T06:00:00Z",
        "PageSize": 1000,
    }
    while url:
        page = twilio_http.get(url, params=params).json()
        whole_day += page["calls"]
        url, params = page["next_page_uri"], None
    assert whole_day == truth
    on_day = twilio_http.get(CALLS_PATH, params={"StartTime": "01/13/2026", "PageSize": 1000})
    assert on_day.json()["calls"] == truth[:1000]


def test_exact_filters(twilio_http, sandbox):
    truth = sandbox.twilio_calls(DAY, DAY + timedelta(days=1))
    child = next(call for call in truth if call["parent_call_sid"])
    for key, field in (("To", "to"), ("From", "from"), ("ParentCallSid", "parent_call_sid")):
        page = twilio_http.get(
            CALLS_PATH, params={key: child[field], "StartTime": "2026-01-13", "PageSize": 1000}
        ).json()
        assert page["calls"] == [call for call in truth if call[field] == child[field]]
    busy = twilio_http.get(
        CALLS_PATH, params={"Status": "busy", "StartTime": "2026-01-13", "PageSize": 1000}
    ).json()
    assert busy["calls"] == [call for call in truth if call["status"] == "busy"]


def test_end_time_filters_match_only_ended_calls(twilio_http, sandbox):
    day_after = DAY + timedelta(days=1)
    page = twilio_http.get(CALLS_PATH, params={"EndTime>": "2026-01-14", "PageSize": 1000}).json()
    assert page["calls"]
    for call in page["calls"]:
        assert rfc2822(call["end_time"]) >= day_after


def test_calls_that_have_not_started_sort_by_creation(sandbox: Sandbox):
    calls = sandbox.twilio_calls(NOW - timedelta(hours=2), NOW + timedelta(hours=1))
    keys = [(rfc2822(c["start_time"] or c["date_created"]), c["sid"]) for c in calls]
    assert keys == sorted(keys, reverse=True)
    assert {call["status"] for call in calls} >= {"in-progress", "completed"}


def test_authentication_failures(sandbox_server: SandboxServer):
    other_account = "AC" + "f" * 32
    cases = [
        ({}, CALLS_PATH),
        ({"auth": (ACCOUNT, "wrong-token")}, CALLS_PATH),
        ({"auth": TWILIO_AUTH}, f"/2010-04-01/Accounts/{other_account}/Calls.json"),
        ({"headers": {"Authorization": "Basic !!!"}}, CALLS_PATH),
        ({"headers": {"Authorization": "Bearer " + base64.b64encode(b"x").decode()}}, CALLS_PATH),
    ]
    with httpx.Client(base_url=sandbox_server.url) as plain:
        for options, path in cases:
            response = plain.get(path, **options)
            assert response.status_code == 401
            assert response.json() == UNAUTHORIZED
            assert "wrong-token" not in response.text


def test_unknown_call_and_bad_parameters(twilio_http):
    sid = "CA" + "ab" * 16
    missing = twilio_http.get(call_path(sid))
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 20404,
        "message": f"The requested resource {call_path(sid)} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    for params in ({"StartTime": "yesterday"}, {"PageSize": "ten"}, {"PageToken": "PAnope"}):
        response = twilio_http.get(CALLS_PATH, params=params)
        assert response.status_code == 400
        assert response.json()["code"] == 20001
