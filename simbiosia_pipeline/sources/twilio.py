"""Twilio calls through the official SDK, on an HTTP client of our own.

The ``twilio`` SDK builds the requests (auth, the ``StartTime>``-style filters, paging through
``next_page_uri``); the transport underneath is httpx, so the base URL, timeouts, connection
reuse and retries are ours (the SDK retries nothing, not even a 429).

Twilio documents its ``StartTime`` filters at *day* granularity, so the client never relies on a
time of day: it lists whole UTC days — each day once per fetch, however many hours of it the run
needs — and keeps the records of the requested window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from simbiosia_pipeline.sources.answers import (
    ACCEPT_ENCODING,
    AnswerLimits,
    BodyReader,
    Deadline,
    loads_exact,
    refuse_redirect,
)
from simbiosia_pipeline.sources.errors import SourceAuthError
from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.pages import (
    MAX_RECORDS_PER_HOUR,
    PagingGuard,
    max_pages,
    twilio_page,
    without_account_sid,
)
from simbiosia_pipeline.sources.records import (
    latest_by_key,
    twilio_event_time,
    twilio_sid,
    twilio_updated_at,
)
from simbiosia_pipeline.sources.windows import Window

PAGE_SIZE = 1000  # Twilio's maximum; the default of 50 would multiply the requests by 20
DEFAULT_BASE_URL = "https://api.twilio.com"

log = logging.getLogger(__name__)


Sink = Callable[[list[dict]], None]


@dataclass
class TwilioFetch:
    """What it took to list one window's calls (the calls themselves went to the sink)."""

    calls: int = 0
    days_listed: int = 0
    duplicates_dropped: int = 0
    stats: RequestStats = field(default_factory=RequestStats)


