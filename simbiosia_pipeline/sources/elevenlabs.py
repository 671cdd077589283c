"""ElevenLabs conversations: list a window, then fetch every conversation's detail.

The list carries no cost and no phone numbers, so each conversation needs its own detail request
— the N+1 that dominates the pipeline's run time. Details are fetched concurrently through an
adaptive limiter (see ``limiter.py``) while the listing is still paging, so the API's concurrency
budget is kept busy from the first page to the last, and the fetched details are written by a
thread of their own, so a warehouse write never holds a request slot idle.

Why aiohttp on one event loop (uvloop) rather than threads around a synchronous client: with a
latency of L and C requests allowed at once, the API cannot answer N requests faster than N·L/C,
and what separates a client from that bound is the time between one answer arriving and the next
request leaving. aiohttp parses HTTP in C and its loop hands a freed slot to the next request in
the same iteration; threads around httpx paid a GIL hand-off and ~1.1 ms of Python per request:
1.19x the bound against 1.12-1.16x for this design (``benchmarks/README.md``).

The list is asked for a slightly wider window than needed and filtered locally: the boundary
semantics of ``call_start_after_unix``/``call_start_before_unix`` are undocumented.

A re-run of a window need not ask again for what cannot have changed: the caller may say which
listed conversations are current (``is_current``, see ``refetch.py``); those are listed, counted
and reported as ``kept``, and their detail is not requested.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp
import orjson

try:
    from uvloop import new_event_loop
except ImportError:  # not built for Windows: the standard loop works, a little slower
    from asyncio import new_event_loop

from simbiosia_pipeline.settings import CONCURRENCY_RANGE, ConfigurationError
from simbiosia_pipeline.sources.answers import (
    ACCEPT_ENCODING,
    AnswerLimits,
    BodyReader,
    Deadline,
    loads_exact,
    refuse_redirect,
)
from simbiosia_pipeline.sources.errors import (
    PERMANENT_SOURCE_ERRORS,
    SourceAuthError,
    UnusableAnswerError,
)
from simbiosia_pipeline.sources.http import (
    BackoffPolicy,
    RequestFailedError,
    RequestStats,
    TransientResponseError,
    acall_with_retries,
    raise_if_retryable,
)
from simbiosia_pipeline.sources.limiter import AdaptiveLimiter
from simbiosia_pipeline.sources.pages import (
    MAX_RECORDS_PER_HOUR,
    PagingGuard,
    elevenlabs_page,
    error_hint,
    max_pages,
)
from simbiosia_pipeline.sources.records import conversation_start
from simbiosia_pipeline.sources.windows import Window, from_unix_seconds, unix_seconds

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
LIST_PATH = "/v1/convai/conversations"
PAGE_SIZE = 100  # the API's maximum
MAX_LISTING_RESTARTS = 5  # an expired cursor restarts that day's listing from its first page
MAX_FAILURES_BEFORE_ABORT = 25
LISTERS = 2  # a page lists 100 ids in one request: two listers keep the fetchers fed
MAX_BATCHES_QUEUED = 4  # if the warehouse is slower than the API, fetching waits for it
# SIMBIOSIA_ELEVENLABS_CONCURRENCY: ElevenLabs' plans allow a few to a few dozen concurrent
# requests; past 64 a typo (640) would only open sockets to be answered 429.
CONCURRENCY_VARIABLE = "SIMBIOSIA_ELEVENLABS_CONCURRENCY"


class ConversationFetchError(RuntimeError):
    """Some conversations could not be fetched; nothing is written, the run fails."""


Sink = Callable[[list[dict]], None]
# A list entry → whether the stored record is still current (no detail needed).
IsCurrent = Callable[[dict], bool]


def _nothing_is_current(summary: dict) -> bool:
    return False


@dataclass
class ElevenLabsFetch:
    """What it took to fetch one window's conversations (the details went to the sink)."""

    listed: int = 0
    fetched: int = 0
    list_pages: int = 0
    kept: frozenset[str] = frozenset()  # listed, current as stored: no detail requested
    stats: RequestStats = field(default_factory=RequestStats)
    concurrency_ceiling: int = 0
    concurrency_lowest: int = 0
    peak_in_flight: int = 0


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer, read whole inside its concurrency slot."""

    status: int
    retry_after: str | None
    body: bytes


class ElevenLabsClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        concurrency: int = 8,
        timeout_seconds: float = 30.0,
        policy: BackoffPolicy | None = None,
        limits: AnswerLimits | None = None,
        max_records_per_hour: int = MAX_RECORDS_PER_HOUR,
    ):
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._concurrency = checked_concurrency(concurrency)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(10.0, timeout_seconds), sock_read=timeout_seconds
        )
        self._limits = limits or AnswerLimits(deadline_seconds=timeout_seconds)
        self._policy = policy or BackoffPolicy()
        self._max_records_per_hour = max_records_per_hour

    def conversations_started_in(
        self,
        window: Window,
        sink: Sink,
        batch_size: int = 500,
        is_current: IsCurrent = _nothing_is_current,
    ) -> ElevenLabsFetch:
        """Hand the detail of every conversation of ``window`` to ``sink``, in batches —
        except those whose list entry ``is_current`` accepts (returned as ``kept``).

        ``sink`` is called in order from a writer thread of its own (blocking I/O is fine); if
        it raises, the fetch stops and re-raises its error.
        """
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(self._fetch(window, sink, batch_size, is_current))

    async def _fetch(
        self, window: Window, sink: Sink, batch_size: int, is_current: IsCurrent
    ) -> ElevenLabsFetch:
        stats = RequestStats()
        limiter = AdaptiveLimiter(self._concurrency)
        connector = aiohttp.TCPConnector(limit=self._concurrency + LISTERS)
        async with aiohttp.ClientSession(
            headers={
                "xi-api-key": self._api_key,
                "accept": "application/json",
                "accept-encoding": ACCEPT_ENCODING,
            },
            timeout=self._timeout,
            connector=connector,
            raise_for_status=False,
            auto_decompress=False,  # inflated by answers.BodyReader, within its size limit
        ) as session:
            http = _Http(session, self._base_url, self._limits)
            writer = _BatchWriter(sink, batch_size)
            run = _FetchRun(
                http,
                limiter,
                stats,
                self._policy,
                window,
                writer,
                self._max_records_per_hour,
                is_current,
            )
            await run.execute(self._concurrency)
        return ElevenLabsFetch(
            listed=len(run.seen),
            fetched=writer.delivered,
            list_pages=run.pages,
            kept=frozenset(run.kept),
            stats=stats,
            concurrency_ceiling=self._concurrency,
            concurrency_lowest=limiter.state.lowest,
            peak_in_flight=limiter.peak,
        )


def checked_concurrency(concurrency: int) -> int:
    """The resource's concurrency within the settings' range (resource config may bypass the
    environment's check)."""
    low, high = CONCURRENCY_RANGE
    if not low <= concurrency <= high:
        raise ConfigurationError(
            f"{CONCURRENCY_VARIABLE}={concurrency} is out of range: ElevenLabs concurrency must "
            f"be {low}..{high}"
        )
    return concurrency


class _Http:
    """GET against the API within ``answers.AnswerLimits`` (an overall deadline, a body size
    limit, no redirects); a dropped connection or a timeout is a transient answer."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, limits: AnswerLimits):
        self._session = session
        self._base_url = base_url
        self._limits = limits

    async def get(self, path: str, what: str, params: dict | None = None) -> _Answer:
        deadline = Deadline(self._limits.deadline_seconds, what)
        try:
            async with asyncio.timeout(deadline.seconds):
                return await self._read(path, what, params)
        except aiohttp.ClientError as exc:  # a per-read timeout (ServerTimeoutError) included
            # The type only: aiohttp's messages can carry the request, headers included.
            raise TransientResponseError(f"{what}: {type(exc).__name__}") from exc
        except TimeoutError:
            raise deadline.exceeded() from None

    async def _read(self, path: str, what: str, params: dict | None) -> _Answer:
        async with self._session.get(
            self._base_url + path, params=params, allow_redirects=False
        ) as response:
            refuse_redirect(response.status, response.headers.get("location"), what)
            reader = BodyReader(
                response.headers.get("content-encoding"), self._limits.max_bytes, what
            )
            reader.check_declared_length(response.headers.get("content-length"))
            async for chunk in response.content.iter_any():
                reader.feed(chunk)
            return _Answer(response.status, response.headers.get("retry-after"), reader.finish())


class _BatchWriter:
    """Batches the fetched details into the sink (the warehouse: blocking I/O) on a thread of
    its own, in order, never more than ``MAX_BATCHES_QUEUED`` batches behind the fetchers.

    The last partial batch waits for ``write_tail``, called once the whole window is known to be
    complete. After the sink has failed, batches are dropped: the run fails with its error.
    """

    def __init__(self, sink: Sink, batch_size: int):
        self.sink = sink
        self.batch_size = batch_size
        self.tail: list[dict] = []
        self.delivered = 0
        self.error: Exception | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="elevenlabs-writer")
        self._queued: deque[Awaitable[None]] = deque()

    async def add(self, detail: dict) -> None:
        self.tail.append(detail)
        if len(self.tail) < self.batch_size:
            return
        batch, self.tail = self.tail, []
        self._queued.append(asyncio.wrap_future(self._thread.submit(self._write, batch)))
        while len(self._queued) > MAX_BATCHES_QUEUED:
            await self._queued.popleft()

    async def drain(self) -> None:
        while self._queued:
            await self._queued.popleft()

    async def write_tail(self) -> None:
        """The last partial batch: only once the window is known to be complete."""
        batch, self.tail = self.tail, []
        if batch:
            await asyncio.wrap_future(self._thread.submit(self._write, batch))
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._thread.shutdown()

    def _write(self, batch: list[dict]) -> None:
        if self.error is not None:
            return
        try:
            self.sink(batch)
        except Exception as exc:  # a bad record, the warehouse: the run fails with it
            self.error = exc
        else:
            self.delivered += len(batch)


class _FetchRun:
    """One window's listing, detail fan-out and writing: listers feed conversation ids to the
    fetchers, which hand details to the writer; all share one limiter and one event loop."""

    def __init__(
        self,
        http: _Http,
        limiter,
        stats,
        policy,
        window: Window,
        writer: _BatchWriter,
        max_records_per_hour: int = MAX_RECORDS_PER_HOUR,
        is_current: IsCurrent = _nothing_is_current,
    ):
        self.http = http
        self.limiter = limiter
        self.stats = stats
        self.policy = policy
        self.window = window
        self.writer = writer
        self.seen: set[str] = set()
        self.kept: set[str] = set()
        self.pages = 0
        self.is_current = is_current
        self.ids: asyncio.Queue[str | None] = asyncio.Queue()
        self.fetched: set[str] = set()
        self.failures: dict[str, str] = {}
        self.fatal: Exception | None = None
        self.stopping = False
        self.rng = random.Random()
        self.max_records_per_hour = max_records_per_hour

    async def execute(self, workers: int) -> None:
        try:
            await self._fetch_all(workers)
            self._raise_unless_complete()
            await self.writer.write_tail()
        finally:
            self.writer.close()

    async def _fetch_all(self, workers: int) -> None:
        fetchers = [asyncio.create_task(self._detail_worker()) for _ in range(workers)]
        try:
            await self._list_window()
        except BaseException:
            self.stopping = True  # the fetchers drain the queue instead of fetching it
            raise
        finally:
            for _ in fetchers:
                self.ids.put_nowait(None)
            await asyncio.gather(*fetchers)
            await self.writer.drain()

    def _raise_unless_complete(self) -> None:
        if fatal := self._fatal():
            raise fatal
        unaccounted = self.seen - self.kept - self.fetched - self.failures.keys()
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

    def _fatal(self) -> Exception | None:
        return self.fatal or self.writer.error

    # -- listing ---------------------------------------------------------------------------

    async def _list_window(self) -> None:
        pieces = deque(self.window.split_by_day())

        async def lister() -> None:
            while pieces and not self.stopping:
                await self._list(pieces.popleft())

        listers = [asyncio.create_task(lister()) for _ in range(min(LISTERS, len(pieces)))]
        try:
            await asyncio.gather(*listers)
        except BaseException:
            self.stopping = True  # the pieces not listed yet are left alone
            for task in listers:
                task.cancel()
            await asyncio.gather(*listers, return_exceptions=True)
            raise

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
        endpoint = f"ElevenLabs GET {LIST_PATH} for {piece}"
        guard = PagingGuard(
            endpoint, max_pages(piece.hours or 1, PAGE_SIZE, self.max_records_per_hour)
        )
        cursor = None
        while True:
            guard.page_received()
            page = await self._get_page({**params, **({"cursor": cursor} if cursor else {})})
            self.pages += 1
            summaries, cursor = elevenlabs_page(page, endpoint)
            for summary in summaries:
                conversation_id = summary["conversation_id"]
                started = _listed_start(summary, endpoint)
                if started in piece and conversation_id not in self.seen:
                    self.seen.add(conversation_id)
                    if self.is_current(summary):
                        self.kept.add(conversation_id)
                    else:
                        self.ids.put_nowait(conversation_id)
            if cursor is None:
                return
            guard.continue_with(cursor)
            self._abort_if_failing()

    async def _get_page(self, params: dict) -> dict:
        async def attempt() -> dict:
            async with self.limiter:
                answer = await self.http.get(LIST_PATH, f"listing {LIST_PATH}", params)
            if answer.status == 400 and "cursor" in params and _is_cursor_error(answer.body):
                raise _CursorExpired
            return self._parsed(answer, f"listing {LIST_PATH}")

        return await self._with_retries(attempt, f"ElevenLabs list {self.window}")

    # -- details ---------------------------------------------------------------------------

    async def _detail_worker(self) -> None:
        while (conversation_id := await self.ids.get()) is not None:
            if (
                self.stopping
                or self._fatal() is not None
                or len(self.failures) >= MAX_FAILURES_BEFORE_ABORT
            ):
                # The run is failing anyway: drain the queue instead of hammering the API.
                self.failures[conversation_id] = "not attempted after earlier failures"
                continue
            try:
                detail = await self._get_detail(conversation_id)
            except PERMANENT_SOURCE_ERRORS as exc:
                # Permanent: the same key or the same record fails the same way on a retry.
                self.fatal = self.fatal or exc
                self.failures[conversation_id] = str(exc)
            except Exception as exc:  # recorded and reported below: a detail is never skipped
                self.failures[conversation_id] = str(exc) or type(exc).__name__
            else:
                self.fetched.add(conversation_id)
                await self.writer.add(detail)

    async def _get_detail(self, conversation_id: str) -> dict:
        path = f"{LIST_PATH}/{conversation_id}"

        async def attempt() -> dict:
            async with self.limiter:
                answer = await self.http.get(path, f"conversation {conversation_id}")
            detail = self._parsed(answer, f"conversation {conversation_id}")
            if "conversation_id" not in detail:  # an error object served with 200, not a detail
                raise UnusableAnswerError(
                    f"ElevenLabs GET {path}: HTTP 200 without a conversation"
                    f"{error_hint(detail)}; nothing of the window was replaced"
                )
            if detail.get("conversation_id") != conversation_id:
                raise TransientResponseError("detail body is for another conversation")
            conversation_start(detail)  # a detail without a start time is unusable: fail loudly
            return detail

        return await self._with_retries(attempt, f"ElevenLabs conversation {conversation_id}")

    # -- shared ----------------------------------------------------------------------------

    async def _with_retries(self, attempt: Callable[[], Awaitable[dict]], what: str) -> dict:
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

    def _parsed(self, answer: _Answer, what: str) -> dict:
        raise_if_retryable(answer.status, answer.retry_after)
        if answer.status in (401, 403):
            raise SourceAuthError(
                f"ElevenLabs rejected the API key (HTTP {answer.status}): check ELEVENLABS_API_KEY"
            )
        if answer.status != 200:
            raise _PermanentError(f"HTTP {answer.status} {_error_status(answer.body)}".strip())
        try:
            body = loads_exact(answer.body)
        except ValueError:  # orjson's and json's decode errors
            raise TransientResponseError(f"{what}: body is not valid JSON") from None
        if not isinstance(body, dict):
            raise TransientResponseError(f"{what}: body is not a JSON object")
        return body

    def _abort_if_failing(self) -> None:
        if fatal := self._fatal():
            raise fatal
        if len(self.failures) >= MAX_FAILURES_BEFORE_ABORT:
            raise ConversationFetchError(
                f"aborting {self.window}: {len(self.failures)} conversation details failed, e.g. "
                + "; ".join(f"{cid}: {why}" for cid, why in sorted(self.failures.items())[:5])
            )


def _listed_start(summary: dict, endpoint: str):
    try:
        return from_unix_seconds(summary["start_time_unix_secs"])
    except (OverflowError, OSError, ValueError):
        raise UnusableAnswerError(
            f"{endpoint}: conversation {summary['conversation_id']}: start_time_unix_secs="
            f"{summary['start_time_unix_secs']} is not a date"
        ) from None


class _CursorExpired(Exception):
    pass


class _PermanentError(Exception):
    pass


def _is_cursor_error(body: bytes) -> bool:
    return "cursor" in _error_status(body).lower()


def _error_status(body: bytes) -> str:
    try:
        detail = orjson.loads(body).get("detail")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    if isinstance(detail, dict):
        return str(detail.get("status") or "")
    return ""
