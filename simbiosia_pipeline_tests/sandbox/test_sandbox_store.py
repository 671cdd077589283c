"""The pure pieces under the APIs: ordered scans over hours, and self-locating ids."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from hypothesis import given
from hypothesis import strategies as st

from simbiosia_pipeline.sandbox.clock import HOUR
from simbiosia_pipeline.sandbox.generator import SPILL_SECONDS
from simbiosia_pipeline.sandbox.ids import (
    call_sid,
    conversation_id,
    hour_of_call_sid,
    hour_of_conversation_id,
    seeded_rng,
)
from simbiosia_pipeline.sandbox.store import ordered


@dataclass(frozen=True)
class Entry:
    order: tuple[int, str]


# Records of hour h sort in [h, h + SPILL): the generator's contract that `ordered` relies on.
hours_of_entries = st.dictionaries(
    st.integers(0, 11),
    st.lists(st.tuples(st.integers(0, SPILL_SECONDS - 1), st.sampled_from("abcdef")), max_size=6),
)


@given(
    hours_of_entries,
    st.integers(0, 14 * HOUR),
    st.integers(0, 14 * HOUR),
    st.booleans(),
    st.one_of(st.none(), st.tuples(st.integers(0, 14 * HOUR), st.sampled_from("abcdef"))),
    st.integers(1, 20),
)
def test_ordered_equals_sorting_the_window(layout, lo, hi, descending, cursor, take):
    entries = {
        hour: [Entry((hour * HOUR + offset, f"{tag}{hour}-{offset}")) for offset, tag in items]
        for hour, items in layout.items()
    }
    everything = [entry for hour_entries in entries.values() for entry in hour_entries]
    expected = sorted(
        (
            e
            for e in everything
            if lo <= e.order[0] < hi
            and (cursor is None or (e.order < cursor if descending else e.order > cursor))
        ),
        key=lambda e: e.order,
        reverse=descending,
    )
    stream = ordered(
        lambda hour: sorted(entries.get(hour, []), key=lambda e: e.order, reverse=True),
        0,
        11,
        lo,
        hi,
        descending=descending,
        cursor=cursor,
    )
    assert list(islice(stream, take)) == expected[:take]


@given(st.integers(0, 2**63), st.integers(0, 2**24 - 1))
def test_identifiers_carry_their_hour(seed, hour):
    rng = seeded_rng(seed)
    assert hour_of_call_sid(call_sid(rng, hour)) == hour
    assert hour_of_conversation_id(conversation_id(rng, hour)) == hour


def test_malformed_identifiers_have_no_hour():
    for sid in ("", "CA123", "CA" + "G" * 32, "CA" + "AB" * 16, "PN" + "0" * 32):
        assert hour_of_call_sid(sid) is None
    for conv in ("conv_", "conv_" + "A" * 28, "conv_" + "_" * 28, "conv_" + "z" * 28, "x" * 33):
        assert hour_of_conversation_id(conv) is None
