"""Deterministic randomness and the identifier formats of both APIs.

Every random choice in the sandbox comes from a ``random.Random`` seeded by a BLAKE2 hash of
its inputs (never Python's ``hash()``, which is salted per process), so two processes with
the same seed produce the same bytes.

Record identifiers carry the UTC hour in which their interaction was generated, hidden by
an XOR with a hash of the identifier's random part. The identifier still looks random (and
sorts randomly, as real ones do), but a detail request can find its record by generating
one hour instead of searching the whole history.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

T = TypeVar("T")

_HOUR_BITS = 24  # hours since 1970 fit until the year 3883
_HOUR_MASK = (1 << _HOUR_BITS) - 1
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_U64 = (1 << 64) - 1
_CONV_RANDOM_CHARS = 23
_CONV_HOUR_CHARS = 5  # 36**5 > 2**24


def stable_int(*parts: object, bits: int = 64) -> int:
    """A process-independent hash of ``parts`` as an unsigned integer of ``bits`` bits."""
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.blake2b(text.encode(), digest_size=(bits + 7) // 8).digest()
    return int.from_bytes(digest, "big") >> (8 * len(digest) - bits)


def stable_fraction(*parts: object) -> float:
    """A process-independent uniform draw in [0, 1) keyed by ``parts``."""
    return stable_int(*parts, bits=53) / float(1 << 53)


class SandboxRandom(random.Random):
    """``random.Random`` with cheaper integer, choice and weighted draws.

    The standard library draws integers by rejection sampling through several Python
    calls; generating history makes millions of small draws, so these map one
    ``random()`` float onto the range instead (the bias is negligible for the small
    ranges used here, far below 2**53).
    """

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None) -> int:  # type: ignore[override]
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))

    def choice(self, seq):  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def weighted(self, items: Sequence[T], cumulative: Sequence[float]) -> T:
        """One of ``items``, drawn with the given cumulative weights."""
        return items[bisect.bisect(cumulative, self.random() * cumulative[-1])]


def seeded_rng(*parts: object) -> SandboxRandom:
    return SandboxRandom(stable_int(*parts))


def base36(value: int, width: int) -> str:
    """``value`` (modulo 36**width) as ``width`` lower-case base-36 digits."""
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        chars.append(_BASE36[digit])
    return "".join(reversed(chars))


def random_alnum(rng: random.Random, width: int) -> str:
    return "".join(rng.choices(_BASE36, k=width))


def _hour_mask(random_part: int) -> int:
    """A cheap integer mix (the MurmurHash3 finaliser) of the id's random part."""
    x = (random_part ^ (random_part >> 64)) & _U64
    x = ((x ^ (x >> 33)) * 0xFF51AFD7ED558CCD) & _U64
    x = ((x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53) & _U64
    return (x ^ (x >> 33)) & _HOUR_MASK


def call_sid(rng: random.Random, hour: int) -> str:
    """A Twilio Call SID (``CA`` + 32 hex) that encodes the generation hour."""
    random_part = rng.getrandbits(128 - _HOUR_BITS)
    hidden = (hour ^ _hour_mask(random_part)) & _HOUR_MASK
    return f"CA{(random_part << _HOUR_BITS) | hidden:032x}"


def hour_of_call_sid(sid: str) -> int | None:
    if len(sid) != 34 or not sid.startswith("CA"):
        return None
    try:
        value = int(sid[2:], 16)
    except ValueError:
        return None
    if sid[2:] != f"{value:032x}":  # Twilio SIDs are lower-case hex
        return None
    return (value & _HOUR_MASK) ^ _hour_mask(value >> _HOUR_BITS)


def conversation_id(rng: random.Random, hour: int) -> str:
    """An ElevenLabs conversation id (``conv_`` + 28 lower-case alnum) encoding the hour."""
    random_part = random_alnum(rng, _CONV_RANDOM_CHARS)
    hidden = (hour ^ _hour_mask(int(random_part, 36))) & _HOUR_MASK
    return f"conv_{random_part}{base36(hidden, _CONV_HOUR_CHARS)}"


def hour_of_conversation_id(conversation: str) -> int | None:
    body = conversation[5:]
    if not conversation.startswith("conv_") or len(body) != 28 or body != body.lower():
        return None
    try:
        random_value = int(body[:_CONV_RANDOM_CHARS], 36)
        hidden = int(body[_CONV_RANDOM_CHARS:], 36)
    except ValueError:
        return None
    if hidden > _HOUR_MASK or not body.isalnum():
        return None
    return hidden ^ _hour_mask(random_value)


@cache
def hex_id(prefix: str, *parts: object) -> str:
    """A stable Twilio-style SID (``PN``, ``TK`` … + 32 hex) derived from ``parts``."""
    return f"{prefix}{stable_int(prefix, *parts, bits=128):032x}"


@cache
def alnum_id(prefix: str, *parts: object, width: int = 26) -> str:
    """A stable ElevenLabs-style id (``phnum_``, ``btcal_`` … + lower-case alnum)."""
    return prefix + base36(stable_int(prefix, *parts, bits=160), width)
