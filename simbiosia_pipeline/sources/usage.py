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

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urljoin

import httpx

from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.twilio import SourceAuthError, _without_account_sid

DAILY_USAGE_PATH = "/2010-04-01/Accounts/{account_sid}/Usage/Records/Daily.json"
ELEVENLABS_USAGE_PATH = "/v1/workspace/analytics/query/usage-by-product-over-time"
PAGE_SIZE = 1000
DAY_SECONDS = 86400
FIAT_UNITS = ("usd", "eur", "inr", "pln")


class UsageResponseError(RuntimeError):
    """A usage answer that does not have the documented shape (not retried: it would repeat)."""


@dataclass
class UsageFetch:
    """The records of one fetch and what it took."""

    records: list[dict] = field(default_factory=list)
    stats: RequestStats = field(default_factory=RequestStats)


def _parse_json(response: httpx.Response) -> dict:
    try:
        return json.loads(response.text, parse_float=Decimal)
    except ValueError:
        raise TransientResponseError("HTTP 200 with a body that is not valid JSON") from None


def _get_json(
    client: httpx.Client, request: dict, what: str, policy: BackoffPolicy, stats: RequestStats
) -> tuple[int, dict | None, str]:
    """Send ``request`` with retries; the status, the parsed 200 body, and the raw text."""

    def attempt() -> tuple[int, dict | None, str]:
        response = check_response(client.request(**request))
        if response.status_code == 200:
            return 200, _parse_json(response), response.text
        return response.status_code, None, response.text[:300]

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
    ):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout or httpx.Timeout(30.0, connect=10.0)
        self._policy = policy or BackoffPolicy()
        self._page_size = page_size

    def daily_records(self, first_day: date, last_day: date) -> UsageFetch:
        """Every usage record of the UTC days ``first_day..last_day`` (inclusive)."""
        fetch = UsageFetch()
        path = DAILY_USAGE_PATH.format(account_sid=self._account_sid)
        what = f"Twilio GET {_without_account_sid(path)}"
        params: dict | None = {
            "StartDate": first_day.isoformat(),
            "EndDate": last_day.isoformat(),
            "IncludeSubaccounts": "false",
            "PageSize": str(self._page_size),
        }
        url = self._base_url + path
        with httpx.Client(
            timeout=self._timeout, auth=(self._account_sid, self._auth_token)
        ) as client:
            while url:
                request = {"method": "GET", "url": url, "params": params}
                status, body, text = _get_json(client, request, what, self._policy, fetch.stats)
                if status in (401, 403):
                    raise SourceAuthError(
                        f"Twilio rejected the credentials (HTTP {status}) while reading usage "
                        "records: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
                    )
                if status != 200:
                    raise RuntimeError(
                        f"Twilio answered HTTP {status} while reading usage records of "
                        f"{first_day}..{last_day}: {_without_account_sid(text)}"
                    )
                records = body.get("usage_records")
                if not isinstance(records, list):
                    raise UsageResponseError("Twilio usage page without a usage_records list")
                fetch.records.extend(records)
                next_uri = body.get("next_page_uri")
                url = urljoin(self._base_url + "/", next_uri.lstrip("/")) if next_uri else None
                params = None  # the next page's URI carries the filters
        return fetch


class ElevenLabsUsageClient:
    """Credits (and fiat) per UTC day and product of the workspace."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout_seconds: float = 30.0,
        policy: BackoffPolicy | None = None,
    ):
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds))
        self._policy = policy or BackoffPolicy()

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
            "content": json.dumps(query),
            "headers": {
                "xi-api-key": self._api_key,
                "content-type": "application/json",
                "accept": "application/json",
            },
        }
        what = f"ElevenLabs POST {ELEVENLABS_USAGE_PATH}"
        with httpx.Client(timeout=self._timeout) as client:
            status, body, text = _get_json(client, request, what, self._policy, fetch.stats)
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
        moment = datetime.fromisoformat(str(row[time_at]).replace("Z", "+00:00")).astimezone(UTC)
        records.append(
            {
                "day": moment.date(),
                "product_type": row[product_at] if product_at is not None else "all",
                "credits": _decimal(row[credits_at]),
                "fiat": _decimal(row[fiat_at]) if fiat_at is not None else None,
                "fiat_unit": units[fiat_at].upper() if fiat_at is not None else None,
                "row": dict(zip(columns, [_plain(value) for value in row], strict=False)),
            }
        )
    return records


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _plain(value):
    """A JSON-storable copy of a cell (decimals as their exact text)."""
    return str(value) if isinstance(value, Decimal) else value


TWILIO_USAGE_COLUMNS = (
    "record_key",
    "day",
    "day_start",
    "category",
    "count",
    "usage",
    "usage_unit",
    "price",
    "price_unit",
    "as_of",
    "payload",
    "ingested_at",
)
ELEVENLABS_USAGE_COLUMNS = (
    "record_key",
    "day",
    "day_start",
    "product_type",
    "credits",
    "fiat",
    "fiat_unit",
    "payload",
    "ingested_at",
)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def twilio_usage_row(record: dict, ingested_at: datetime) -> tuple:
    """A ``raw.twilio_usage_records`` row: one UTC day and category, as Twilio reported it."""
    try:
        day = date.fromisoformat(record["start_date"])
        category = record["category"]
    except (KeyError, TypeError, ValueError):
        raise UsageResponseError("a Twilio usage record without start_date/category") from None
    if record.get("end_date") not in (None, record["start_date"]):
        raise UsageResponseError(f"a daily usage record spanning {day}..{record['end_date']}")
    as_of = record.get("as_of")
    return (
        f"{day.isoformat()}/{category}",
        day,
        day_start(day),
        category,
        int(record["count"]) if record.get("count") not in (None, "") else None,
        _decimal(record.get("usage")) if record.get("usage") not in (None, "") else None,
        record.get("usage_unit"),
        _decimal(record.get("price")),
        (record.get("price_unit") or "").upper() or None,
        datetime.fromisoformat(as_of).astimezone(UTC) if as_of else None,
        json.dumps(record, default=float),
        ingested_at,
    )


def elevenlabs_usage_row(record: dict, ingested_at: datetime) -> tuple:
    """A ``raw.elevenlabs_usage`` row: one UTC day and product."""
    day = record["day"]
    return (
        f"{day.isoformat()}/{record['product_type']}",
        day,
        day_start(day),
        record["product_type"],
        record["credits"],
        record["fiat"],
        record["fiat_unit"],
        json.dumps(record["row"], default=float),
        ingested_at,
    )
