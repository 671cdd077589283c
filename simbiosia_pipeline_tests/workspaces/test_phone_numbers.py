"""normalize_e164: the documented rules, its invariants, and the SQL twin agreeing with it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simbiosia_pipeline.warehouse.schema import ensure_raw_schema
from simbiosia_pipeline.workspaces import is_e164, normalize_e164
from simbiosia_testing.local_servers import create_database, drop_database


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34930340228", "+34930340228"),
        ("  +34930340228\n", "+34930340228"),
        ("+34 930 34 02 28", "+34930340228"),
        ("+34-930-340-228", "+34930340228"),
        ("+1 (352) 747.5264", "+13527475264"),
        ("0034930340228", "+34930340228"),
        ("0034 930 340 228", "+34930340228"),
        ("34930340228", "+34930340228"),  # 11 bare digits: has its country code
        ("13527475264", "+13527475264"),
        ("sip:+34911679868@public-vip.ie1.twilio.com", "+34911679868"),
        ("SIP:+34911679868@public-vip.ie1.twilio.com;transport=udp", "+34911679868"),
        ("sips:0034911679868@trunk.example", "+34911679868"),
        ("sip:+34911679868;user=phone@host", "+34911679868"),
        ("tel:+1-201-555-0123", "+12015550123"),
        ("930340228", None),  # national number: the country cannot be known
        ("+034930340228", None),  # a country code never starts with 0
        ("+12345", None),  # too short
        ("+1234567890123456", None),  # too long
        ("client:alice", None),
        ("sip:alice@example.com", None),
        ("anonymous", None),
        ("", None),
        (None, None),
    ],
)
def test_documented_rules(raw, expected):
    assert normalize_e164(raw) == expected


@given(st.text())
def test_the_result_is_e164_or_nothing_and_normalising_twice_changes_nothing(raw):
    number = normalize_e164(raw)
    assert number is None or is_e164(number)
    assert normalize_e164(number) == number


E164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)


@given(E164, st.lists(st.sampled_from([" ", "-", ".", "(", ")", "\t"]), max_size=6), st.data())
def test_separators_anywhere_do_not_change_a_number(number, separators, data):
    text = list(number)
    for separator in separators:
        text.insert(data.draw(st.integers(1, len(text))), separator)
    assert normalize_e164("".join(text)) == number
    assert normalize_e164(f"sip:{''.join(text)}@trunk.example") == number


@pytest.fixture(scope="module")
def sql_connection() -> Iterator[psycopg.Connection]:
    url = create_database("simbiosia_e164")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_raw_schema(conn)
            yield conn
    finally:
        drop_database(url)


# Text that often looks like a number: digits, signs, separators, URI parts, a few odd characters.
NUMBERISH = st.text(
    alphabet=st.sampled_from(list("0123456789+ -.()\t\n\r\x0b\x0c@;:sipSIPteLx\u00a0\u2003٣"))
    | st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    max_size=30,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(NUMBERISH, E164, E164.map(lambda n: "00" + n[1:]), E164.map(lambda n: n[1:])))
def test_the_sql_function_agrees_with_python(sql_connection, raw):
    (from_sql,) = sql_connection.execute("SELECT raw.normalize_e164(%s)", (raw,)).fetchone()
    assert from_sql == normalize_e164(raw)
