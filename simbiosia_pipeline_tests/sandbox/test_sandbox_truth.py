"""Ground truth is what the API serves, servers are deterministic, and time moves records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sandbox_support import (
    CALLS_PATH,
    CONVERSATIONS_PATH,
    ELEVENLABS_HEADERS,
    NOW,
    TWILIO_AUTH,
    call_path,
    rfc2822,
)

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server

# Crosses midnight UTC, so the Twilio side needs two day-granular list queries.
WINDOW = (datetime(2026, 1, 12, 21, tzinfo=UTC), datetime(2026, 1, 13, 3, tzinfo=UTC))


def list_twilio_day(client: httpx.Client, day: str) -> list[dict]:
    calls, url, params = [], CALLS_PATH, {"StartTime": day, "PageSize": 100}
    while url:
        response = client.get(url, params=params)
        calls += response.json()["calls"]
        url, params = response.json()["next_page_uri"], None
    return calls


def list_conversations(client: httpx.Client, start: datetime, end: datetime) -> list[dict]:
    params = {
        "call_start_after_unix": int(start.timestamp()),
        "call_start_before_unix": int(end.timestamp()),
        "page_size": 25,
    }
    items, cursor = [], None
    while True:
        page = client.get(CONVERSATIONS_PATH, params={**params, "cursor": cursor}).json()
        items += page["conversations"]
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]


def in_window(call: dict) -> bool:
    return WINDOW[0] <= rfc2822(call["start_time"] or call["date_created"]) < WINDOW[1]


def test_ground_truth_is_what_the_api_serves_across_a_day_boundary(sandbox, sandbox_server):
    with httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH) as twilio:
        served = [
            call
            for day in ("2026-01-12", "2026-01-13")
            for call in list_twilio_day(twilio, day)
            if in_window(call)
        ]
        truth = sandbox.twilio_calls(*WINDOW)
        assert len(truth) > 20
        assert sorted(served, key=lambda c: c["sid"]) == sorted(truth, key=lambda c: c["sid"])
        for call in truth[:15]:
            assert twilio.get(call_path(call["sid"])).content == orjson.dumps(call)
    with httpx.Client(base_url=sandbox_server.url, headers=ELEVENLABS_HEADERS) as elevenlabs:
        assert list_conversations(elevenlabs, *WINDOW) == sandbox.conversation_summaries(*WINDOW)
        details = sandbox.conversations(*WINDOW)
        assert len(details) > 10
        for body in details:
            fetched = elevenlabs.get(f"{CONVERSATIONS_PATH}/{body['conversation_id']}")
            assert fetched.content == orjson.dumps(body)


def test_two_servers_with_the_same_config_serve_identical_bytes():
    config = SandboxConfig(seed=11, now=NOW)
    requests = [
        (CALLS_PATH, {"StartTime": "2026-01-14", "PageSize": 200}),
        (CALLS_PATH, {"StartTime>": "2026-01-13", "PageSize": 7, "Page": 3}),
        (CONVERSATIONS_PATH, {"page_size": 100}),
    ]
    bodies = []
    for _ in range(2):
        sandbox = Sandbox(config)
        with start_sandbox_server(sandbox) as server:
            conversation = sandbox.conversation_summaries(NOW - timedelta(hours=1), NOW)[0]
            call = sandbox.twilio_calls(NOW - timedelta(hours=1), NOW)[0]
            paths = [
                *requests,
                (f"{CONVERSATIONS_PATH}/{conversation['conversation_id']}", {}),
                (call_path(call["sid"]), {}),
            ]
            with httpx.Client(
                base_url=server.url, auth=TWILIO_AUTH, headers=ELEVENLABS_HEADERS
            ) as client:
                bodies.append([client.get(path, params=params).content for path, params in paths])
    assert bodies[0] == bodies[1]
    assert all(len(body) > 100 for body in bodies[0])


def test_records_move_through_their_lifecycle_as_the_clock_advances():
    sandbox = Sandbox(SandboxConfig(now=NOW))
    recent = (NOW - timedelta(hours=1), NOW + timedelta(seconds=1))
    unpriced = next(
        c for c in sandbox.twilio_calls(*recent) if c["status"] == "completed" and not c["price"]
    )
    live_call = next(c for c in sandbox.twilio_calls(*recent) if c["status"] == "in-progress")
    processing = next(
        c for c in sandbox.conversations(*recent) if c["status"] in ("in-progress", "processing")
    )
    assert processing["metadata"]["cost"] is None
    assert processing["analysis"] is None
    later = NOW + timedelta(days=4)  # past the slowest rating delay (72 h)
    with start_sandbox_server(sandbox) as server:
        with httpx.Client(base_url=server.url) as admin:
            assert admin.get("/_sandbox/clock").json() == {
                "now": "2026-01-14T15:30:00Z",
                "fixed": True,
            }
            moved = admin.put("/_sandbox/clock", json={"now": later.isoformat()})
            assert moved.json() == {"now": "2026-01-18T15:30:00Z", "fixed": True}
            assert admin.put("/_sandbox/clock", json={"now": "soon"}).status_code == 422
        with httpx.Client(base_url=server.url, auth=TWILIO_AUTH) as twilio:
            priced = twilio.get(call_path(unpriced["sid"])).json()
            ended = twilio.get(call_path(live_call["sid"])).json()
        with httpx.Client(base_url=server.url, headers=ELEVENLABS_HEADERS) as elevenlabs:
            path = f"{CONVERSATIONS_PATH}/{processing['conversation_id']}"
            settled = elevenlabs.get(path).json()
    assert priced["price"] is not None
    assert priced["price"].startswith("-")
    assert rfc2822(priced["date_updated"]) > rfc2822(unpriced["date_updated"])
    assert ended["status"] == "completed"
    assert ended["end_time"] is not None
    assert int(ended["duration"]) > 0
    assert settled["status"] in ("done", "failed")
    charging = settled["metadata"]["charging"]
    assert settled["metadata"]["cost"] == charging["call_charge"] + charging["llm_charge"]
    assert (settled["analysis"] is not None) == (settled["status"] == "done")


def test_the_clock_can_return_to_the_wall_clock():
    box = Sandbox(SandboxConfig(now=NOW))
    with start_sandbox_server(box) as server, httpx.Client(base_url=server.url) as admin:
        clock = admin.put("/_sandbox/clock", json={"now": None}).json()
    assert clock["fixed"] is False
    assert datetime.fromisoformat(clock["now"]) > NOW
