"""What the providers bill per UTC day: Twilio's Usage Records and ElevenLabs' usage analytics.

Both are the providers' own totals, read to reconcile the pipeline's per-call sums with them
(``public.billing_reconciliation``). Same discipline as the record clients: retries with backoff
for 429/5xx/timeouts/bodies that are not JSON (``http.py``), the account SID kept out of every
message, credentials only in headers, and a 401/403 named as such.

* Twilio: ``GET /2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json`` with
  ``StartDate``/``EndDate`` (inclusive UTC dates) and ``IncludeSubaccounts=false`` — the call
  list we compare with is the account's own — paged through ``next_page_uri``. Amounts are read
  as exact decimals (``price`` is a JSON number).
* ElevenLabs: ``POST /v1/workspace/analytics/query/usage-by-product-over-time`` with daily
  buckets in UTC grouped by ``product_type``; the columns are found by their unit (``credits``,
  and a currency for the fiat figure), not by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx

from simbiosia_pipeline.sources.answers import (
    ACCEPT_ENCODING,
    AnswerLimits,
    BodyReader,
    Deadline,
    dumps_exact,
    loads_exact,
    refuse_redirect,
)
from simbiosia_pipeline.sources.errors import SourceAuthError, UnusableAnswerError
from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.pages import PagingGuard, without_account_sid
from simbiosia_pipeline.warehouse.tables import ElevenLabsUsageRow, TwilioUsageRow

DAILY_USAGE_PATH = "/2010-04-01/Accounts/{account_sid}/Usage/Records/Daily.json"
ELEVENLABS_USAGE_PATH = "/v1/workspace/analytics/query/usage-by-product-over-time"
PAGE_SIZE = 1000
DAY_SECONDS = 86400
FIAT_UNITS = ("usd", "eur", "inr", "pln")
# Twilio has a few hundred usage categories: a day's records fit in one page of 1000, and a
# listing paging past this many per day does not converge.
MAX_CATEGORIES_PER_DAY = 2000


class UsageResponseError(UnusableAnswerError):
    """A usage answer that does not have the documented shape (not retried: it would repeat)."""


@dataclass
class UsageFetch:
    """The records of one fetch and what it took."""

    records: list[dict] = field(default_factory=list)
    stats: RequestStats = field(default_factory=RequestStats)


def _get_json(
    client: httpx.Client,
    request: dict,
    what: str,
    policy: BackoffPolicy,
    stats: RequestStats,
    limits: AnswerLimits,
) -> tuple[int, object, str]:
    """Send ``request`` with retries, read under the answer bounds (deadline, size, no
    redirects; ``answers.py``): the status, the exactly parsed 200 body, an error's text."""

    def attempt() -> tuple[int, object, str]:
        deadline = Deadline(limits.deadline_seconds, what)
        built = client.build_request(**request)
        response = client.send(built, stream=True, follow_redirects=False)
        try:
            refuse_redirect(response.status_code, response.headers.get("location"), what)
            check_response(response)
            reader = BodyReader(response.headers.get("content-encoding"), limits.max_bytes, what)
            reader.check_declared_length(response.headers.get("content-length"))
            for chunk in response.iter_raw():
                reader.feed(chunk)
                deadline.check()
            body = reader.finish()
        finally:
            response.close()
        if response.status_code != 200:
            return response.status_code, None, body[:300].decode("utf-8", errors="replace")
        try:
            return 200, loads_exact(body), ""
        except ValueError:
            raise TransientResponseError(f"{what}: HTTP 200 with a body that is not JSON") from None

    return call_with_retries(attempt, what=what, policy=policy, stats=stats)


