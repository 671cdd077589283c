"""Each attribution rule, on hand-made records, through the real dbt models.

One window — 2025-09-30 23:00 to 2025-10-01 01:00 UTC — holds a record for every rule and edge
case; what lies outside it (parents of child legs, earlier calls to a lead) is reached by the
models through history lookups. Number +34881193139 passes from workspace 4 to workspace 5 at
2025-10-01 00:00, in the middle of the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simbiosia_pipeline.workspaces import Directory
from simbiosia_pipeline_tests import expected
from simbiosia_pipeline_tests.transform.api_records import conversation, twilio_call

START = datetime(2025, 9, 30, 23, tzinfo=UTC)
END = START + timedelta(hours=2)
HANDOVER = datetime(2025, 10, 1, tzinfo=UTC)
T = START + timedelta(minutes=10)

DIRECTORY = Directory.model_validate(
    {
        "catch_all_workspace": 1,
        "workspaces": [
            {"id": 1, "name": "Otros Números"},
            {
                "id": 4,
                "name": "Workspace Principal",
                "phones": [
                    {"number": "+34930340228", "primary": True},
                    {
                        "number": "+34881193139",
                        "valid_from": "2025-08-01",
                        "valid_to": "2025-10-01",
                    },
                ],
            },
            {
                "id": 5,
                "name": "Workspace Secundario",
                "phones": [
                    {"number": "+34911677200", "primary": True},
                    {"number": "+34881193139", "valid_from": "2025-10-01"},
                ],
            },
            {"id": 6, "name": "Widget", "agents": ["agent_web"]},
        ],
    }
)

WS4, WS5, SHARED, UNOWNED_SIP = "+34930340228", "+34911677200", "+34881193139", "+34999000111"


def sip(number: str) -> str:
    return f"sip:{number}@public-vip.ie1.twilio.com"


parent_earlier_hour = twilio_call(
    "outbound-api", WS4, "+34600000010", START - timedelta(minutes=70)
)
child = twilio_call("outbound-dial", WS4, "+34910000000", T, parent=parent_earlier_hour["sid"])

# (call, expected workspace, expected rule), and records outside the window they rely on
CALLS = {
    "outbound-api by from": (twilio_call("outbound-api", WS4, "+34600000001", T), 4, "from_number"),
    "from written with 00 and dashes": (
        twilio_call("outbound-api", "0034 930-340-228", "+34600000001", T),
        4,
        "from_number",
    ),
    "from written as bare digits": (
        twilio_call("trunking-terminating", "34930340228", "+34600000001", T),
        4,
        "from_number",
    ),
    "before the handover": (
        twilio_call("outbound-api", SHARED, "+34600000001", HANDOVER - timedelta(seconds=1)),
        4,
        "from_number",
    ),
    "at the handover": (
        twilio_call("outbound-api", "+34 881 193 139", "+34600000001", HANDOVER),
        5,
        "from_number",
    ),
    "inbound by to": (twilio_call("inbound", "+34600000003", WS5, T), 5, "to_number"),
    "SIP URI number": (
        twilio_call("trunking-originating", "+34600000004", sip(WS4), T),
        4,
        "sip_uri_number",
    ),
    "lead called 18 h before": (
        twilio_call("trunking-originating", "+34 600 000 005", sip(UNOWNED_SIP), T),
        5,
        "recent_lead_call",
    ),
    "lead called 25 h before": (
        twilio_call("trunking-originating", "+34600000006", sip(UNOWNED_SIP), T),
        1,
        "catch_all",
    ),
    "lead called by two, the latest wins": (
        twilio_call("trunking-originating", "+34600000007", sip(UNOWNED_SIP), T),
        5,
        "recent_lead_call",
    ),
    "child leg of a call in an earlier hour": (child, 4, "parent_call"),
    "grandchild leg": (
        twilio_call(
            "outbound-dial", WS4, "+34910000001", T + timedelta(minutes=5), parent=child["sid"]
        ),
        4,
        "parent_call",
    ),
    "child leg whose parent is unknown": (
        twilio_call("outbound-dial", WS4, "+34910000002", T, parent="CA" + "f" * 32),
        1,
        "catch_all",
    ),
    "unknown number": (
        twilio_call("outbound-api", "+34999000222", "+34600000001", T),
        1,
        "catch_all",
    ),
    "not a phone number": (
        twilio_call("outbound-api", "client:alice", "+34600000001", T),
        1,
        "catch_all",
    ),
    "never started (created time)": (
        twilio_call(
            "outbound-api",
            WS4,
            "+34600000001",
            None,
            created=T,
            duration=None,
            price=None,
            status="canceled",
        ),
        4,
        "from_number",
    ),
    "other direction without parent": (
        twilio_call("outbound-dial", WS4, "+34600000001", T),
        1,
        "catch_all",
    ),
}

HISTORY = [
    parent_earlier_hour,
    twilio_call("outbound-api", WS5, "+34600000005", T - timedelta(hours=18)),
    twilio_call("outbound-api", WS4, "+34600000005", T - timedelta(hours=30)),
    twilio_call("outbound-api", WS4, "+34600000006", T - timedelta(hours=25)),
    twilio_call("outbound-api", WS4, "+34600000007", T - timedelta(hours=20)),
    twilio_call("trunking-terminating", WS5, "+34600000007", T - timedelta(hours=2)),
]

CONVERSATIONS = {
    "agent_number": (conversation(T, agent_number=WS4), 4, "agent_number"),
    "agent_number written with 00": (
        conversation(T, agent_number="0034911677200"),
        5,
        "agent_number",
    ),
    "agent_number before the handover": (
        conversation(HANDOVER - timedelta(minutes=1), agent_number=SHARED),
        4,
        "agent_number",
    ),
    "agent_number after the handover": (
        conversation(HANDOVER, agent_number=SHARED),
        5,
        "agent_number",
    ),
    "web widget of a listed agent": (
        conversation(T, agent_id="agent_web", phone_type=None),
        6,
        "agent_id",
    ),
    "web widget of an unlisted agent": (
        conversation(T, agent_id="agent_unknown", phone_type=None),
        1,
        "catch_all",
    ),
    "unowned number of a listed agent": (
        conversation(T, agent_id="agent_web", agent_number="+34999000333"),
        1,
        "catch_all",
    ),
}


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.load_directory(DIRECTORY)
    calls = [call for call, _, _ in CALLS.values()]
    conversations = [detail for detail, _, _ in CONVERSATIONS.values()]
    warehouse.store(calls + HISTORY, conversations)
    warehouse.build(START, END)
    return warehouse


def staged(warehouse, table: str, key: str) -> dict[str, tuple[int, str]]:
    return {
        row["id"]: (row["workspace_id"], row["attribution_rule"])
        for row in warehouse.rows(
            f"SELECT {key} AS id, workspace_id, attribution_rule FROM staging.{table}"
        )
    }


@pytest.mark.parametrize("case", CALLS)
def test_twilio_call(built, case):
    call, workspace_id, rule = CALLS[case]
    assert staged(built, "stg_twilio_calls", "sid")[call["sid"]] == (workspace_id, rule)


@pytest.mark.parametrize("case", CONVERSATIONS)
def test_elevenlabs_conversation(built, case):
    detail, workspace_id, rule = CONVERSATIONS[case]
    staged_conversations = staged(built, "stg_elevenlabs_conversations", "conversation_id")
    assert staged_conversations[detail["conversation_id"]] == (workspace_id, rule)


def test_only_the_window_is_staged_and_nothing_is_dropped(built):
    assert staged(built, "stg_twilio_calls", "sid").keys() == {
        c["sid"] for c, _, _ in CALLS.values()
    }
    assert len(staged(built, "stg_elevenlabs_conversations", "conversation_id")) == len(
        CONVERSATIONS
    )


def test_the_reference_implementation_agrees(built):
    everything = [call for call, _, _ in CALLS.values()] + HISTORY
    reference = expected.attribute_calls(everything, DIRECTORY)
    for sid, decided in staged(built, "stg_twilio_calls", "sid").items():
        assert (reference[sid].workspace_id, reference[sid].rule) == decided
    reference = expected.attribute_conversations(
        [detail for detail, _, _ in CONVERSATIONS.values()], DIRECTORY
    )
    for conversation_id, decided in staged(
        built, "stg_elevenlabs_conversations", "conversation_id"
    ).items():
        assert (reference[conversation_id].workspace_id, reference[conversation_id].rule) == decided


def test_rule_counts(built):
    counts = {
        (row["source"], row["attribution_rule"]): row["records"]
        for row in built.rows("SELECT * FROM staging.attribution_rule_counts")
    }
    for source, cases in (("twilio", CALLS), ("elevenlabs", CONVERSATIONS)):
        for rule in {rule for _, _, rule in cases.values()}:
            assert counts[(source, rule)] == sum(r == rule for _, _, r in cases.values())


def test_unattributed_numbers_list_what_fell_to_the_catch_all(built):
    listed = {
        row["phone_number"]: (row["is_e164"], row["twilio_calls"], row["elevenlabs_conversations"])
        for row in built.rows("SELECT * FROM unattributed_numbers")
    }
    assert listed == {
        "+34999000222": (True, 1, 0),
        UNOWNED_SIP: (True, 1, 0),  # the callback whose lead was called too long ago
        "client:alice": (False, 1, 0),
        "+34999000333": (True, 0, 1),
    }


def test_the_lead_lookup_uses_the_raw_index(built):
    # The expression of the index (attribution.sql) and of the model must match, or the lookup
    # would scan all history; forbid sequential scans and look at the plan the lateral query gets.
    with built.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            row["QUERY PLAN"]
            for row in conn.execute(
                """EXPLAIN SELECT from_number FROM raw.twilio_calls
                   WHERE direction IN ('outbound-api', 'trunking-terminating')
                     AND raw.normalize_e164(to_number) = '+34600000005'
                     AND event_time >= now() - interval '24 hours' AND event_time <= now()
                   ORDER BY event_time DESC, sid COLLATE "C" DESC LIMIT 1"""
            )
        )
    assert "twilio_calls_outbound_lead_idx" in plan
