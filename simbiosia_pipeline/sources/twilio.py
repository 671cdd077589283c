"""Twilio calls through the official SDK, on an HTTP client of our own.

The ``twilio`` SDK builds the requests (auth, the ``StartTime>``-style filters, paging through
``next_page_uri``); the transport underneath is httpx, so the base URL, timeouts, connection
reuse and retries are ours (the SDK retries nothing, not even a 429).

Twilio documents its ``StartTime`` filters at *day* granularity, so the client never relies on a
time of day: it lists whole UTC days — each day once per fetch, however many hours of it the run
needs — and keeps the records of the requested window.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.records import (
    latest_by_key,
    twilio_event_time,
    twilio_sid,
    twilio_updated_at,
)
from simbiosia_pipeline.sources.windows import Window

_ACCOUNT_IN_PATH = re.compile(r"/Accounts/[^/]+")
PAGE_SIZE = 1000  # Twilio's maximum; the default of 50 would multiply the requests by 20
DEFAULT_BASE_URL = "https://api.twilio.com"

log = logging.getLogger(__name__)


class SourceAuthError(RuntimeError):
    """The API rejected the credentials; the message names the variables to check."""


Sink = Callable[[list[dict]], None]


@dataclass
class TwilioFetch:
    """What it took to list one window's calls (the calls themselves went to the sink)."""

    calls: int = 0
    days_listed: int = 0
    duplicates_dropped: int = 0
    stats: RequestStats = field(default_factory=RequestStats)


class HttpxTwilioClient(HttpClient):
    """The SDK's ``HttpClient`` interface implemented on httpx (thread-safe, pooled)."""

    def __init__(self, base_url: str, timeout: httpx.Timeout, policy: BackoffPolicy, stats):
        super().__init__(logger=log, is_async=False, timeout=timeout.read)
        self._base = urlsplit(base_url.rstrip("/"))
        self._http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=8))
        self._policy = policy
        self.stats = stats

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ) -> Response:
        target = self._rebase(url)

        def attempt() -> httpx.Response:
            response = check_response(
                self._http.request(
                    method,
                    target,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=auth,
                    follow_redirects=allow_redirects,
                )
            )
            if response.status_code == 200:
                _require_json(response)
            return response

        response = call_with_retries(
            attempt,
            what=f"Twilio {method} {_without_account_sid(urlsplit(target).path)}",
            policy=self._policy,
            stats=self.stats,
        )
        return Response(response.status_code, response.text, headers=response.headers)

    def close(self) -> None:
        self._http.close()

    def _rebase(self, url: str) -> str:
        # The SDK addresses api.twilio.com (or an edge/region host); send it to our base URL.
        parts = urlsplit(url)
        path = self._base.path + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))


class TwilioCallsClient:
    """Lists every call of a window: all directions and statuses, each call once."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | None = None,
        policy: BackoffPolicy | None = None,
        day_concurrency: int = 4,
        page_size: int = PAGE_SIZE,
    ):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url
        self._timeout = timeout or httpx.Timeout(30.0, connect=10.0)
        self._policy = policy or BackoffPolicy()
        self._day_concurrency = day_concurrency
        self._page_size = page_size

    def calls_started_in(self, window: Window, sink: Sink) -> TwilioFetch:
        """Hand every call of ``window`` to ``sink``, one de-duplicated UTC day at a time."""
        fetch = TwilioFetch(days_listed=len(window.days()))
        http = HttpxTwilioClient(self._base_url, self._timeout, self._policy, fetch.stats)
        sdk = Client(self._account_sid, self._auth_token, http_client=http)
        sink_lock = threading.Lock()

        def fetch_day(day: date) -> None:
            served = self._list_day(sdk, day)
            for call in served:
                twilio_sid(call, listed_for=day.isoformat())
            listed = [call for call in served if twilio_event_time(call) in window]
            calls = latest_by_key(listed, key="sid", version=twilio_updated_at)
            with sink_lock:
                sink(calls)
                fetch.calls += len(calls)
                fetch.duplicates_dropped += len(listed) - len(calls)

        try:
            workers = min(self._day_concurrency, fetch.days_listed)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for finished in pool.map(fetch_day, window.days()):
                    del finished  # map() re-raises the first failure here
        finally:
            http.close()
        return fetch

    def _list_day(self, sdk: Client, day: date) -> list[dict]:
        calls_api = sdk.api.v2010.accounts(self._account_sid).calls
        records: list[dict] = []
        try:
            page = calls_api.page(
                start_time_after=day.isoformat(),
                start_time_before=(day + timedelta(days=1)).isoformat(),
                page_size=self._page_size,
            )
            while page is not None:
                records.extend(_records_of(page))
                page = page.next_page()
        except TwilioRestException as exc:
            raise _explained(exc, day) from None
        except TwilioException as exc:  # a non-200 page after the first one
            raise _explained(exc, day) from None
        return records


def _records_of(page) -> list[dict]:
    # The SDK's CallInstance models a fixed set of fields and parses dates; we store the record
    # exactly as served (fields the SDK does not know included), which the page still holds.
    return list(page.load_page(page._payload))


def _without_account_sid(path: str) -> str:
    """The path as it may appear in an error: the account SID is a credential here (see
    ``automation.alerts.SECRET_VARIABLES``), and errors end up in Dagster's event log."""
    return _ACCOUNT_IN_PATH.sub("/Accounts/{AccountSid}", path)


def _require_json(response: httpx.Response) -> None:
    try:
        json.loads(response.text)
    except ValueError:
        raise TransientResponseError("HTTP 200 with a body that is not valid JSON") from None


def _explained(exc: TwilioException, day: date) -> Exception:
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(exc, "status", None) or getattr(response, "status_code", None)
    if status in (401, 403):
        return SourceAuthError(
            f"Twilio rejected the credentials (HTTP {status}) while listing calls of {day}: "
            "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    detail = getattr(exc, "msg", None) or getattr(response, "text", "")[:200]
    return RuntimeError(f"Twilio answered HTTP {status} while listing calls of {day}: {detail}")