class TwilioUsageClient:
    """Daily Usage Records of one account."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str,
        timeout: httpx.Timeout | None = None,
        policy: BackoffPolicy | None = None,
        page_size: int = PAGE_SIZE,
        limits: AnswerLimits | None = None,
    ):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout or httpx.Timeout(30.0, connect=10.0)
        self._policy = policy or BackoffPolicy()
        self._page_size = page_size
        self._limits = limits or AnswerLimits(deadline_seconds=self._timeout.read or 30.0)

    def daily_records(self, first_day: date, last_day: date) -> UsageFetch:
        """Every usage record of the UTC days ``first_day..last_day`` (inclusive)."""
        fetch = UsageFetch()
        path = DAILY_USAGE_PATH.format(account_sid=self._account_sid)
        what = f"Twilio GET {without_account_sid(path)}"
        days = (last_day - first_day).days + 1
        guard = PagingGuard(what, -(-days * MAX_CATEGORIES_PER_DAY // self._page_size) + 1)
        params: dict | None = {
            "StartDate": first_day.isoformat(),
            "EndDate": last_day.isoformat(),
            "IncludeSubaccounts": "false",
            "PageSize": str(self._page_size),
        }
        url: str | None = self._base_url + path
        with httpx.Client(
            timeout=self._timeout,
            auth=(self._account_sid, self._auth_token),
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        ) as client:
            while url:
                request = {"method": "GET", "url": url, "params": params}
                status, body, text = _get_json(
                    client, request, what, self._policy, fetch.stats, self._limits
                )
                if status in (401, 403):
                    raise SourceAuthError(
                        f"Twilio rejected the credentials (HTTP {status}) while reading usage "
                        "records: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
                    )
                if status != 200:
                    raise RuntimeError(
                        f"Twilio answered HTTP {status} while reading usage records of "
                        f"{first_day}..{last_day}: {without_account_sid(text)}"
                    )
                guard.page_received()
                fetch.records.extend(_usage_records(body, what))
                url, params = self._next_page(body, path, what, guard), None
        return fetch

    def _next_page(self, body: dict, path: str, what: str, guard: PagingGuard) -> str | None:
        """The next page's URL on the configured base URL — never another host, where the
        credentials would follow — or None after the last page."""
        next_uri = body.get("next_page_uri")
        if next_uri is None:
            return None
        parts = urlsplit(str(next_uri))
        if parts.scheme or parts.netloc or parts.path != path:
            shown = without_account_sid(str(next_uri))[:200]
            raise UsageResponseError(f"{what}: 'next_page_uri' does not continue: {shown!r}")
        guard.continue_with(str(next_uri))
        return f"{self._base_url}{parts.path}?{parts.query}"


def _usage_records(body: object, what: str) -> list[dict]:
    records = body.get("usage_records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UsageResponseError(f"{what}: HTTP 200 without a usage_records list of objects")
    return records


class ElevenLabsUsageClient:
    """Credits (and fiat) per UTC day and product of the workspace."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout_seconds: float = 30.0,
        policy: BackoffPolicy | None = None,
        limits: AnswerLimits | None = None,
    ):
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
        self._policy = policy or BackoffPolicy()
        self._limits = limits or AnswerLimits(deadline_seconds=timeout_seconds)

    def daily_usage(self, first_day: date, last_day: date) -> UsageFetch:
        """One record per UTC day of ``first_day..last_day`` and product:
        ``{"day", "product_type", "credits", "fiat", "fiat_unit", "row"}``."""
        fetch = UsageFetch()
        start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
        end = start + timedelta(days=(last_day - first_day).days + 1)
        query = {
            "start_time": int(start.timestamp()) * 1000,
            "end_time": int(end.timestamp()) * 1000,
            "interval_seconds": DAY_SECONDS,
            "group_by": ["product_type"],
            "time_zone": "UTC",
        }
        request = {
            "method": "POST",
            "url": self._base_url + ELEVENLABS_USAGE_PATH,
            "content": dumps_exact(query),
            "headers": {
                "xi-api-key": self._api_key,
                "content-type": "application/json",
                "accept": "application/json",
                "accept-encoding": ACCEPT_ENCODING,
            },
        }
        what = f"ElevenLabs POST {ELEVENLABS_USAGE_PATH}"
        with httpx.Client(timeout=self._timeout) as client:
            status, body, text = _get_json(
                client, request, what, self._policy, fetch.stats, self._limits
            )
        if status in (401, 403):
            raise SourceAuthError(
                f"ElevenLabs rejected the API key (HTTP {status}) while reading usage: "
                "check ELEVENLABS_API_KEY"
            )
        if status != 200:
            raise RuntimeError(f"ElevenLabs answered HTTP {status} while reading usage: {text}")
        fetch.records.extend(usage_rows(body))
        return fetch


