"""Every fault kind, the concurrency limits, and the request accounting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sandbox_support import (
    CALLS_PATH,
    CONVERSATIONS_PATH,
    ELEVENLABS_HEADERS,
    NOW,
    TWILIO_AUTH,
    call_path,
)
from twilio.rest import Client

from simbiosia_pipeline.sandbox import (
    FaultConfig,
    Sandbox,
    SandboxConfig,
    SandboxServer,
    start_sandbox_server,
)

WINDOW = (NOW - timedelta(hours=6), NOW)


@pytest.fixture
def admin(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    """Sets faults for one test; afterwards faults are off and stats are zero again."""
    with httpx.Client(base_url=sandbox_server.url, timeout=10) as client:
        yield client
        client.put("/_sandbox/faults", json={}).raise_for_status()
        client.post("/_sandbox/stats/reset").raise_for_status()


def set_faults(admin: httpx.Client, **settings) -> None:
    admin.put("/_sandbox/faults", json=settings).raise_for_status()


def sids(sandbox: Sandbox) -> list[str]:
    return [call["sid"] for call in sandbox.twilio_calls(*WINDOW)]


def burst(url: str, paths: list[str], **client_options) -> list[httpx.Response]:
    """Send all requests at once over separate connections."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(paths))
        async with httpx.AsyncClient(base_url=url, limits=limits, **client_options) as client:
            return await asyncio.gather(*(client.get(path) for path in paths))

    return asyncio.run(run())


def test_latency_is_added_to_every_request(admin, twilio_http, sandbox):
    set_faults(admin, latency_ms=150)
    started = time.perf_counter()
    assert twilio_http.get(call_path(sids(sandbox)[0])).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_jitter_varies_per_request_within_its_bound(admin, twilio_http, sandbox):
    set_faults(admin, jitter_ms=100)
    paths = [call_path(sid) for sid in sids(sandbox)[:8]]
    durations = []
    for path in paths:
        started = time.perf_counter()
        twilio_http.get(path)
        durations.append(time.perf_counter() - started)
    assert max(durations) < 0.5
    assert max(durations) - min(durations) > 0.01


def test_concurrency_limit_answers_429_at_once_with_retry_after(admin, sandbox_server, sandbox):
    set_faults(admin, latency_ms=400, twilio_max_concurrency=2, retry_after_s=3)
    paths = [call_path(sid) for sid in sids(sandbox)[:6]]
    started = time.perf_counter()
    responses = burst(sandbox_server.url, paths, auth=TWILIO_AUTH)
    assert time.perf_counter() - started < 2
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429, 429]
    for response in responses:
        if response.status_code == 429:
            assert response.headers["retry-after"] == "3"
            assert response.json() == {
                "code": 20429,
                "message": "Too Many Requests",
                "more_info": "https://www.twilio.com/docs/errors/20429",
                "status": 429,
            }
    stats = admin.get("/_sandbox/stats").json()
    assert stats["peak_in_flight"]["twilio"] == 2
    assert stats["faults"]["rate_limit"] == 4
    assert stats["responses"]["twilio"] == {"200": 2, "429": 4}


def test_elevenlabs_limit_and_no_retry_after(admin, sandbox_server, sandbox):
    set_faults(admin, latency_ms=400, elevenlabs_max_concurrency=1, retry_after=False)
    ids = [c["conversation_id"] for c in sandbox.conversation_summaries(*WINDOW)[:3]]
    responses = burst(
        sandbox_server.url,
        [f"{CONVERSATIONS_PATH}/{cid}" for cid in ids],
        headers=ELEVENLABS_HEADERS,
    )
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) == 2
    for response in limited:
        assert "retry-after" not in response.headers
        assert response.json()["detail"]["status"] == "too_many_concurrent_requests"


def test_errors_are_transient_and_deterministic(admin, twilio_http, sandbox):
    set_faults(admin, error_rate=0.5)
    paths = [call_path(sid) for sid in sids(sandbox)[:12]]

    def attempts_until_success() -> list[list[int]]:
        history = []
        for path in paths:
            statuses = []
            while not statuses or statuses[-1] != 200:
                response = twilio_http.get(path)
                statuses.append(response.status_code)
                if response.status_code != 200:
                    body = response.json()
                    assert body["status"] == response.status_code
                    assert body["code"] == {500: 20500, 503: 20503}[response.status_code]
                    assert len(statuses) < 30
            history.append(statuses)
        return history

    first = attempts_until_success()
    codes = {status for statuses in first for status in statuses}
    assert codes == {200, 500, 503}
    set_faults(admin, error_rate=0.5)  # replacing the config restarts the attempt counters
    assert attempts_until_success() == first


def test_hang_answers_only_after_hang_seconds(admin, sandbox_server, sandbox):
    set_faults(admin, hang_rate=1.0, hang_seconds=0.6)
    path = call_path(sids(sandbox)[0])
    impatient = httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH, timeout=0.2)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(path)
    with httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH, timeout=5) as patient:
        started = time.perf_counter()
        assert patient.get(path).status_code == 200
        assert time.perf_counter() - started >= 0.6