class HttpxTwilioClient(HttpClient):
    """The SDK's ``HttpClient`` interface implemented on httpx (thread-safe, pooled).

    Every request goes to the configured base URL (whatever host the SDK or a page's
    ``next_page_uri`` names), is never redirected, and is read within ``answers.AnswerLimits``.
    The body of a 200 is also parsed exactly (``answers.loads_exact``) and kept for the thread
    that asked (``take_payload``): the SDK's own parse rounds numbers.
    """

    def __init__(
        self,
        base_url: str,
        timeout: httpx.Timeout,
        policy: BackoffPolicy,
        stats,
        limits: AnswerLimits | None = None,
    ):
        super().__init__(logger=log, is_async=False, timeout=timeout.read)
        self._base = urlsplit(base_url.rstrip("/"))
        self._http = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=8),
            follow_redirects=False,
        )
        self._policy = policy
        self._limits = limits or AnswerLimits(deadline_seconds=timeout.read or 30.0)
        self._payloads = threading.local()
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
        what = f"Twilio {method} {without_account_sid(urlsplit(target).path)}"
        headers = {**(headers or {}), "Accept-Encoding": ACCEPT_ENCODING}

        def attempt() -> tuple[httpx.Response, bytes, object]:
            response, body = self._read(method, target, what, params, data, headers, auth)
            check_response(response)
            payload = _exact_json(body, what) if response.status_code == 200 else None
            return response, body, payload

        response, body, payload = call_with_retries(
            attempt, what=what, policy=self._policy, stats=self.stats
        )
        self._payloads.last = payload
        text = body.decode(response.encoding or "utf-8", errors="replace")
        return Response(response.status_code, text, headers=response.headers)

    def take_payload(self) -> object:
        """The exact JSON of the last 200 this thread received (then forgotten)."""
        payload, self._payloads.last = getattr(self._payloads, "last", None), None
        return payload

    def _read(self, method, target, what, params, data, headers, auth):
        deadline = Deadline(self._limits.deadline_seconds, what)
        request = self._http.build_request(
            method, target, params=params, data=data, headers=headers
        )
        # httpx's timeouts are per read: the deadline is checked between reads, so an answer
        # takes at most the deadline plus one read timeout, however slowly it trickles.
        response = self._http.send(request, auth=auth, stream=True, follow_redirects=False)
        try:
            refuse_redirect(response.status_code, response.headers.get("location"), what)
            reader = BodyReader(
                response.headers.get("content-encoding"), self._limits.max_bytes, what
            )
            reader.check_declared_length(response.headers.get("content-length"))
            for chunk in response.iter_raw():
                reader.feed(chunk)
                deadline.check()
            return response, reader.finish()
        finally:
            response.close()

    def close(self) -> None:
        self._http.close()

    def _rebase(self, url: str) -> str:
        # The SDK addresses api.twilio.com (or an edge/region host), and a page's
        # next_page_uri may name any host: only the path and query are kept, and sent to the
        # configured base URL — the credentials never leave it.
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
        limits: AnswerLimits | None = None,
        max_records_per_hour: int = MAX_RECORDS_PER_HOUR,
    ):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url
        self._timeout = timeout or httpx.Timeout(30.0, connect=10.0)
        self._policy = policy or BackoffPolicy()
        self._day_concurrency = day_concurrency
        self._page_size = page_size
        self._limits = limits or AnswerLimits(deadline_seconds=self._timeout.read or 30.0)
        self._max_records_per_hour = max_records_per_hour

    def calls_started_in(self, window: Window, sink: Sink) -> TwilioFetch:
        """Hand every call of ``window`` to ``sink``, one de-duplicated UTC day at a time."""
        fetch = TwilioFetch(days_listed=len(window.days()))
        http = HttpxTwilioClient(
            self._base_url, self._timeout, self._policy, fetch.stats, self._limits
        )
        sdk = Client(self._account_sid, self._auth_token, http_client=http)
        sink_lock = threading.Lock()

        def fetch_day(day: date) -> None:
            served = self._list_day(sdk, http, day)
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

    def _list_day(self, sdk: Client, http: HttpxTwilioClient, day: date) -> list[dict]:
        """Every call the API lists for ``day``, page by page, each page checked (``pages``)."""
        calls_api = sdk.api.v2010.accounts(self._account_sid).calls
        endpoint = f"Twilio GET /2010-04-01/Accounts/{{AccountSid}}/Calls.json for {day}"
        path = f"/2010-04-01/Accounts/{self._account_sid}/Calls.json"
        guard = PagingGuard(endpoint, max_pages(24, self._page_size, self._max_records_per_hour))
        records: list[dict] = []

        def checked(number: int, read_page: Callable[[], object]) -> tuple[object, str | None]:
            """The SDK's page and its next URI, once its exact JSON has the documented shape."""
            label = f"{endpoint}, page {number}"
            try:
                page = read_page()
            except (TwilioException, AttributeError, TypeError, KeyError) as exc:
                payload = http.take_payload()
                if payload is not None:  # a 200 the SDK could not read as a page: say why
                    twilio_page(payload, label, number=number, page_size=self._page_size, path=path)
                if isinstance(exc, TwilioException):
                    raise _explained(exc, day) from None
                raise
            calls, next_uri = twilio_page(
                http.take_payload(), label, number=number, page_size=self._page_size, path=path
            )
            records.extend(calls)
            return page, next_uri

        page, next_uri = checked(
            0,
            lambda: calls_api.page(
                start_time_after=day.isoformat(),
                start_time_before=(day + timedelta(days=1)).isoformat(),
                page_size=self._page_size,
            ),
        )
        guard.page_received()
        number = 0
        while next_uri is not None:
            guard.continue_with(next_uri)
            number += 1
            page, next_uri = checked(number, page.next_page)
            guard.page_received()
        return records


def _exact_json(body: bytes, what: str) -> object:
    try:
        return loads_exact(body)
    except ValueError:  # orjson's and json's decode errors are both ValueErrors
        raise TransientResponseError(f"{what}: HTTP 200 with a body that is not JSON") from None


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