def usage_rows(body: dict) -> list[dict]:
    """The analytics table as one record per row: time, product, credits and fiat by unit."""
    try:
        columns, units, rows = body["columns"], body["column_units"], body["rows"]
        if not all(isinstance(item, list) for item in (columns, units, rows)):
            raise TypeError("not lists")
    except (KeyError, TypeError):
        raise UsageResponseError(
            "ElevenLabs usage answer without columns/column_units/rows"
        ) from None
    time_at = columns.index("time") if "time" in columns else None
    product_at = columns.index("product_type") if "product_type" in columns else None
    credits_at = next((i for i, unit in enumerate(units) if unit == "credits"), None)
    fiat_at = next((i for i, unit in enumerate(units) if unit in FIAT_UNITS), None)
    if time_at is None or credits_at is None:
        raise UsageResponseError(
            f"ElevenLabs usage columns {columns} lack a time or credits column"
        )
    records = []
    for row in rows:
        try:
            moment = datetime.fromisoformat(str(row[time_at]).replace("Z", "+00:00"))
        except (TypeError, IndexError, KeyError, ValueError):
            raise UsageResponseError(f"ElevenLabs usage row {str(row)[:200]} has no time") from None
        if moment.tzinfo is None:
            raise UsageResponseError(f"ElevenLabs usage row time {row[time_at]!r} has no zone")
        moment = moment.astimezone(UTC)
        records.append(
            {
                "day": moment.date(),
                "product_type": row[product_at] if product_at is not None else "all",
                "credits": _decimal(row[credits_at]),
                "fiat": _decimal(row[fiat_at]) if fiat_at is not None else None,
                "fiat_unit": units[fiat_at].upper() if fiat_at is not None else None,
                "row": dict(zip(columns, row, strict=False)),
            }
        )
    return records


def _decimal(value) -> Decimal | None:
    """An amount as reported, exactly; anything but a finite number is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise UsageResponseError(f"usage amount {str(value)[:80]!r} is not a number")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise UsageResponseError(f"usage amount {str(value)[:80]!r} is not a number") from None
    if not amount.is_finite():
        raise UsageResponseError(f"usage amount {str(value)[:80]!r} is not finite")
    return amount


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def twilio_usage_row(record: dict, ingested_at: datetime) -> TwilioUsageRow:
    """A ``raw.twilio_usage_records`` row: one UTC day and category, as Twilio reported it."""
    try:
        return _twilio_usage_row(record, ingested_at)
    except (KeyError, TypeError, ValueError, AttributeError):
        shown = without_account_sid(str(record))[:200]
        raise UsageResponseError(f"a Twilio usage record that cannot be read: {shown}") from None


def _twilio_usage_row(record: dict, ingested_at: datetime) -> TwilioUsageRow:
    try:
        day = date.fromisoformat(record["start_date"])
        category = record["category"]
    except (KeyError, TypeError, ValueError):
        raise UsageResponseError("a Twilio usage record without start_date/category") from None
    if record.get("end_date") not in (None, record["start_date"]):
        raise UsageResponseError(f"a daily usage record spanning {day}..{record['end_date']}")
    as_of = record.get("as_of")
    return TwilioUsageRow(
        record_key=f"{day.isoformat()}/{category}",
        day=day,
        day_start=day_start(day),
        category=category,
        count=int(record["count"]) if record.get("count") not in (None, "") else None,
        usage=_decimal(record.get("usage")) if record.get("usage") not in (None, "") else None,
        usage_unit=record.get("usage_unit"),
        price=_decimal(record.get("price")),
        price_unit=(record.get("price_unit") or "").upper() or None,
        as_of=datetime.fromisoformat(as_of).astimezone(UTC) if as_of else None,
        payload=dumps_exact(record).decode(),
        ingested_at=ingested_at,
    )


def elevenlabs_usage_row(record: dict, ingested_at: datetime) -> ElevenLabsUsageRow:
    """A ``raw.elevenlabs_usage`` row: one UTC day and product."""
    day = record["day"]
    return ElevenLabsUsageRow(
        record_key=f"{day.isoformat()}/{record['product_type']}",
        day=day,
        day_start=day_start(day),
        product_type=record["product_type"],
        credits=record["credits"],
        fiat=record["fiat"],
        fiat_unit=record["fiat_unit"],
        payload=dumps_exact(record["row"]).decode(),
        ingested_at=ingested_at,
    )