def test_truncated_body_is_a_200_with_broken_json(admin, elevenlabs_http, sandbox):
    set_faults(admin, truncate_rate=1.0)
    conversation_id = sandbox.conversation_summaries(*WINDOW)[0]["conversation_id"]
    response = elevenlabs_http.get(f"{CONVERSATIONS_PATH}/{conversation_id}")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert admin.get("/_sandbox/stats").json()["faults"]["truncate"] == 1


def test_reset_drops_the_connection_mid_body(admin, twilio_http):
    set_faults(admin, reset_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        twilio_http.get(CALLS_PATH, params={"PageSize": 200})
    assert admin.get("/_sandbox/stats").json()["faults"]["reset"] == 1


def test_duplicates_repeat_records_but_lose_none(admin, sandbox_server, sandbox):
    set_faults(admin, duplicate_rate=1.0)
    client = Client(*TWILIO_AUTH)
    client.api.base_url = sandbox_server.url
    day = NOW.replace(hour=0, minute=0) - timedelta(days=1)
    listed = [
        call.sid
        for call in client.calls.list(
            start_time_after=day, start_time_before=day + timedelta(days=1), page_size=50
        )
    ]
    truth = [call["sid"] for call in sandbox.twilio_calls(day, day + timedelta(days=1))]
    assert len(listed) > len(truth)
    assert list(dict.fromkeys(listed)) == truth
    assert admin.get("/_sandbox/stats").json()["faults"]["duplicate"] > 5


def test_cursor_expiry_refuses_some_cursors_and_retries_succeed(admin, elevenlabs_http, sandbox):
    set_faults(admin, cursor_expiry_rate=0.5)
    params = {
        "page_size": 20,
        "call_start_after_unix": int(WINDOW[0].timestamp()),
        "call_start_before_unix": int(WINDOW[1].timestamp()),
    }
    seen, refused, cursor = [], 0, None
    while True:
        response = elevenlabs_http.get(CONVERSATIONS_PATH, params={**params, "cursor": cursor})
        if response.status_code == 400:
            assert response.json()["detail"]["status"] == "invalid_cursor"
            refused += 1
            continue
        page = response.json()
        seen += [c["conversation_id"] for c in page["conversations"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert refused > 0
    truth = sandbox.conversation_summaries(*WINDOW)
    assert seen == [c["conversation_id"] for c in truth]


def test_missing_details_are_listed_but_permanently_404(admin, elevenlabs_http, sandbox):
    set_faults(admin, missing_detail_rate=0.2)
    ids = [c["conversation_id"] for c in sandbox.conversation_summaries(*WINDOW)[:40]]
    missing = [
        cid for cid in ids if elevenlabs_http.get(f"{CONVERSATIONS_PATH}/{cid}").status_code == 404
    ]
    assert 0 < len(missing) < len(ids)
    for cid in missing:
        again = elevenlabs_http.get(f"{CONVERSATIONS_PATH}/{cid}")
        assert again.status_code == 404
        assert again.json()["detail"]["status"] == "conversation_not_found"


def test_stats_count_requests_and_reset(admin, twilio_http, elevenlabs_http):
    admin.post("/_sandbox/stats/reset")
    twilio_http.get(CALLS_PATH)
    elevenlabs_http.get(CONVERSATIONS_PATH)
    elevenlabs_http.get(f"{CONVERSATIONS_PATH}/conv_{'0' * 28}")
    stats = admin.get("/_sandbox/stats").json()
    assert stats["requests"] == {"twilio": 1, "elevenlabs": 2}
    assert stats["responses"] == {"twilio": {"200": 1}, "elevenlabs": {"200": 1, "404": 1}}
    assert stats["peak_in_flight"] == {"twilio": 1, "elevenlabs": 1}
    reset = admin.post("/_sandbox/stats/reset").json()
    assert reset["requests"] == {"twilio": 0, "elevenlabs": 0}


def test_fault_config_endpoint_validates(admin):
    assert admin.get("/_sandbox/faults").json() == FaultConfig().to_dict()
    assert admin.put("/_sandbox/faults", json={"error_rate": 2}).status_code == 422
    assert admin.put("/_sandbox/faults", json={"no_such_fault": 1}).status_code == 422
    assert admin.put("/_sandbox/faults", json=[1]).status_code == 422
    accepted = admin.put("/_sandbox/faults", json={"hang_rate": 0.1}).json()
    assert accepted == {**FaultConfig().to_dict(), "hang_rate": 0.1}


def test_faults_do_not_depend_on_which_server_or_interleaving(sandbox):
    config = SandboxConfig(now=NOW)
    faults = FaultConfig(error_rate=0.3, truncate_rate=0.2)
    paths = [call_path(sid) for sid in sids(sandbox)[:15]]
    outcomes = []
    for order in (paths, paths[::-1]):
        with (
            start_sandbox_server(Sandbox(config), faults) as fresh,
            httpx.Client(base_url=fresh.url, auth=TWILIO_AUTH) as client,
        ):
            # Each path twice: its first and second attempt.
            seen = {
                path: (client.get(path).status_code, client.get(path).status_code) for path in order
            }
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
