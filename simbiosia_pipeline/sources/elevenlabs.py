"""ElevenLabs conversations: list a window, then fetch every conversation's detail.

The list carries no cost and no phone numbers, so each conversation needs its own detail request
— the N+1 that dominates the pipeline's run time. Details are fetched concurrently through an
adaptive limiter (see ``limiter.py``) while the listing is still paging, so the API's concurrency
budget is kept busy from the first page to the last, and the fetched details are written by a
thread of their own, so a warehouse write never holds a request slot idle.

Why threads and a synchronous ``httpx.Client`` rather than asyncio: the fan-out is bound by the
client's CPU long before it is bound by the API (see ``benchmarks/README.md``). Per request,
httpx's async stack (anyio streams, typed-attribute look-ups, task switches) costs about 2.5 ms of
CPU here, the sync stack about 1.4 ms, most of it outside the GIL (socket I/O); ten threads keep
ten requests in flight with a third of the interpreter time to spare.

The list is asked for a slightly wider window than needed and filtered locally: the boundary
semantics of ``call_start_after_unix``/``call_start_before_unix`` are undocumented.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import httpx
import orjson

from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestFailedError,
    RequestStats,
    TransientResponseError,
    call_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.limiter import AdaptiveLimiter
from simbiosia_pipeline.sources.records import RecordError, conversation_start
from simbiosia_pipeline.sources.twilio import SourceAuthError
from simbiosia_pipeline.sources.windows import Window, from_unix_seconds, unix_seconds

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
LIST_PATH = "/v1/convai/conversations"
PAGE_SIZE = 100  # the API's maximum
MAX_LISTING_RESTARTS = 5  # an expired cursor restarts that day's listing from its first page
MAX_FAILURES_BEFORE_ABORT = 25
LISTING_THREADS = 2  # a page lists 100 ids in one request: two listers keep ten fetchers fed


class ConversationFetchError(RuntimeError):
    """Some conversations could not be fetched; nothing is written, the run fails."""


Sink = Callable[[list[dict]], None]


@dataclass
class ElevenLabsFetch:
    """What it took to fetch one window's conversations (the details went to the sink)."""

    listed: int = 0
    fetched: int = 0
    stats: RequestStats = field(default_factory=RequestStats)
    concurrency_ceiling: int = 0
    concurrency_lowest: int = 0
    peak_in_flight: int = 0


class ElevenLabsClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        concurrency: int = 8,
        timeout: httpx.Timeout | None = None,
        policy: BackoffPolicy | None = None,
    ):
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._concurrency = concurrency
        self._timeout = timeout or httpx.Timeout(30.0, connect=10.0)
        self._policy = policy or BackoffPolicy()

    def conversations_started_in(
        self, window: Window, sink: Sink, batch_size: int = 500
    ) -> ElevenLabsFetch:
        """Hand the detail of every conversation of ``window`` to ``sink``, in batches.

        ``sink`` is called from one thread at a time (a writer thread, and the calling thread
        for the last batch), in order; if it raises, the fetch stops and re-raises its error.
        """
        stats = RequestStats()
        limiter = AdaptiveLimiter(self._concurrency)
        connections = self._concurrency + LISTING_THREADS
        transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        )
        with httpx.Client(
            base_url=self._base_url,
            headers={"xi-api-key": self._api_key, "accept": "application/json"},
            timeout=self._timeout,
            transport=transport,
        ) as http:
            details = _DetailRequests(self._base_url, http.headers, self._timeout, transport)
            run = _FetchRun(http, details, limiter, stats, self._policy, window, sink, batch_size)
            run.execute(self._concurrency)
        return ElevenLabsFetch(
            listed=len(run.seen),
            fetched=run.delivered,
            stats=stats,
            concurrency_ceiling=self._concurrency,
            concurrency_lowest=limiter.state.lowest,
            peak_in_flight=limiter.peak,
        )


_END = object()  # closes the writer's queue


