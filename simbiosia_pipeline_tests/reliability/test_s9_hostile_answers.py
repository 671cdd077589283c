"""Scenario 9: hostile answers never replace a stored window, loop, hang, or leak a credential.

A warehouse holds three hours, loaded through ``proxy.RewritingProxy`` in front of the sandbox
(raw, directory, snapshots). Then the proxy turns hostile, one way at a time, and the raw assets
run again over the same window through it. Each case must end the way the README's table says:

* refused — the run fails at once (no step retry unless said), its message names the endpoint
  or the record and what was wrong, and the stored window equals the ground truth as before:
  a 200 without the record list, inconsistent paging, a cursor or page URI served twice,
  endless pages, a redirect (to ``proxy.Stranger``, which must receive no request — so no
  credential), a gzip bomb, an answer trickling past the overall deadline, amounts that are not
  finite or beyond their sanity bound, values of the wrong type or out of range, an ElevenLabs
  concurrency out of 1..64;
* right — the run succeeds and the window equals the truth: a trickle that clears on retry;
* flagged — a done conversation served with ``cost: null`` is stored as served, counted in the
  asset's metadata, fails the ``final_conversations_have_a_cost`` check, and the check-failure
  sensor alerts; a clean rerun restores the window.

Windows are small (three hours, scale 0.4) so every case takes seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pytest

from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.failure_alerts import check_failure_alert_sensor
from simbiosia_pipeline.definitions import elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.sandbox.credentials import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_AUTH_TOKEN,
)
from simbiosia_pipeline.sources.refetch import FULL_REFETCH_TAG
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline_tests.reliability import proxy as hostile
from simbiosia_pipeline_tests.reliability.proxy import Rule
from simbiosia_pipeline_tests.reliability.truth import (
    failure_text,
    load_directory_asset,
    materialize_window,
    step_retries,
    verify_against_truth,
)
from simbiosia_pipeline_tests.support import materialize_raw, range_tags, sandbox_apis
from simbiosia_testing.local_servers import create_database, drop_database
from simbiosia_testing.truth import WindowTruth, raw_mismatches

pytestmark = pytest.mark.slow  # a window built, then 30 hostile answers each run

NOW = datetime(2025, 10, 9, 6, 30, tzinfo=UTC)
START, END = datetime(2025, 10, 8, 9, tzinfo=UTC), datetime(2025, 10, 8, 12, tzinfo=UTC)
SANDBOX = Sandbox(SandboxConfig(seed=67, scale=0.4, now=NOW))
DONE = [c for c in SANDBOX.conversations(START, END) if c["status"] == "done"]
PRICED = [c for c in SANDBOX.twilio_calls(START, END) if c["price"] is not None]
FAST = {"max_attempts": 2, "request_timeout_seconds": 2.0}  # a failing case fails in seconds
OUTCOMES: list[str] = []
STARTED: dict[str, float] = {}


@dataclass
class World:
    url: str  # the warehouse
    proxy: hostile.RewritingProxy
    stranger: hostile.Stranger


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """The window loaded through the proxy (not yet hostile): raw, directory, snapshots."""
    STARTED["scenario"] = time.monotonic()
    url = create_database()
    with (
        pytest.MonkeyPatch.context() as env,
        dg.instance_for_test() as instance,
        start_sandbox_server(SANDBOX) as server,
        hostile.RewritingProxy(server.url) as proxy,
        hostile.Stranger() as stranger,
    ):
        env.setenv("SIMBIOSIA_DATABASE_URL", url)
        env.setenv("SIMBIOSIA_HOME", str(tmp_path_factory.mktemp("home")))
        load_directory_asset(instance)
        materialize_window(proxy.url, START, END, instance=instance)
        yield World(url, proxy, stranger)
    drop_database(url)


@pytest.fixture
def proxy(world: World) -> Iterator[hostile.RewritingProxy]:
    world.proxy.clear()
    yield world.proxy
    world.proxy.clear()


def raw_problems(world: World) -> list[str]:
    with connect(world.url) as conn:
        return raw_mismatches(conn, WindowTruth.of(SANDBOX, START, END))


def run(world: World, asset, full_refetch=True, **overrides) -> dg.ExecuteInProcessResult:
    """A run over the stored window; by default it fetches every detail again (a re-run would
    not ask again for the stored final conversations whose answers the proxy spoils)."""
    return materialize_raw(
        world.proxy.url,
        START,
        END,
        assets=[asset],
        raise_on_error=False,
        tags={FULL_REFETCH_TAG: "true"} if full_refetch else {},
        **{**FAST, **overrides},
    )


# --- refused: the run fails naming the cause, the window stays as it was ---------------------


def _sentinel(path: str) -> Callable[[dict], None]:
    """Set ``metadata.cost``-style ``path`` of a JSON object to a placeholder string."""

    def change(record: dict) -> None:
        *parents, last = path.split(".")
        for name in parents:
            record = record[name]
        record[last] = "__VALUE__"

    return change


def raw_value(path: str, raw: bytes):
    """Serve ``raw`` (any JSON text, e.g. ``-1e400``) at ``path`` of the matched record."""
    edit = hostile.edit_json(_sentinel(path))
    put = hostile.replace_bytes(b'"__VALUE__"', raw)
    return lambda answer, request: put(edit(answer, request), request)


def in_call(sid: str, path: str, raw: bytes):
    """The same, for the call ``sid`` inside a Twilio page."""

    def rewrite(answer, request):
        page = answer.json()
        for call in page["calls"]:
            if call["sid"] == sid:
                _sentinel(path)(call)
        return hostile.replace_bytes(b'"__VALUE__"', raw)(answer.with_json(page), request)

    return rewrite


def set_fields(**fields) -> Callable[[dict], None]:
    def change(page: dict) -> None:
        page.update(fields)

    return change


def without_page_param(url):
    return url.without_query_params("Page", "PageToken", "cursor")


@dataclass(frozen=True)
class Hostile:
    what: str
    asset: dg.AssetsDefinition
    rule: Callable[[], Rule]
    says: tuple[str, ...]
    overrides: tuple[tuple[str, object], ...] = ()
    retried: bool = False  # only a transient fault (a timeout) earns Dagster's step retries


CONVERSATION = DONE[0]["conversation_id"]
CALL = PRICED[0]["sid"]
HOSTILE = [
    Hostile("ElevenLabs 200 {'detail': ...} instead of a page", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.body({"detail": {"status": "busy"}})),
            ("/v1/convai/conversations", "without the record list 'conversations'", "detail")),
    Hostile("ElevenLabs detail 200 {'detail': ...}", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         hostile.body({"detail": {"status": "conversation_not_found"}})),
            (CONVERSATION, "HTTP 200 without a conversation", "conversation_not_found")),
    Hostile("ElevenLabs 'conversations' not a list", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.edit_json(
                set_fields(conversations={"a": 1}))),
            ("'conversations' is a dict, not a list",)),
    Hostile("ElevenLabs has_more with a null cursor", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.edit_json(
                set_fields(has_more=True, next_cursor=None))),
            ("'has_more' is true but 'next_cursor' is None",)),
    Hostile("ElevenLabs cursor served twice", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.edit_json(
                set_fields(has_more=True, next_cursor="c-loop")), upstream=without_page_param),
            ("'c-loop' was served twice",)),
    Hostile("ElevenLabs pages without end", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, _fresh_cursor(), upstream=without_page_param),
            ("more than 4 pages", "does not converge"), (("max_records_per_hour", 100),)),
    Hostile("ElevenLabs listing redirected to another host", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.redirect_to(_stranger_url())),
            ("HTTP 302", "redirect to 127.0.0.1", "not followed")),
    Hostile("ElevenLabs detail redirected (307)", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         hostile.redirect_to(_stranger_url(), 307)),
            ("HTTP 307", "not followed")),
    Hostile("ElevenLabs detail gzip bomb", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION), _gzip_bomb()),
            (CONVERSATION, "too large", "once decompressed")),
    Hostile("ElevenLabs listing trickling past the deadline", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.trickled(0.05)),
            ("no complete answer within 1s (overall deadline)", "after 2 attempts"),
            (("request_timeout_seconds", 1.0),), retried=True),
    Hostile("ElevenLabs cost -1e400 (a JSON number)", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.cost", b"-1e400")),
            (CONVERSATION, "metadata.cost", "sanity bound")),
    Hostile("ElevenLabs cost '-Infinity'", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.cost", b'"-Infinity"')),
            (CONVERSATION, "metadata.cost", "not a finite number")),
    Hostile("ElevenLabs llm_charge 'NaN'", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.charging.llm_charge", b'"NaN"')),
            (CONVERSATION, "charging.llm_charge", "not a finite number")),
    Hostile("ElevenLabs cost 2^64 + 1", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.cost", b"18446744073709551617")),
            (CONVERSATION, "metadata.cost=18446744073709551617", "sanity bound")),
    Hostile("ElevenLabs cost an object", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.cost", b'{"credits": 5}')),
            (CONVERSATION, "metadata.cost", "dict, not a number")),
    Hostile("ElevenLabs charging a list", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_detail(CONVERSATION),
                         raw_value("metadata.charging", b"[1, 2]")),
            (CONVERSATION, "'charging' is list, expected an object")),
    Hostile("ElevenLabs start time in year 33658", elevenlabs_conversations,
            lambda: Rule(hostile.elevenlabs_list, hostile.edit_json(_far_future_start)),
            ("start_time_unix_secs=1000000000000 is not a date",)),
    Hostile("Twilio 200 whose only key is not 'calls'", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.body({"records": []})),
            ("Calls.json", "without the record list 'calls'", "records")),
    Hostile("Twilio page number inconsistent", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.edit_json(set_fields(page=3))),
            ("'page' is 3 where 0 was asked for",)),
    Hostile("Twilio next_page_uri served twice", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.edit_json(_looping_next_page),
                         upstream=without_page_param),
            ("was served twice",)),
    Hostile("Twilio next_page_uri to another host", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.edit_json(
                set_fields(next_page_uri=_stranger_url() + "/steal"))),
            ("'next_page_uri' does not continue the listing",)),
    Hostile("Twilio listing redirected to another host", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.redirect_to(_stranger_url())),
            ("HTTP 302", "redirect to 127.0.0.1", "not followed")),
    Hostile("Twilio gzip bomb", twilio_calls,
            lambda: Rule(hostile.twilio_list, _gzip_bomb()),
            ("too large", "once decompressed")),
    Hostile("Twilio listing trickling past the deadline", twilio_calls,
            lambda: Rule(hostile.twilio_list, hostile.trickled(0.05)),
            ("no complete answer within 1s (overall deadline)", "after 2 attempts"),
            (("request_timeout_seconds", 1.0),), retried=True),
    Hostile("Twilio price -1e400 (a JSON number)", twilio_calls,
            lambda: Rule(hostile.twilio_list, in_call(CALL, "price", b"-1e400")),
            (CALL, "price", "sanity bound")),
    Hostile("Twilio price '-Infinity'", twilio_calls,
            lambda: Rule(hostile.twilio_list, in_call(CALL, "price", b'"-Infinity"')),
            (CALL, "price", "not a finite number")),
    Hostile("Twilio date_created in year 33658", twilio_calls,
            lambda: Rule(hostile.twilio_list, in_call(
                CALL, "date_created", b'"Mon, 01 Jan 33658 00:00:00 +0000"')),
            (CALL, "date_created", "not an RFC 2822 date")),
    Hostile("Twilio duration beyond an integer column", twilio_calls,
            lambda: Rule(hostile.twilio_list, in_call(CALL, "duration", b'"99999999999"')),
            (CALL, "duration", "out of range")),
    Hostile("Twilio direction an object", twilio_calls,
            lambda: Rule(hostile.twilio_list, in_call(CALL, "direction", b'{"x": 1}')),
            (CALL, "'direction' is a dict, expected text")),
    Hostile("ElevenLabs concurrency 65", elevenlabs_conversations,
            lambda: Rule(lambda request: False, hostile.body({})),
            ("SIMBIOSIA_ELEVENLABS_CONCURRENCY=65", "1..64"), (("elevenlabs_concurrency", 65),)),
]  # fmt: skip
_STRANGER: list[str] = []


def _gzip_bomb():
    return hostile.gzipped(hostile.gzip_bomb())


def _stranger_url() -> str:
    return _STRANGER[0]


def _fresh_cursor():
    count = [0]

    def change(page: dict) -> None:
        count[0] += 1
        page.update(has_more=True, next_cursor=f"c-{count[0]}")

    return hostile.edit_json(change)


def _looping_next_page(page: dict) -> None:
    # Twilio's own form, minus the page number (which would be refused as inconsistent first)
    path = page["uri"].split("?")[0]
    page.update(next_page_uri=f"{path}?PageSize={page['page_size']}&PageToken=PAloop")
    page.pop("page")  # a page that does not say which it is: only the loop can be noticed
    page.pop("start")


def _far_future_start(page: dict) -> None:
    if page["conversations"]:
        page["conversations"][0]["start_time_unix_secs"] = 10**12


@pytest.mark.parametrize("case", [pytest.param(c, id=c.what) for c in HOSTILE])
def test_a_hostile_answer_fails_the_run_naming_it_and_changes_nothing(world, proxy, case):
    _STRANGER[:] = [world.stranger.url]
    rule = proxy.add(case.rule())
    began = time.monotonic()
    result = run(world, case.asset, **dict(case.overrides))
    elapsed = time.monotonic() - began
    assert not result.success, case.what
    message = failure_text(result)
    for text in case.says:
        assert text in message, f"{case.what}: {text!r} not in\n{message[-3000:]}"
    assert (step_retries(result) > 0) == case.retried, f"{case.what}: retried wrongly"
    for secret in (SANDBOX.config.twilio_account_sid, DEFAULT_TWILIO_AUTH_TOKEN,
                   DEFAULT_ELEVENLABS_API_KEY):  # fmt: skip
        assert secret not in message, f"{case.what}: a credential in the error"
    if "concurrency" not in case.what:
        assert rule.fired, f"{case.what}: the proxy never met the request it rewrites"
    if "bomb" in case.what:
        assert rule.fired == 1, "a gzip bomb must not be retried"
    assert elapsed < 60, f"{case.what}: took {elapsed:.0f}s"
    assert world.stranger.received == [], "a request reached the other host"
    assert raw_problems(world) == []
    OUTCOMES.append(case.what)


# --- right: a transient trickle is retried and the data is exact -----------------------------


def test_an_answer_trickling_once_is_retried_and_the_window_is_right(world, proxy):
    rule = proxy.add(Rule(hostile.elevenlabs_detail(CONVERSATION), hostile.trickled(0.05), 1))
    result = run(world, elevenlabs_conversations, request_timeout_seconds=1.0, max_attempts=3)
    assert result.success, failure_text(result)
    assert rule.fired == 1
    assert raw_problems(world) == []
    OUTCOMES.append("trickle once: retried, right")


# --- flagged: a final conversation without its cost --------------------------------------------


def test_a_done_conversation_without_cost_is_counted_checked_and_alerted(
    world, proxy, caplog, postgres_instance
):
    """On a Dagster instance stored in PostgreSQL, as in production (the check-failure sensor
    reads the event log across runs)."""
    alerts = check_failure_alert_sensor()
    resources = {"alerts": AlertChannels()}  # no channel: alerts are only logged
    cursor = alerts.evaluate_tick(
        dg.build_sensor_context(instance=postgres_instance, resources=resources)
    ).cursor
    proxy.add(Rule(hostile.elevenlabs_detail(CONVERSATION),
                   hostile.edit_json(lambda d: d["metadata"].update(cost=None))))  # fmt: skip
    result = dg.materialize(
        [elevenlabs_conversations],
        resources=_resources(world),
        instance=postgres_instance,
        tags={**range_tags(START, END), FULL_REFETCH_TAG: "true"},
    )
    assert result.success
    hours = result.asset_materializations_for_node("raw__elevenlabs_conversations")
    # counted in the hour it belongs to (each hour carries its own figures)
    assert sum(m.metadata["final_conversations_without_cost"].value for m in hours) == 1
    [check] = [
        c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "final_conversations_have_a_cost"
    ]
    assert not check.passed
    assert check.metadata["conversations"].value == 1
    assert CONVERSATION in check.metadata["examples"].value
    with caplog.at_level(logging.WARNING, logger="simbiosia.alerts"):
        alerts.evaluate_tick(
            dg.build_sensor_context(instance=postgres_instance, cursor=cursor, resources=resources)
        )
    alerted = [r.getMessage() for r in caplog.records if "have_a_cost" in r.getMessage()]
    assert alerted, "the check failure was not alerted"

    proxy.clear()
    # the next run fetches it again (final without a cost) and stores the cost
    assert run(world, elevenlabs_conversations, full_refetch=False).success
    assert raw_problems(world) == []
    OUTCOMES.append("done conversation without cost: counted, checked, alerted")


def _resources(world: World) -> dict:
    return {
        "apis": sandbox_apis(world.proxy.url, **FAST),
        "warehouse": WarehouseResource(),
        "settings": PipelineSettings.from_env(),
    }


# --- no credential ever reaches another host --------------------------------------------------


def test_no_credential_ever_reached_the_other_host(world):
    received = " ".join(str(headers) for headers in world.stranger.received)
    for secret in (DEFAULT_ELEVENLABS_API_KEY, DEFAULT_TWILIO_AUTH_TOKEN, "xi-api-key", "Basic "):
        assert secret not in received
    assert world.stranger.received == []
    OUTCOMES.append("stranger: 0 requests, 0 credentials")


def test_after_every_hostile_answer_the_warehouse_equals_the_truth(world):
    verify_against_truth(
        world.url,
        SANDBOX,
        START,
        END,
        scenario="S9 hostile answers through a rewriting proxy",
        faults=f"{len(HOSTILE)} hostile answers refused (shape, paging, loops, redirects, "
        "gzip bomb, trickle, amounts, odd values, settings); a trickle retried; a done "
        "conversation without cost flagged; 0 requests reached the other host",
        retries="none for refusals; step retries for the trickle past the deadline (a "
        "timeout); 1 HTTP retry for the trickle that cleared",
        started=STARTED.get("scenario"),
    )
