"""Scenario 6: bad input gets a clear error or a documented outcome, and nothing is lost.

The sandbox serves chosen records altered (``SandboxConfig.anomalies``). The warehouse is first
loaded — raw, directory, snapshots — from a sandbox whose anomalies the pipeline must *store*
(documented outcomes below); then every input the pipeline must *refuse* is served on top of
it, one at a time, and each run must fail with a message naming the record (or the setting)
while the warehouse stays exactly as it was. The scenario ends with the usual assertion: raw
tables and snapshots equal the ground truth of what was stored.

Stored, with their outcome (README, "Bad input"):

* a Twilio direction nobody documented → stored, attributed to the catch-all workspace;
* an ElevenLabs status nobody documented → stored, counted as not final (``unsettled``);
* numbers that are not E.164 (``anonymous``, ``client:alice``, a national number) → stored,
  catch-all; a number written another way (``0034 911 …``) → normalised, attributed as usual;
* huge payloads (3 MB) → stored intact.

Refused — the run fails naming the record, nothing of its window is written:

* a null or missing field the pipeline relies on (a Twilio ``sid``/``direction``, an
  ElevenLabs ``agent_id``/``status``/start time), a date or an amount that does not parse;
* a conversation whose detail answers 404 while the list shows it;
* a conversation whose detail starts outside the window the list placed it in.

And the settings: a malformed workspaces file (every problem with its line; the previous
directory stays), a wrong database URL (what is wrong, no password), wrong credentials (401:
which variables to check, no retries).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.definitions import elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sources.refetch import FULL_REFETCH_TAG
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.reliability.truth import (
    failure_text,
    load_directory_asset,
    materialize_window,
    step_retries,
    verify_against_truth,
)
from simbiosia_pipeline_tests.support import materialize_raw
from simbiosia_testing.local_servers import create_database, drop_database, free_port
from simbiosia_testing.truth import WindowTruth, raw_mismatches

pytestmark = pytest.mark.slow  # a window built, then bad input each run

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 9, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
SEED, SCALE = 61, 0.4
CLEAN = Sandbox(SandboxConfig(seed=SEED, scale=SCALE, now=NOW))
CALLS = [call for call in CLEAN.twilio_calls(START, END) if not call["parent_call_sid"]]
CONVERSATIONS = CLEAN.conversations(START, END)
MB = 1_000_000


def call(direction: str, nth: int = 0) -> dict:
    return [c for c in CALLS if c["direction"] == direction][nth]


def conversation(phone_type: str | None, nth: int = 0) -> dict:
    return [
        c for c in CONVERSATIONS if (c["metadata"]["phone_call"] or {}).get("type") == phone_type
    ][nth]


def spaced_out(e164: str) -> str:
    """``+34911674282`` as a person might write it: ``0034 911-67-42-82``."""
    digits = e164[3:]
    return f"00{e164[1:3]} {digits[:3]}-{digits[3:5]}-{digits[5:7]}-{digits[7:]}"


UNKNOWN_DIRECTION = call("outbound-api", 0)
ANONYMOUS_CALLER = call("outbound-api", 1)
SPACED_OUT_CALLER = call("outbound-api", 2)
CLIENT_DESTINATION = call("inbound", 0)
HUGE_CALL = call("trunking-terminating", 0)
UNKNOWN_STATUS = conversation("twilio", 0)
NATIONAL_AGENT_NUMBER = conversation("twilio", 1)
HUGE_CONVERSATION = conversation("sip_trunking", 0)

STORED = {
    UNKNOWN_DIRECTION["sid"]: {"set": {"direction": "outbound-whatsapp"}},
    ANONYMOUS_CALLER["sid"]: {"set": {"from": "anonymous"}},
    SPACED_OUT_CALLER["sid"]: {"set": {"from": spaced_out(SPACED_OUT_CALLER["from"])}},
    CLIENT_DESTINATION["sid"]: {"set": {"to": "client:alice", "price_unit": None}},
    HUGE_CALL["sid"]: {"pad_bytes": 3 * MB},
    UNKNOWN_STATUS["conversation_id"]: {"set": {"status": "transcribing"}},
    NATIONAL_AGENT_NUMBER["conversation_id"]: {
        "set": {"metadata.phone_call.agent_number": "930 34 35 36"}
    },
    HUGE_CONVERSATION["conversation_id"]: {"pad_bytes": 3 * MB},
}
BASE = Sandbox(SandboxConfig(seed=SEED, scale=SCALE, now=NOW, anomalies=STORED))

_spare_calls = iter(call("trunking-terminating", n) for n in range(1, 10))
_spare_conversations = iter(conversation("twilio", n) for n in range(2, 12))


def _next_call() -> str:
    return next(_spare_calls)["sid"]


def _next_conversation() -> str:
    return next(_spare_conversations)["conversation_id"]


@dataclass(frozen=True)
class Refused:
    """A bad record, the asset that reads it, and what the error must say."""

    what: str
    record_id: str
    anomaly: dict
    asset: dg.AssetsDefinition
    says: tuple[str, ...]  # besides the record id, unless the id itself is what is missing
    retried: bool = False  # permanent errors fail at once; a failed fetch gets step retries
    names_the_record: bool = True


_OUTSIDE = int((START - timedelta(days=2)).timestamp())  # 2025-10-06, the list says 2025-10-08
REFUSED = [
    Refused("Twilio call with a null direction", _next_call(), {"set": {"direction": None}},
            twilio_calls, ("'direction'",)),
    Refused("Twilio call without a sid", _next_call(), {"drop": ["sid"]},
            twilio_calls, ("no 'sid'", "2025-10-08"), names_the_record=False),
    Refused("Twilio start time that is not a date", _next_call(),
            {"set": {"start_time": "yesterday"}}, twilio_calls, ("start_time", "yesterday")),
    Refused("Twilio date_updated that is not a date", _next_call(),
            {"set": {"date_updated": "soon"}}, twilio_calls, ("date_updated", "soon")),
    Refused("Twilio price that is not a number", _next_call(), {"set": {"price": "a dollar"}},
            twilio_calls, ("price", "a dollar")),
    Refused("ElevenLabs conversation without agent_id", _next_conversation(),
            {"drop": ["agent_id"]}, elevenlabs_conversations, ("'agent_id'",)),
    Refused("ElevenLabs conversation with a null status", _next_conversation(),
            {"set": {"status": None}}, elevenlabs_conversations, ("'status'",)),
    Refused("ElevenLabs cost that is not a number", _next_conversation(),
            {"set": {"metadata.cost": "lots"}}, elevenlabs_conversations,
            ("metadata.cost", "lots")),
    Refused("ElevenLabs detail without a start time", _next_conversation(),
            {"set": {"metadata.start_time_unix_secs": None}}, elevenlabs_conversations,
            ("start_time_unix_secs",)),
    Refused("ElevenLabs detail 404 while the list has it", _next_conversation(),
            {"missing": True}, elevenlabs_conversations, ("404",), retried=True),
    Refused("ElevenLabs detail starting outside the window the list placed it in",
            _next_conversation(), {"set": {"metadata.start_time_unix_secs": _OUTSIDE}},
            elevenlabs_conversations, ("outside", "2025-10-06")),
]  # fmt: skip
OUTCOMES: list[str] = []
STARTED: dict[str, float] = {}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[str]:
    """A warehouse holding the window as stored from BASE: raw, directory and snapshots."""
    STARTED["scenario"] = time.monotonic()
    url = create_database()
    with pytest.MonkeyPatch.context() as env, dg.instance_for_test() as instance:
        env.setenv("SIMBIOSIA_DATABASE_URL", url)
        env.setenv("SIMBIOSIA_HOME", str(tmp_path_factory.mktemp("home")))
        with start_sandbox_server(BASE) as server:
            load_directory_asset(instance)
            materialize_window(server.url, START, END, instance=instance)
        yield url
    drop_database(url)


def raw_problems(url: str) -> list[str]:
    with connect(url) as conn:
        return raw_mismatches(conn, WindowTruth.of(BASE, START, END))


# --- stored, with a documented outcome -------------------------------------------------------


def staging_row(url: str, table: str, key: str, record_id: str) -> dict:
    with connect(url) as conn:
        cursor = conn.execute(
            f"SELECT workspace_id, attribution_rule, * FROM staging.{table} WHERE {key} = %s",
            (record_id,),
        )
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=False))


def test_unknown_direction_is_stored_and_falls_to_the_catch_all(loaded):
    row = staging_row(loaded, "stg_twilio_calls", "sid", UNKNOWN_DIRECTION["sid"])
    assert (row["direction"], row["workspace_id"], row["attribution_rule"]) == (
        "outbound-whatsapp", 1, "catch_all"
    )  # fmt: skip
    OUTCOMES.append("unknown Twilio direction: stored, catch-all")


def test_numbers_that_are_not_e164_fall_to_the_catch_all(loaded):
    for record in (ANONYMOUS_CALLER, CLIENT_DESTINATION):
        row = staging_row(loaded, "stg_twilio_calls", "sid", record["sid"])
        assert (row["workspace_number"], row["workspace_id"], row["attribution_rule"]) == (
            None, 1, "catch_all"
        )  # fmt: skip
    row = staging_row(
        loaded, "stg_elevenlabs_conversations", "conversation_id",
        NATIONAL_AGENT_NUMBER["conversation_id"],
    )  # fmt: skip
    assert (row["agent_number"], row["workspace_id"], row["attribution_rule"]) == (
        "930 34 35 36", 1, "catch_all"
    )  # fmt: skip
    OUTCOMES.append("non-E.164 numbers: stored, catch-all")


def test_a_number_written_another_way_is_attributed_as_usual(loaded):
    row = staging_row(loaded, "stg_twilio_calls", "sid", SPACED_OUT_CALLER["sid"])
    assert row["from_number"] == spaced_out(SPACED_OUT_CALLER["from"])
    assert (row["workspace_number"], row["attribution_rule"]) == (
        SPACED_OUT_CALLER["from"], "from_number"
    )  # fmt: skip
    assert row["workspace_id"] != 1
    OUTCOMES.append("number written 0034 …: normalised, attributed")


def test_unknown_status_is_stored_as_not_final(loaded):
    row = staging_row(
        loaded, "stg_elevenlabs_conversations", "conversation_id",
        UNKNOWN_STATUS["conversation_id"],
    )  # fmt: skip
    assert (row["status"], row["is_final"]) == ("transcribing", False)
    OUTCOMES.append("unknown ElevenLabs status: stored, not final")


def test_huge_payloads_are_stored_whole(loaded):
    with connect(loaded) as conn:
        sizes = conn.execute(
            "SELECT (SELECT octet_length(payload::text) FROM raw.twilio_calls WHERE sid = %s),"
            " (SELECT octet_length(payload::text) FROM raw.elevenlabs_conversations"
            "  WHERE conversation_id = %s)",
            (HUGE_CALL["sid"], HUGE_CONVERSATION["conversation_id"]),
        ).fetchone()
    assert all(size > 3 * MB for size in sizes)
    OUTCOMES.append("3 MB payloads: stored whole")


# --- refused, naming the record ----------------------------------------------------------------


def refused_cases():
    for case in REFUSED:
        yield pytest.param(case, id=case.what)


@pytest.mark.parametrize("case", list(refused_cases()))
def test_bad_record_fails_the_run_naming_it_and_changes_nothing(loaded, case: Refused):
    served = Sandbox(
        SandboxConfig(
            seed=SEED, scale=SCALE, now=NOW, anomalies={**STORED, case.record_id: case.anomaly}
        )
    )
    with start_sandbox_server(served) as server:
        # every detail fetched again: the bad one belongs to a conversation stored final, which a
        # re-run would otherwise keep as stored without asking for it
        result = materialize_raw(
            server.url,
            START,
            END,
            assets=[case.asset],
            raise_on_error=False,
            tags={FULL_REFETCH_TAG: "true"},
        )
    assert not result.success, case.what
    message = failure_text(result)
    for text in ((case.record_id,) if case.names_the_record else ()) + case.says:
        assert text in message, f"{case.what}: {text!r} not in\n{message[-3000:]}"
    assert (step_retries(result) > 0) == case.retried, case.what
    assert raw_problems(loaded) == []
    OUTCOMES.append(f"refused: {case.what}")


def test_a_malformed_workspaces_file_names_its_lines_and_keeps_the_directory(
    loaded, tmp_path, monkeypatch
):
    bad = tmp_path / "workspaces.yaml"
    bad.write_text(
        "catch_all_workspace: 1\nworkspaces:\n  - id: 1\n    name: Otros\n"
        "  - id: 4\n    name: Principal\n    phones:\n      - {number: '+34 930'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SIMBIOSIA_WORKSPACES_FILE", str(bad))
    with connect(loaded) as conn:
        before = conn.execute("SELECT * FROM public.workspace_phones ORDER BY 2, 4").fetchall()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [workspace_directory],
            resources={"warehouse": WarehouseResource(), "settings": PipelineSettings.from_env()},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    assert "workspaces.yaml:8" in failure_text(result)
    with connect(loaded) as conn:
        assert conn.execute("SELECT * FROM public.workspace_phones ORDER BY 2, 4").fetchall() == (
            before
        )
    OUTCOMES.append("refused: malformed workspaces file")


@pytest.mark.parametrize(
    ("what", "url_of", "texts"),
    [
        ("not PostgreSQL", lambda url: url.replace("postgresql://", "mysql://"),
         ["PostgreSQL URL", "'mysql'"]),
        ("no such database", lambda url: url.rsplit("/", 1)[0] + "/no_such_db",
         ["cannot connect", "no_such_db", "does not exist"]),
        ("nobody listening", lambda url: f"postgresql://postgres:pw_SECRET_42@127.0.0.1:{free_port()}/x",
         ["cannot connect", "***"]),
    ],
    ids=["scheme", "database", "port"],
)  # fmt: skip
def test_a_wrong_database_url_is_a_clear_error_without_the_password(
    loaded, monkeypatch, what, url_of, texts
):
    settings = PipelineSettings.from_env()  # the run's knobs; the warehouse reads the URL
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", url_of(loaded))
    with start_sandbox_server(BASE) as server:
        result = materialize_raw(
            server.url, START, END, assets=[twilio_calls], raise_on_error=False, settings=settings
        )
    message = failure_text(result)
    assert not result.success
    for text in texts:
        assert text in message, f"{what}: {text!r} not in\n{message[-3000:]}"
    assert "pw_SECRET_42" not in message
    OUTCOMES.append(f"refused: database URL {what}")


@pytest.mark.parametrize(
    "asset", [twilio_calls, elevenlabs_conversations], ids=["twilio", "elevenlabs"]
)
def test_wrong_credentials_fail_at_once_naming_the_variables(loaded, asset):
    other = SandboxConfig(
        seed=SEED, scale=SCALE, now=NOW, twilio_auth_token="another-token",
        elevenlabs_api_key="sk_another",
    )  # fmt: skip
    with start_sandbox_server(Sandbox(other)) as server:
        result = materialize_raw(server.url, START, END, assets=[asset], raise_on_error=False)
    message = failure_text(result)
    assert not result.success
    assert "401" in message
    assert ("TWILIO_AUTH_TOKEN" if asset is twilio_calls else "ELEVENLABS_API_KEY") in message
    assert step_retries(result) == 0
    assert raw_problems(loaded) == []
    OUTCOMES.append("refused: 401")


def test_after_all_bad_input_the_warehouse_equals_the_truth(loaded):
    verify_against_truth(
        loaded,
        BASE,
        START,
        END,
        scenario="S6 bad input",
        faults=f"{len(STORED)} odd records stored; refused: {len(REFUSED)} bad records, "
        "3 wrong database URLs, a malformed workspaces file, 2× 401",
        retries="none for permanent errors; 3 step retries for a failed fetch",
        started=STARTED.get("scenario"),
    )
