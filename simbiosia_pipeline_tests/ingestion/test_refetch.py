"""A re-run of a window fetches only the conversation details that may have changed, and leaves
the same window as a full re-fetch: a conversation deleted upstream disappears, one whose status
went back is fetched again, the final ones are kept as stored."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from simbiosia_pipeline.assets.partition_metadata import WINDOW_FIGURES
from simbiosia_pipeline.definitions import elevenlabs_conversations
from simbiosia_pipeline.sandbox import SandboxConfig
from simbiosia_pipeline.sources.refetch import FULL_REFETCH_TAG
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline_tests.support import materialize_raw
from simbiosia_testing.local_servers import create_database, drop_database
from simbiosia_testing.truth import WindowTruth, raw_mismatches

NOW = datetime(2025, 10, 8, 15, 2, tzinfo=UTC)  # a Wednesday afternoon in Madrid
# Six hours up to the clock: final conversations, and the last ones still running.
START, END = datetime(2025, 10, 8, 9, tzinfo=UTC), datetime(2025, 10, 8, 15, tzinfo=UTC)
LATER = NOW + timedelta(minutes=20)
CONVERSATIONS = "/v1/convai/conversations"
KEY = {"xi-api-key": "sk_sandbox"}
# Everything the source says; ingested_at is when it was stored, kept rows keep theirs.
COLUMNS = "conversation_id, status, start_time, cost, call_duration_secs, payload::text"


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=5, scale=0.5, now=NOW)


@pytest.fixture
def second_database():
    url = create_database()
    yield url
    drop_database(url)


def window_rows(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            f"SELECT {COLUMNS} FROM raw.elevenlabs_conversations"
            " WHERE start_time >= %s AND start_time < %s ORDER BY conversation_id",
            (START, END),
        ).fetchall()


def ingest(url, server_url, monkeypatch, **tags):
    monkeypatch.setenv("SIMBIOSIA_DATABASE_URL", url)
    run = materialize_raw(
        server_url, START, END, assets=[elevenlabs_conversations], bulk=False, tags=tags
    )
    # every hour's materialization carries the window's figures
    first, *_ = run.asset_materializations_for_node("raw__elevenlabs_conversations")
    return first.metadata[WINDOW_FIGURES].value


def test_a_rerun_fetches_what_changed_and_equals_a_full_refetch(
    sandbox, sandbox_server, warehouse_env, second_database, monkeypatch
):
    for url in (warehouse_env, second_database):
        ingest(url, sandbox_server.url, monkeypatch)
    stored = {row[0]: row[1] for row in window_rows(warehouse_env)}
    done = sorted(cid for cid, status in stored.items() if status == "done")
    deleted, reanalysed = done[0], done[1]
    assert set(stored.values()) - {"done", "failed"}  # some not final yet: fetched again

    sandbox.set_now(LATER)
    try:
        with httpx.Client(base_url=sandbox_server.url, headers=KEY, timeout=10) as api:
            api.delete(f"{CONVERSATIONS}/{deleted}").raise_for_status()
            api.post(f"{CONVERSATIONS}/{reanalysed}/analysis/run").raise_for_status()
        rerun = ingest(warehouse_env, sandbox_server.url, monkeypatch)
        full = ingest(
            second_database, sandbox_server.url, monkeypatch, **{FULL_REFETCH_TAG: "true"}
        )
        with connect(warehouse_env) as conn:
            assert_raw_equals_truth_of_conversations(conn, sandbox)
    finally:
        sandbox.set_now(NOW)

    assert window_rows(warehouse_env) == window_rows(second_database)
    rows = {row[0]: row for row in window_rows(warehouse_env)}
    assert deleted not in rows
    assert rows[reanalysed][1] == "processing" and rows[reanalysed][3] is None
    final_before = sum(status in ("done", "failed") for status in stored.values())
    # every conversation stored final is kept but the two changed upstream
    assert rerun["conversations_kept"] == final_before - 2
    assert rerun["details_fetched"] == rerun["conversations_listed"] - final_before + 2
    assert rerun["rows_kept"] == final_before - 2
    assert (full["conversations_kept"], full["rows_kept"]) == (0, 0)
    assert full["details_fetched"] == full["conversations_listed"] == len(rows)


def assert_raw_equals_truth_of_conversations(conn, sandbox) -> None:
    # ElevenLabs only: no Twilio run here, so the truth has no calls either.
    truth = WindowTruth.served(START, END, [], sandbox.conversations(START, END))
    assert raw_mismatches(conn, truth) == []
