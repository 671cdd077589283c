"""Answers read within bounds (size, encodings, exact numbers) and pages checked for their shape
and paging before any record of them is used — the pure parts; S9 runs them against a proxy."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simbiosia_pipeline.sources.answers import (
    BodyReader,
    Deadline,
    DeadlineExceededError,
    dumps_exact,
    loads_exact,
    refuse_redirect,
)
from simbiosia_pipeline.sources.errors import UnusableAnswerError
from simbiosia_pipeline.sources.pages import (
    PagingGuard,
    elevenlabs_page,
    max_pages,
    twilio_page,
)
from simbiosia_pipeline.sources.windows import Window, hour_ranges

MB = 1024 * 1024
PATH = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json"


# --- bodies ------------------------------------------------------------------------------------


def read(body: bytes, encoding: str | None, max_bytes: int, chunk: int = 64 * 1024) -> bytes:
    reader = BodyReader(encoding, max_bytes, "test answer")
    for start in range(0, len(body), chunk):
        reader.feed(body[start : start + chunk])
    return reader.finish()


def test_a_gzip_body_within_the_limit_is_inflated():
    original = b'{"calls": []}' * 1000
    assert read(gzip.compress(original), "gzip", MB) == original
    assert read(zlib.compress(original), "deflate", MB) == original
    assert read(original, None, MB) == original


def test_a_gzip_bomb_fails_after_the_limit_not_after_inflating_it_all():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(bytes(MB)) for _ in range(200)) + compressor.flush()
    assert len(bomb) < MB // 4
    reader = BodyReader("gzip", 8 * MB, "bomb")
    with pytest.raises(UnusableAnswerError, match="too large .*once decompressed"):
        reader.feed(bomb)
    assert reader._size <= 8 * MB + 1 + 64 * 1024  # never inflated much past the limit


def test_bodies_past_the_limit_as_sent_or_announced_are_refused():
    with pytest.raises(UnusableAnswerError, match="more than 10 bytes sent"):
        read(b"x" * 11, None, 10)
    with pytest.raises(UnusableAnswerError, match="announced 11 bytes"):
        BodyReader(None, 10, "big").check_declared_length("11")


def test_an_encoding_not_asked_for_is_refused():
    with pytest.raises(UnusableAnswerError, match="'br'"):
        BodyReader("br", MB, "brotli")


def test_a_deadline_passed_is_a_transient_timeout():
    deadline = Deadline(0.0, "slow answer")
    with pytest.raises(DeadlineExceededError, match="within 0s"):
        deadline.check()


def test_redirects_are_refused_naming_where_they_pointed():
    with pytest.raises(UnusableAnswerError, match="HTTP 302, a redirect to evil.example;"):
        refuse_redirect(302, "https://evil.example/x?k=1", "listing")
    refuse_redirect(200, None, "listing")


# --- exact numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b'{"n": 18446744073709551617}', 18446744073709551617),
        (b'{"n": -1e400}', Decimal("-1e400")),
        (b'{"n": 0.10000000000000000555}', Decimal("0.10000000000000000555")),
        (b'{"n": 1e-400}', Decimal("1e-400")),
        (b'{"n": 0.25}', 0.25),
    ],
)  # fmt: skip
def test_json_numbers_are_parsed_and_written_back_exactly(text, value):
    parsed = loads_exact(text)
    assert parsed["n"] == value and type(parsed["n"]) is type(value)
    assert loads_exact(dumps_exact(parsed)) == parsed


def test_nan_and_infinity_literals_are_not_json():
    with pytest.raises(ValueError):
        loads_exact(b'{"n": 12345678901234567890, "m": NaN}')


# --- pages -------------------------------------------------------------------------------------


def test_an_elevenlabs_page_must_have_its_list_and_consistent_paging():
    summary = {"conversation_id": "conv_1", "start_time_unix_secs": 1760000000}
    assert elevenlabs_page({"conversations": [summary], "has_more": False}, "E") == (
        [summary],
        None,
    )
    assert elevenlabs_page({"conversations": [], "has_more": True, "next_cursor": "c2"}, "E") == (
        [],
        "c2",
    )
    for page, says in [
        ({"detail": {"status": "x"}}, "without the record list 'conversations'"),
        ({"conversations": {}, "has_more": False}, "not a list"),
        ({"conversations": [], "has_more": "yes"}, "not a boolean"),
        ({"conversations": [], "has_more": True, "next_cursor": None}, "'next_cursor' is None"),
        ({"conversations": [1], "has_more": False}, r"conversations\[0\] is a int"),
        ({"conversations": [{"conversation_id": "c"}], "has_more": False}, "not an integer"),
        ([], "a JSON list, not an object"),
    ]:
        with pytest.raises(UnusableAnswerError, match=says):
            elevenlabs_page(page, "E")


def twilio(**fields):
    return {"calls": [], "page": 0, "page_size": 50, "start": 0, "next_page_uri": None, **fields}


def test_a_twilio_page_must_have_its_calls_and_continue_its_own_listing():
    following = f"{PATH}?PageSize=50&Page=1&PageToken=PAx"
    assert twilio_page(twilio(next_page_uri=following), "T", number=0, page_size=50, path=PATH) == (
        [], following,
    )  # fmt: skip
    for page, number, says in [
        ({"records": []}, 0, "without the record list 'calls'"),
        (twilio(page=2), 0, "'page' is 2 where 0 was asked for"),
        (twilio(page=1, start=0), 1, "'start' is 0, page 1 starts at 50"),
        (twilio(page_size=1000), 0, "'page_size' is 1000"),
        (twilio(next_page_uri="https://evil.example" + PATH), 0, "does not continue"),
        (twilio(next_page_uri="/2010-04-01/Accounts/AC1/Messages.json"), 0, "does not continue"),
        (twilio(next_page_uri=f"{PATH}?Page=7"), 0, "asks for page 7 after page 0"),
        (twilio(calls=[{}] * 51), 0, "51 calls on a page of 50"),
    ]:
        with pytest.raises(UnusableAnswerError, match=says):
            twilio_page(page, "T", number=number, page_size=50, path=PATH)


def test_paging_never_loops_and_stops_at_what_the_window_can_hold():
    guard = PagingGuard("listing", limit=3)
    guard.continue_with("a")
    with pytest.raises(UnusableAnswerError, match="served twice"):
        guard.continue_with("a")
    for _ in range(3):
        guard.page_received()
    with pytest.raises(UnusableAnswerError, match="more than 3 pages"):
        guard.page_received()
    assert max_pages(24, 1000, 10_000) == 241
    assert max_pages(3, 100, 100) == 4


def test_changed_hours_are_reported_as_few_ranges():
    t0 = datetime(2025, 10, 1, tzinfo=UTC)
    hours = [t0 + timedelta(hours=n) for n in (0, 1, 2, 5)]
    assert hour_ranges(hours) == [
        Window(t0, t0 + timedelta(hours=3)),
        Window(t0 + timedelta(hours=5), t0 + timedelta(hours=6)),
    ]
    assert hour_ranges(hours, max_ranges=1) == [Window(t0, t0 + timedelta(hours=6))]
    assert hour_ranges([]) == []
