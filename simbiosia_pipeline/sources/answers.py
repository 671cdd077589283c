"""Reading an API answer within bounds: time, size, place, and exact numbers.

An answer is only as trustworthy as the server (or proxy) that sent it, so every body is read
under four rules, the same for both APIs:

* **An overall deadline.** The HTTP clients' timeouts are per read: a server that trickles a byte
  every few seconds never trips them. The whole answer — connection, headers, body — must arrive
  within the deadline, or the attempt fails as a timeout (transient: retried with backoff).
* **A size limit, before and after decompression.** A body may not exceed ``max_bytes`` as sent
  nor once inflated; the inflater never produces more than the limit plus one byte, so a gzip
  bomb fails after a few megabytes of work, not hundreds. Too large is permanent: not retried.
* **No redirects.** Neither client follows one: a ``3xx`` fails the run naming where it pointed,
  so no credential (``xi-api-key``, Twilio's basic auth) is ever sent to another place, and a
  redirected listing never stands in for the real one.
* **Exact numbers.** JSON numbers are parsed without rounding: ``orjson`` (fast) when the body
  holds no number a double cannot carry exactly, else the standard library with floats as
  ``Decimal`` and integers of any size; ``NaN``/``Infinity`` are refused.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from simbiosia_pipeline.sources.errors import UnusableAnswerError
from simbiosia_pipeline.sources.http import TransientResponseError

MB = 1024 * 1024
# The largest answer either API legitimately sends is a Twilio page of 1000 calls (~1.5 MB) or a
# conversation with a long transcript (a few MB); 64 MB leaves room for both, and stops a bomb.
MAX_BODY_BYTES = 64 * MB
ACCEPT_ENCODING = "gzip, deflate"  # the encodings ``BodyReader`` inflates within its limit
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class DeadlineExceededError(TransientResponseError):
    """No complete answer within the overall deadline (retried like any timeout)."""


@dataclass(frozen=True)
class AnswerLimits:
    """The bounds every answer is read under (see the module docstring)."""

    deadline_seconds: float = 30.0
    max_bytes: int = MAX_BODY_BYTES


class Deadline:
    """A point in (monotonic) time an answer must be complete by."""

    def __init__(self, seconds: float, what: str):
        self.seconds = seconds
        self.what = what
        self._at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def check(self) -> None:
        if self.remaining() < 0:
            raise self.exceeded()

    def exceeded(self) -> DeadlineExceededError:
        return DeadlineExceededError(
            f"{self.what}: no complete answer within {self.seconds:g}s (overall deadline)"
        )


class BodyReader:
    """Accumulates a body chunk by chunk as sent, inflating it, never past ``max_bytes``."""

    def __init__(self, content_encoding: str | None, max_bytes: int, what: str):
        self.max_bytes = max_bytes
        self.what = what
        self.received = 0
        self._parts: list[bytes] = []
        self._size = 0
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("identity", ""):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise UnusableAnswerError(
                f"{what}: answered with Content-Encoding {encoding!r}, which was not asked for"
            )

    def check_declared_length(self, content_length: str | None) -> None:
        """Refuse before reading when the server announces a body past the limit."""
        declared = (content_length or "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(f"announced {int(declared)} bytes")

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise self._too_large(f"more than {self.max_bytes} bytes sent")
        if self._inflater is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._inflater.decompress(data, self.max_bytes - self._size + 1)
            except zlib.error:
                raise TransientResponseError(f"{self.what}: the body does not decompress") from None
            self._keep(out)
            data = self._inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self._inflater is not None:
            try:
                self._keep(self._inflater.flush())
            except zlib.error:
                raise TransientResponseError(f"{self.what}: the body does not decompress") from None
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            raise self._too_large(f"more than {self.max_bytes} bytes once decompressed")
        if data:
            self._parts.append(data)

    def _too_large(self, detail: str) -> UnusableAnswerError:
        return UnusableAnswerError(f"{self.what}: the answer is too large ({detail}); refused")


def refuse_redirect(status: int, location: str | None, what: str) -> None:
    """Fail for good on a redirect, naming the host it pointed to (never following it; not
    the path, which may carry an account id)."""
    if status in REDIRECT_STATUSES:
        where = urlsplit(location or "").netloc or "the same host"
        raise UnusableAnswerError(
            f"{what}: answered HTTP {status}, a redirect to {where}; redirects are not followed "
            "(credentials are only sent to the configured base URL)"
        )


# --- exact JSON -------------------------------------------------------------------------------

# Number tokens a double may not carry exactly: 16 or more digits (big integers, long
# fractions), or a three-digit exponent (past a double's range, or into its subnormals). Only
# tokens where JSON puts a value (after ``:``, ``,`` or ``[``); text inside strings can match
# too, which only costs the slower parse.
_INEXACT_FOR_DOUBLE = re.compile(rb"[:,\[]\s*-?(?:[0-9.]{16}|[0-9.]+[eE][+-]?[0-9]{3})")


def loads_exact(body: bytes) -> Any:
    """JSON with every number exact: ``orjson`` when safe, else floats as ``Decimal``."""
    if not _INEXACT_FOR_DOUBLE.search(body):
        return orjson.loads(body)
    return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def dumps_exact(value: Any) -> bytes:
    """``orjson.dumps`` that writes a ``Decimal`` as the number it is, digit for digit."""
    try:
        return orjson.dumps(value, default=_as_double_if_exact)
    except (TypeError, OverflowError):
        return _encode(value).encode()


def _as_double_if_exact(value: Any) -> Any:
    """orjson's ``default``: a Decimal a double (or an int64) carries exactly, as one."""
    if isinstance(value, Decimal) and value.is_finite():
        if value == value.to_integral_value() and abs(value) < 2**63:
            return int(value)
        double = float(value)
        if Decimal(repr(double)) == value:
            return double
    raise TypeError("needs the exact encoder")


def _encode(value: Any) -> str:
    """The slow, exact path (rare: a number a double cannot hold)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_encode(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
