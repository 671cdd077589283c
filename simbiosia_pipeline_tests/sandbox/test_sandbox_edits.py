"""What the account's owner can do to a conversation through the ElevenLabs API — delete it, run
its analysis again — changes what the sandbox serves, in the API and in the ground truth alike."""

from __future__ import annotations

from datetime import timedelta

import httpx
from api_schemas import ELEVENLABS_DETAIL, ELEVENLABS_LIST, assert_valid
from sandbox_support import CONVERSATIONS_PATH, ELEVENLABS_HEADERS, NOW

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sandbox.edits import ANALYSIS_SECONDS

WINDOW = (NOW - timedelta(hours=26), NOW - timedelta(hours=24))


def listed(http: httpx.Client) -> dict[str, dict]:
    page = http.get(
        CONVERSATIONS_PATH,
        params={
            "page_size": 100,
            "call_start_after_unix": int(WINDOW[0].timestamp()),
            "call_start_before_unix": int(WINDOW[1].timestamp()),
        },
    ).json()
    assert_valid(ELEVENLABS_LIST, page)
    assert not page["has_more"]
    return {entry["conversation_id"]: entry for entry in page["conversations"]}


def test_a_deleted_conversation_is_gone_and_a_reanalysed_one_processes_again():
    sandbox = Sandbox(SandboxConfig(now=NOW))
    with (
        start_sandbox_server(sandbox) as server,
        httpx.Client(base_url=server.url, headers=ELEVENLABS_HEADERS, timeout=10) as http,
    ):
        before = listed(http)
        done = [cid for cid, entry in before.items() if entry["status"] == "done"]
        deleted, reanalysed = done[0], done[1]

        assert http.delete(f"{CONVERSATIONS_PATH}/{deleted}").json() == {}
        answer = http.post(f"{CONVERSATIONS_PATH}/{reanalysed}/analysis/run")
        assert answer.status_code == 200
        assert_valid(ELEVENLABS_DETAIL, answer.json())
        assert answer.json()["status"] == "processing"
        assert answer.json()["metadata"]["cost"] is None

        after = listed(http)
        assert deleted not in after
        assert http.get(f"{CONVERSATIONS_PATH}/{deleted}").status_code == 404
        assert http.delete(f"{CONVERSATIONS_PATH}/{deleted}").status_code == 404
        assert after[reanalysed]["status"] == "processing"
        truth = {c["conversation_id"]: c for c in sandbox.conversations(*WINDOW)}
        assert deleted not in truth and truth[reanalysed] == answer.json()
        assert after.keys() == before.keys() - {deleted}

        sandbox.set_now(NOW + timedelta(seconds=ANALYSIS_SECONDS))
        detail = http.get(f"{CONVERSATIONS_PATH}/{reanalysed}").json()
        assert detail["status"] == "done" and detail["metadata"]["cost"] is not None
        assert listed(http)[reanalysed] == before[reanalysed]
