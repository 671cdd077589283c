"""Twilio Programmable Voice, ``/2010-04-01``: list and fetch Call resources; daily Usage Records.

Follows external-apis.md Part B. Choices where Twilio is silent:

* ``StartTime``/``EndTime`` filters take ``YYYY-MM-DD``, datetimes (``…T10:00:00Z``,
  ``… 10:00:00``) or ``MM/DD/YYYY``, and use only the date (UTC day granularity):
  ``StartTime>=D`` keeps calls starting at or after ``D 00:00Z``, ``StartTime<=D`` before
  ``D 00:00Z``, ``StartTime=D`` on that day; ``EndTime*`` likewise on ``end_time`` (calls
  without an end time never match an ``EndTime`` filter). A call that never started is
  filtered and ordered by ``date_created``. An unparseable date is a 400 (code 20001).
* Order: newest first by (start time or creation time, sid), both descending.
* Paging: ``PageSize`` defaults to 50; outside the spec's 1..1000 it is refused (400, code
  20001), as are a negative ``Page`` and a ``Status`` outside the spec's call statuses.
  ``PageToken=PA<sid>``
  continues after that call (keyset), ``PB<sid>`` gives the page before it; without a
  token, ``Page`` is an offset in pages. A token naming an unknown call is a 400.
* A next page is announced only when another record exists.
* Credentials for another account than the one in the path: 401 (code 20003).
* Usage Records (``Usage/Records/Daily.json``): one record per UTC day and category of
  ``usage.TWILIO_CATEGORIES`` (zeros included) up to ``as_of``'s day, day ascending; ``StartDate``
  and ``EndDate`` inclusive, ``YYYY-MM-DD`` or an offset such as ``-30days`` (400 otherwise);
  ``IncludeSubaccounts`` changes nothing (one account); ``Page`` is an offset in pages.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from urllib.parse import urlencode

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simbiosia_pipeline.sandbox.clock import DAY, to_unix
from simbiosia_pipeline.sandbox.faults import Attempt, FaultConfig
from simbiosia_pipeline.sandbox.guard import ApiGuard
from simbiosia_pipeline.sandbox.responses import json_response
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.sandbox.store import CallEntry
from simbiosia_pipeline.sandbox.usage import DESCRIPTIONS

PREFIX = "/2010-04-01/Accounts/{account_sid}"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING_KEYS = ("PageSize", "Page", "PageToken")
# The spec's call_enum_status: the only values the Status filter takes.
CALL_STATUSES = (
    "queued", "ringing", "in-progress", "canceled", "completed", "failed", "busy", "no-answer"
)  # fmt: skip
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")
_EXACT_FILTERS = {
    "To": lambda entry, now: entry.fact.to,
    "From": lambda entry, now: entry.fact.from_number,
    "ParentCallSid": lambda entry, now: entry.fact.parent_sid,
    "Status": lambda entry, now: entry.fact.status_at(now),
}


_BAD_CREDENTIALS = "Your AccountSid or AuthToken was incorrect."


class BadRequest(ValueError):
    """A query parameter Twilio would refuse; the message names it."""


def _error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioProfile:
    """HTTP Basic auth with AccountSid:AuthToken; the path's account must be the same."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token

    def authenticate(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            hmac.compare_digest(user.encode(), self._account_sid.encode())
            and hmac.compare_digest(password.encode(), self._auth_token.encode())
            and request.path_params.get("account_sid") == self._account_sid
        )

    def unauthorized(self) -> Response:
        # As real accounts answer (reference/README.md): with a `detail` line.
        body = {**_error(401, 20003, "Authenticate"), "detail": _BAD_CREDENTIALS}
        return json_response(
            body,
            401,
            {"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )

    def error_body(self, status_code: int) -> dict:
        messages = {
            429: (20429, "Too Many Requests"),
            500: (20500, "Internal Server Error"),
            503: (20503, "Service Unavailable"),
        }
        code, message = messages[status_code]
        return _error(status_code, code, message)

    def max_concurrency(self, config: FaultConfig) -> int | None:
        return config.twilio_max_concurrency


class TwilioApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def routes(self, guard: ApiGuard) -> list[Route]:
        return [
            Route(f"{PREFIX}/Calls.json", guard.endpoint(self.list_calls)),
            Route(f"{PREFIX}/Calls/{{call_sid}}.json", guard.endpoint(self.fetch_call)),
            Route(f"{PREFIX}/Usage/Records/Daily.json", guard.endpoint(self.list_daily_usage)),
        ]

    def list_daily_usage(self, request: Request, attempt: Attempt) -> Response:
        """Usage Records per UTC day and category (``usage.py``), day ascending, offset pages."""
        now = self._now()
        params = request.query_params
        try:
            first = _usage_date(params, "StartDate", now, self._sandbox.config.history_start_unix)
            last = _usage_date(params, "EndDate", now, now)
            page_size = _int(params, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
            page = _int(params, "Page", 0, 0)
            _bool_param(params, "IncludeSubaccounts")  # one account: the same either way
        except BadRequest as problem:
            return json_response(_error(400, 20001, str(problem)), 400)
        rows = self._sandbox.twilio_usage_records(first, last, now)
        if "Category" in params:
            rows = [row for row in rows if row[1] == params["Category"]]
        start = page * page_size
        chosen = rows[start : start + page_size]
        more = len(rows) > start + page_size
        account = self._sandbox.config.twilio_account_sid
        unit = self._sandbox.config.price_unit.lower()
        records = [usage_record(account, unit, *row) for row in chosen]
        return json_response(_usage_envelope(request, records, more, page, page_size, start))

    def fetch_call(self, request: Request, attempt: Attempt) -> Response:
        entry = self._sandbox.call_entry(request.path_params["call_sid"], self._now())
        if entry is None:
            message = f"The requested resource {request.url.path} was not found"
            return json_response(_error(404, 20404, message), 404)
        return json_response(entry.body)

    def list_calls(self, request: Request, attempt: Attempt) -> Response:
        now = self._now()
        params = request.query_params
        try:
            lo, hi, accept = self._filters(params, now)
            page_size = _int(params, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
            page = _int(params, "Page", 0, 0)
            token = params.get("PageToken")
            calls, more = self._page(now, lo, hi, accept, page, page_size, token, attempt)
        except BadRequest as problem:
            return json_response(_error(400, 20001, str(problem)), 400)
        return json_response(self._envelope(request, calls, more, page, page_size, token))

    def _now(self) -> int:
        return self._sandbox.clock.now_unix()

    def _filters(
        self, params: QueryParams, now: int
    ) -> tuple[int, int, Callable[[CallEntry], bool] | None]:
        """The sort-time window ``[lo, hi)`` and a predicate for the other filters."""
        lo, hi = self._sandbox.config.history_start_unix, now + 1
        start = _day_range(params, "StartTime")
        lo, hi = max(lo, start[0]), min(hi, start[1])
        end = _day_range(params, "EndTime")
        # A call ends after it starts, and no call lasts a day.
        lo, hi = max(lo, end[0] - DAY), min(hi, end[1])
        if "Status" in params and params["Status"] not in CALL_STATUSES:
            raise BadRequest(
                f"Invalid Status {params['Status']!r}: must be one of {', '.join(CALL_STATUSES)}"
            )
        checks = [(_EXACT_FILTERS[key], params[key]) for key in _EXACT_FILTERS if key in params]
        wants_end = end != (_MIN, _MAX)

        def accept(entry: CallEntry) -> bool:
            if any(value_of(entry, now) != wanted for value_of, wanted in checks):
                return False
            if wants_end:
                fact = entry.fact
                if fact.started is None or now < fact.ended:
                    return False
                return end[0] <= fact.ended < end[1]
            return True

        return lo, hi, accept if checks or wants_end else None

    def _page(
        self,
        now: int,
        lo: int,
        hi: int,
        accept: Callable[[CallEntry], bool] | None,
        page: int,
        page_size: int,
        token: str | None,
        attempt: Attempt,
    ) -> tuple[list[CallEntry], bool]:
        """The page's records and whether another record follows them."""
        entries = self._sandbox.call_entries
        if not token:
            stream = entries(now, lo, hi, accept=accept)
            found = list(islice(stream, page * page_size, (page + 1) * page_size + 1))
            return found[:page_size], len(found) > page_size
        anchor = self._sandbox.call_entry(token[2:], now) if token[:2] in ("PA", "PB") else None
        if anchor is None:
            raise BadRequest(f"Invalid PageToken {token!r}")
        if token.startswith("PB"):
            newer = entries(now, lo, hi, descending=False, cursor=anchor.order, accept=accept)
            return list(islice(newer, page_size))[::-1], True
        repeated: list[CallEntry] = []
        if page_size > 1 and attempt.happens("duplicate"):
            count = min(page_size - 1, 1 + int(attempt.draw("duplicate_count") * 3))
            newer = entries(now, lo, hi, descending=False, cursor=anchor.order, accept=accept)
            repeated = [*list(islice(newer, count - 1))[::-1], anchor]
        fresh = page_size - len(repeated)
        found = list(islice(entries(now, lo, hi, cursor=anchor.order, accept=accept), fresh + 1))
        return repeated + found[:fresh], len(found) > fresh

    def _envelope(
        self,
        request: Request,
        calls: list[CallEntry],
        more: bool,
        page: int,
        page_size: int,
        token: str | None,
    ) -> bytes:
        path = request.url.path
        filters = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING_KEYS]

        def uri(page_number: int, page_token: str | None) -> str:
            query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
            if page_token:
                query.append(("PageToken", page_token))
            return f"{path}?{urlencode(query)}"

        start = page * page_size
        meta = {
            "first_page_uri": uri(0, None),
            "next_page_uri": uri(page + 1, "PA" + calls[-1].fact.sid) if calls and more else None,
            "previous_page_uri": uri(page - 1, "PB" + calls[0].fact.sid)
            if calls and page > 0
            else None,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + len(calls) - 1 if calls else 0,
            "uri": uri(page, token),
        }
        records = b",".join(entry.body for entry in calls)
        return b'{"calls":[' + records + b"]," + orjson.dumps(meta)[1:]


_MIN, _MAX = -(1 << 62), 1 << 62
_RELATIVE_DATE = re.compile(r"^([+-]\d+)days$")


def usage_record(
    account_sid: str, price_unit: str, day: int, category: str, tally, as_of: int
) -> dict:
    """One ``usage_record_daily``: charges positive, figures as strings, ``price`` a number."""
    iso_day = datetime.fromtimestamp(day, UTC).date().isoformat()
    base = f"/2010-04-01/Accounts/{account_sid}/Usage/Records"
    is_total = category == "totalprice"
    price = tally.price if tally is not None else Decimal(0)
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "as_of": datetime.fromtimestamp(as_of, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "category": category,
        "count": "0" if is_total or tally is None else str(tally.count),
        "count_unit": "" if is_total else "calls",
        "description": DESCRIPTIONS[category],
        "end_date": iso_day,
        # A JSON number, as the spec says; 5-decimal sums print exactly (shortest repr).
        "price": float(price),
        "price_unit": price_unit,
        "start_date": iso_day,
        "subresource_uris": {
            period: f"{base}/{name}.json?Category={category}"
            for period, name in (
                ("all_time", "AllTime"),
                ("daily", "Daily"),
                ("monthly", "Monthly"),
                ("today", "Today"),
                ("yesterday", "Yesterday"),
            )
        },
        "uri": f"{base}/Daily.json?Category={category}&StartDate={iso_day}&EndDate={iso_day}",
        "usage": str(price) if is_total else str(tally.minutes if tally is not None else 0),
        "usage_unit": price_unit if is_total else "minutes",
    }


def _usage_envelope(
    request: Request, records: list[dict], more: bool, page: int, page_size: int, start: int
) -> bytes:
    path = request.url.path
    filters = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING_KEYS]

    def uri(page_number: int) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if page_number:
            query.append(("PageToken", f"PA{page_number * page_size}"))
        return f"{path}?{urlencode(query)}"

    return orjson.dumps(
        {
            "usage_records": records,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + len(records) - 1 if records else 0,
            "uri": uri(page),
        }
    )


def _usage_date(params: QueryParams, key: str, now: int, default: int) -> int:
    """Midnight UTC of ``StartDate``/``EndDate``: ``YYYY-MM-DD`` or an offset like ``-30days``."""
    raw = params.get(key)
    if raw is None:
        return default - default % DAY
    if match := _RELATIVE_DATE.match(raw.strip()):
        moment = now + int(match[1]) * DAY
        return moment - moment % DAY
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", raw.strip()):
        raise BadRequest(f"Invalid {key} {raw!r}: expected YYYY-MM-DD or an offset like -30days")
    return _day(params, key)


def _bool_param(params: QueryParams, key: str) -> bool | None:
    raw = params.get(key)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"Invalid {key} {raw!r}: expected true or false")
    return raw.lower() == "true"


def _int(
    params: QueryParams, key: str, default: int, minimum: int, maximum: int | None = None
) -> int:
    """An integer parameter within the spec's bounds; anything else is refused, not clamped."""
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {key} {raw!r}: expected an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise BadRequest(f"Invalid {key} {raw!r}: must be {bounds}")
    return value


def _day_range(params: QueryParams, field: str) -> tuple[int, int]:
    """The unix-second range selected by ``field``, ``field<`` and ``field>``."""
    lo, hi = _MIN, _MAX
    if field in params:
        day = _day(params, field)
        lo, hi = max(lo, day), min(hi, day + DAY)
    if f"{field}>" in params:
        lo = max(lo, _day(params, f"{field}>"))
    if f"{field}<" in params:
        hi = min(hi, _day(params, f"{field}<"))
    return lo, hi


def _day(params: QueryParams, key: str) -> int:
    """Midnight UTC of the date in parameter ``key`` (any time of day is ignored)."""
    raw = params[key].strip()
    try:
        if match := _ISO_DATE.match(raw):
            day = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _US_DATE.match(raw):
            day = date(int(match[3]), int(match[1]), int(match[2]))
        else:
            raise ValueError(raw)
    except ValueError:
        raise BadRequest(f"Invalid {key} {raw!r}: expected a date (YYYY-MM-DD)") from None
    return to_unix(datetime(day.year, day.month, day.day, tzinfo=UTC))
