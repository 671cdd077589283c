"""ElevenLabs conversations: list a window, then fetch every conversation's detail.

The list carries no cost and no phone numbers, so each conversation needs its own detail request
— the N+1 that dominates the pipeline's run time. Details are fetched concurrently through an
adaptive limiter (see ``limiter.py``) while the listing is still paging, so the API's concurrency
budget is kept busy from the first page to the last.

The list is asked for a slightly wider window than needed and filtered locally: the boundary
semantics of ``call_start_after_unix``/``call_start_before_unix`` are undocumented.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestFailedError,
    RequestStats,
    TransientResponseError,
    acall_with_retries,
    check_response,
)
from simbiosia_pipeline.sources.limiter import AdaptiveLimiter
from simbiosia_pipeline.sources.records import conversation_start
from simbiosia_pipeline.sources.twilio import SourceAuthError
from simbiosia_pipeline.sources.windows import Window, from_unix_seconds, unix_seconds

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
LIST_PATH = "/v1/convai/conversations"
PAGE_SIZE = 100  # the API's maximum
MAX_LISTING_RESTARTS = 5  # an expired cursor restarts that day's listing from its first page
MAX_FAILURES_BEFORE_ABORT = 25


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
        """Hand the detail of every conversation of ``window`` to ``sink``, in batches."""
        return asyncio.run(self._fetch(window, sink, batch_size))

    async def _fetch(self, window: Window, sink: Sink, batch_size: int) -> ElevenLabsFetch:
        stats = RequestStats()
        limiter = AdaptiveLimiter(self._concurrency)
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers={"xi-api-key": self._api_key, "accept": "application/json"},
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=self._concurrency + 2,
                max_keepalive_connections=self._concurrency + 2,
            ),
        ) as http:
            run = _FetchRun(http, limiter, stats, self._policy, window, sink, batch_size)
            await run.execute(self._concurrency)
        return ElevenLabsFetch(
            listed=len(run.seen),
            fetched=run.delivered,
            stats=stats,
            concurrency_ceiling=self._concurrency,
            concurrency_lowest=limiter.state.lowest,
            peak_in_flight=limiter.peak,
        )


class _FetchRun:
    """One window's listing and detail fan-out, sharing a limiter and a work queue."""

    def __init__(self, http, limiter, stats, policy, window: Window, sink: Sink, batch_size: int):
        self.http = http
        self.limiter = limiter
        self.stats = stats
        self.policy = policy
        self.window = window
        self.seen: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.sink = sink
        self.batch_size = batch_size
        self.batch: list[dict] = []
        self.sink_lock = asyncio.Lock()
        self.fetched: set[str] = set()
        self.delivered = 0
        self.failures: dict[str, str] = {}
        self.fatal: Exception | None = None
        self.rng = random.Random()

    async def execute(self, workers: int) -> None:
        worker_tasks = [asyncio.create_task(self._detail_worker()) for _ in range(workers)]
        try:
            await asyncio.gather(*(self._list(piece) for piece in self.window.split_by_day()))
        finally:
            for _ in worker_tasks:
                self.queue.put_nowait(None)
            await asyncio.gather(*worker_tasks, return_exceptions=True)
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
        await self._flush()

    async def _deliver(self, detail: dict) -> None:
        self.fetched.add(detail["conversation_id"])
        self.batch.append(detail)
        if len(self.batch) >= self.batch_size:
            await self._flush()

    async def _flush(self) -> None:
        # The sink writes to the warehouse (blocking I/O): run it off the event loop so the
        # in-flight requests keep flowing, and one batch at a time so writes stay ordered.
        async with self.sink_lock:
            batch, self.batch = self.batch, []
            if batch:
                await asyncio.to_thread(self.sink, batch)
                self.delivered += len(batch)

    # -- listing ---------------------------------------------------------------------------

    async def _list(self, piece: Window) -> None:
        params = {
            "page_size": PAGE_SIZE,
            # One second of overlap on each side; records are filtered below.
            "call_start_after_unix": unix_seconds(piece.start) - 1,
            "call_start_before_unix": unix_seconds(piece.end) + 1,
        }
        for _restart in range(MAX_LISTING_RESTARTS + 1):
            try:
                await self._list_pages(piece, params)
                return
            except _CursorExpired:
                continue
        raise RequestFailedError(
            f"ElevenLabs listing of {piece}: the cursor expired {MAX_LISTING_RESTARTS + 1} times"
        )

    async def _list_pages(self, piece: Window, params: dict) -> None:
        cursor = None
        while True:
            page = await self._get_page({**params, **({"cursor": cursor} if cursor else {})})
            for summary in page.get("conversations", []):
                conversation_id = summary["conversation_id"]
                started = from_unix_seconds(summary["start_time_unix_secs"])
                if started in piece and conversation_id not in self.seen:
                    self.seen.add(conversation_id)
                    self.queue.put_nowait(conversation_id)
            cursor = page.get("next_cursor")
            if not (page.get("has_more") and cursor):
                return
            self._abort_if_failing()

    async def _get_page(self, params: dict) -> dict:
        async def attempt() -> dict:
            async with self.limiter:
                response = await self.http.get(LIST_PATH, params=params)
            if response.status_code == 400 and "cursor" in params and _is_cursor_error(response):
                raise _CursorExpired
            return self._parsed(response, f"listing {LIST_PATH}")

        return await self._with_retries(attempt, f"ElevenLabs list {self.window}")

    # -- details ---------------------------------------------------------------------------

    async def _detail_worker(self) -> None:
        while (conversation_id := await self.queue.get()) is not None:
            if self.fatal is not None or len(self.failures) >= MAX_FAILURES_BEFORE_ABORT:
                # The run is failing anyway: drain the queue instead of hammering the API.
                self.failures[conversation_id] = "not attempted after earlier failures"
                continue
            try:
                detail = await self._get_detail(conversation_id)
            except SourceAuthError as exc:
                self.fatal = exc
                self.failures[conversation_id] = str(exc)
            except Exception as exc:  # recorded and reported below: a detail is never skipped
                self.failures[conversation_id] = str(exc) or type(exc).__name__
            else:
                try:
                    await self._deliver(detail)
                except Exception as exc:  # the sink failed (a bad record, the warehouse): stop
                    self.fatal = self.fatal or exc

    async def _get_detail(self, conversation_id: str) -> dict:
        path = f"{LIST_PATH}/{conversation_id}"

        async def attempt() -> dict:
            async with self.limiter:
                response = await self.http.get(path)
            detail = self._parsed(response, f"conversation {conversation_id}")
            if detail.get("conversation_id") != conversation_id:
                raise TransientResponseError("detail body is for another conversation")
            conversation_start(detail)  # a detail without a start time is unusable: fail loudly
            return detail

        return await self._with_retries(attempt, f"ElevenLabs conversation {conversation_id}")

    # -- shared ----------------------------------------------------------------------------

    async def _with_retries(self, attempt, what: str):
        result = await acall_with_retries(
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