class _DetailRequests:
    """GET of one conversation, straight through the client's httpx transport.

    A detail request needs none of what ``httpx.Client.send`` adds on top of the transport —
    no redirects, cookies, auth flow or URL merging; the headers (key, accept, encodings, user
    agent) and timeouts are the client's, the connection pool is the client's — and skipping
    it saves about a third of the CPU each of the ~34k requests of a 90-day backfill costs.
    """

    def __init__(self, base_url: str, headers: httpx.Headers, timeout: httpx.Timeout, transport):
        self._prefix = f"{base_url}{LIST_PATH}/"
        self._headers = list(headers.multi_items())
        self._extensions = {"timeout": timeout.as_dict()}
        self._transport = transport

    def request(self, conversation_id: str) -> httpx.Request:
        return httpx.Request(
            "GET",
            self._prefix + conversation_id,
            headers=self._headers,
            extensions=self._extensions,
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        response = self._transport.handle_request(request)
        try:
            response.read()  # the whole body, inside the caller's concurrency slot
        finally:
            response.close()
        return response


class _FetchRun:
    """One window's listing, detail fan-out and writing: listers feed conversation ids to the
    fetchers, which hand details to the writer; all share one limiter."""

    def __init__(
        self, http, details, limiter, stats, policy, window: Window, sink: Sink, batch_size: int
    ):
        self.http = http
        self.details_api = details
        self.limiter = limiter
        self.stats = stats
        self.policy = policy
        self.window = window
        self.sink = sink
        self.batch_size = batch_size
        self.seen: set[str] = set()
        self.seen_lock = threading.Lock()
        self.ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        # Bounded: if the warehouse is slower than the API, fetching waits instead of piling up.
        self.details: queue.Queue = queue.Queue(maxsize=4 * batch_size)
        self.tail: list[dict] = []
        self.fetched: set[str] = set()
        self.delivered = 0
        self.failures: dict[str, str] = {}
        self.fatal: Exception | None = None
        self.stopping = False
        self.rng = random.Random()

    def execute(self, workers: int) -> None:
        fetchers = [
            threading.Thread(target=self._detail_worker, name=f"elevenlabs-detail-{n}")
            for n in range(workers)
        ]
        writer = threading.Thread(target=self._writer, name="elevenlabs-writer")
        for thread in (*fetchers, writer):
            thread.start()
        try:
            self._list_window()
        except BaseException:
            self.stopping = True  # the fetchers drain the queue instead of fetching it
            raise
        finally:
            for _ in fetchers:
                self.ids.put(None)
            for thread in fetchers:
                thread.join()
            self.details.put(_END)
            writer.join()
        if self.fatal is not None:
            raise self.fatal
        unaccounted = self.seen - self.fetched - self.failures.keys()
        if unaccounted:  # defensive: every listed conversation is either fetched or reported
            raise ConversationFetchError(
                f"{len(unaccounted)} listed conversations were not fetched"
            )
        if self.failures:
            sample = "; ".join(f"{cid}: {why}" for cid, why in sorted(self.failures.items())[:10])
            raise ConversationFetchError(
                f"{len(self.failures)} ElevenLabs conversation(s) of {self.window} could not be "
                f"fetched, nothing was written: {sample}"
            )
        if self.tail:
            self.sink(self.tail)
            self.delivered += len(self.tail)

    # -- writing ---------------------------------------------------------------------------

    def _writer(self) -> None:
        """Batch the fetched details into the sink (the warehouse: blocking I/O), in order."""
        batch: list[dict] = []
        while (detail := self.details.get()) is not _END:
            self.fetched.add(detail["conversation_id"])
            if self.fatal is not None:
                continue  # the run is failing: keep draining so no fetcher blocks on a full queue
            batch.append(detail)
            if len(batch) >= self.batch_size:
                try:
                    self.sink(batch)
                except Exception as exc:  # the sink failed (a bad record, the warehouse): stop
                    self.fatal = self.fatal or exc
                else:
                    self.delivered += len(batch)
                batch = []
        # The last partial batch is written only once the whole window is known to be complete.
        self.tail = batch

    # -- listing ---------------------------------------------------------------------------

    def _list_window(self) -> None:
        pieces = list(self.window.split_by_day())
        with ThreadPoolExecutor(
            max_workers=min(LISTING_THREADS, len(pieces)), thread_name_prefix="elevenlabs-list"
        ) as pool:
            futures = [pool.submit(self._list, piece) for piece in pieces]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception()), None)
            if failed is not None:
                self.stopping = True  # the pieces not listed yet return at once
                for future in futures:
                    future.cancel()
                failed.result()

    def _list(self, piece: Window) -> None:
        if self.stopping:
            return
        params = {
            "page_size": PAGE_SIZE,
            # One second of overlap on each side; records are filtered below.
            "call_start_after_unix": unix_seconds(piece.start) - 1,
            "call_start_before_unix": unix_seconds(piece.end) + 1,
        }
        for _restart in range(MAX_LISTING_RESTARTS + 1):
            try:
                self._list_pages(piece, params)
                return
            except _CursorExpired:
                continue
        raise RequestFailedError(
            f"ElevenLabs listing of {piece}: the cursor expired {MAX_LISTING_RESTARTS + 1} times"
        )

    def _list_pages(self, piece: Window, params: dict) -> None:
        cursor = None
        while True:
            page = self._get_page({**params, **({"cursor": cursor} if cursor else {})})
            fresh = []
            with self.seen_lock:
                for summary in page.get("conversations", []):
                    conversation_id = summary["conversation_id"]
                    started = from_unix_seconds(summary["start_time_unix_secs"])
                    if started in piece and conversation_id not in self.seen:
                        self.seen.add(conversation_id)
                        fresh.append(conversation_id)
            for conversation_id in fresh:
                self.ids.put(conversation_id)
            cursor = page.get("next_cursor")
            if not (page.get("has_more") and cursor):
                return
            self._abort_if_failing()

    def _get_page(self, params: dict) -> dict:
        def attempt() -> dict:
            with self.limiter:
                response = self.http.get(LIST_PATH, params=params)
            if response.status_code == 400 and "cursor" in params and _is_cursor_error(response):
                raise _CursorExpired
            return self._parsed(response, f"listing {LIST_PATH}")

        return self._with_retries(attempt, f"ElevenLabs list {self.window}")

    # -- details ---------------------------------------------------------------------------

    def _detail_worker(self) -> None:
        while (conversation_id := self.ids.get()) is not None:
            if (
                self.stopping
                or self.fatal is not None
                or len(self.failures) >= MAX_FAILURES_BEFORE_ABORT
            ):
                # The run is failing anyway: drain the queue instead of hammering the API.
                self.failures[conversation_id] = "not attempted after earlier failures"
                continue
            try:
                detail = self._get_detail(conversation_id)
            except (SourceAuthError, RecordError) as exc:
                # Permanent: the same key or the same record fails the same way on a retry.
                self.fatal = self.fatal or exc
                self.failures[conversation_id] = str(exc)
            except Exception as exc:  # recorded and reported below: a detail is never skipped
                self.failures[conversation_id] = str(exc) or type(exc).__name__
            else:
                self.details.put(detail)

    def _get_detail(self, conversation_id: str) -> dict:
        def attempt() -> dict:
            request = self.details_api.request(conversation_id)
            with self.limiter:
                response = self.details_api.send(request)
            detail = self._parsed(response, f"conversation {conversation_id}")
            if detail.get("conversation_id") != conversation_id:
                raise TransientResponseError("detail body is for another conversation")
            conversation_start(detail)  # a detail without a start time is unusable: fail loudly
            return detail

        return self._with_retries(attempt, f"ElevenLabs conversation {conversation_id}")

    # -- shared ----------------------------------------------------------------------------

    def _with_retries(self, attempt, what: str):
        result = call_with_retries(
            attempt,
            what=what,
            policy=self.policy,
            stats=self.stats,
            rng=self.rng,
            on_throttled=self.limiter.throttled,
        )
        self.limiter.succeeded()
        return result

    def _parsed(self, response: httpx.Response, what: str) -> dict:
        check_response(response)
        if response.status_code in (401, 403):
            raise SourceAuthError(
                f"ElevenLabs rejected the API key (HTTP {response.status_code}): "
                "check ELEVENLABS_API_KEY"
            )
        if response.status_code != 200:
            raise _PermanentError(f"HTTP {response.status_code} {_error_status(response)}".strip())
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TransientResponseError(f"{what}: body is not valid JSON") from None
        if not isinstance(body, dict):
            raise TransientResponseError(f"{what}: body is not a JSON object")
        return body

    def _abort_if_failing(self) -> None:
        if self.fatal is not None:
            raise self.fatal
        if len(self.failures) >= MAX_FAILURES_BEFORE_ABORT:
            raise ConversationFetchError(
                f"aborting {self.window}: {len(self.failures)} conversation details failed, e.g. "
                + "; ".join(f"{cid}: {why}" for cid, why in sorted(self.failures.items())[:5])
            )


class _CursorExpired(Exception):
    pass


class _PermanentError(Exception):
    pass


def _is_cursor_error(response: httpx.Response) -> bool:
    return "cursor" in _error_status(response).lower()


def _error_status(response: httpx.Response) -> str:
    try:
        detail = orjson.loads(response.content).get("detail")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    if isinstance(detail, dict):
        return str(detail.get("status") or "")
    return ""
