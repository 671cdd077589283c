"""Anomalies: named records served altered, the same in the API and in the ground truth."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sandbox_support import ELEVENLABS_HEADERS, NOW, TWILIO_AUTH, call_path

from simbiosia_pipeline.sandbox import Anomaly, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sandbox.anomalies import PADDING_FIELD

WINDOW = (NOW - timedelta(hours=6), NOW - timedelta(hours=3))
CLEAN = Sandbox(SandboxConfig(now=NOW))
CALL = CLEAN.twilio_calls(*WINDOW)[0]
CONVERSATION, MISSING = CLEAN.conversations(*WINDOW)[:2]
ANOMALIES = {
    CALL["sid"]: {"set": {"direction": "outbound-whatsapp", "price": None}, "pad_bytes": 1000},
    CONVERSATION["conversation_id"]: {
        "set": {"metadata.start_time_unix_secs": 0},
        "drop": ["agent_id"],
    },
    MISSING["conversation_id"]: {"missing": True},
}


@pytest.fixture(scope="module")
def altered():
    sandbox = Sandbox(SandboxConfig(now=NOW, anomalies=ANOMALIES))
    with start_sandbox_server(sandbox) as server:
        yield sandbox, server.url


def test_a_twilio_anomaly_is_served_in_lists_and_fetches_and_in_the_truth(altered):
    sandbox, url = altered
    (truth,) = [c for c in sandbox.twilio_calls(*WINDOW) if c["sid"] == CALL["sid"]]
    fetched = httpx.get(url + call_path(CALL["sid"]), auth=TWILIO_AUTH).json()
    assert fetched == truth
    assert (truth["direction"], truth["price"]) == ("outbound-whatsapp", None)
    assert truth[PADDING_FIELD] == "x" * 1000
    assert {k: v for k, v in truth.items() if k not in ("direction", "price", PADDING_FIELD)} == {
        k: v for k, v in CALL.items() if k not in ("direction", "price")
    }
    # filtering and ordering still follow the generated record
    assert [c["sid"] for c in sandbox.twilio_calls(*WINDOW)] == [
        c["sid"] for c in CLEAN.twilio_calls(*WINDOW)
    ]


def test_an_elevenlabs_anomaly_changes_the_detail_not_the_list(altered):
    sandbox, url = altered
    conversation_id = CONVERSATION["conversation_id"]
    detail = httpx.get(
        f"{url}/v1/convai/conversations/{conversation_id}", headers=ELEVENLABS_HEADERS
    ).json()
    assert detail["metadata"]["start_time_unix_secs"] == 0 and "agent_id" not in detail
    summaries = sandbox.conversation_summaries(*WINDOW)
    (summary,) = [s for s in summaries if s["conversation_id"] == conversation_id]
    assert summary["start_time_unix_secs"] == CONVERSATION["metadata"]["start_time_unix_secs"]


def test_a_missing_detail_answers_404_while_the_list_shows_it(altered):
    sandbox, url = altered
    conversation_id = MISSING["conversation_id"]
    answer = httpx.get(
        f"{url}/v1/convai/conversations/{conversation_id}", headers=ELEVENLABS_HEADERS
    )
    assert answer.status_code == 404
    listed = {s["conversation_id"] for s in sandbox.conversation_summaries(*WINDOW)}
    assert conversation_id in listed
    assert conversation_id not in {d["conversation_id"] for d in sandbox.conversations(*WINDOW)}


def test_anomalies_are_validated():
    with pytest.raises(ValueError, match="unknown anomaly settings"):
        SandboxConfig(anomalies={"CA1": {"replace": {}}})
    with pytest.raises(ValueError, match="dotted field path"):
        Anomaly(set={"metadata.": 1})
    with pytest.raises(ValueError, match="not an object"):
        Anomaly(set={"sid.x": 1}).apply({"sid": "CA1"})
