"""A hostile world for the pipeline: a rewriting proxy in front of the sandbox, and a stranger.

``RewritingProxy`` forwards every request to the sandbox and hands the answer to the first rule
that matches it, which may rewrite anything — the JSON body, the raw bytes, the status, the
headers — or answer a redirect, a gzip bomb, a body that trickles in a byte at a time. Rules
count how often they fired, so a scenario can prove it met the fault it claims to test.

``Stranger`` is the host a redirect points to: it answers an innocent empty listing (what a
followed redirect would have replaced the window with) and records the headers of every request
it receives, so a test can show that no credential ever arrived.

Both listen on 127.0.0.1 only, on a free port, from a thread of their own (aiohttp's server).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp
import orjson
from aiohttp import web
from yarl import URL

MB = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """An answer about to be sent: rules return a changed copy (``dataclasses.replace``)."""

    status: int
    headers: dict[str, str]
    body: bytes
    trickle_seconds: float | None = None  # send the body one byte per this many seconds

    def json(self):
        return orjson.loads(self.body)

    def with_json(self, value) -> Answer:
        return replace(self, body=orjson.dumps(value))


@dataclass
class Rule:
    """``rewrite(answer, request)`` for the requests ``matches(request)`` accepts, at most
    ``times`` times (None: always). ``upstream(url)`` may change the request the sandbox gets."""

    matches: Callable[[web.Request], bool]
    rewrite: Callable[[Answer, web.Request], Answer]
    times: int | None = None
    upstream: Callable[[URL], URL] | None = None
    fired: int = 0

    def wants(self, request: web.Request) -> bool:
        return (self.times is None or self.fired < self.times) and self.matches(request)


class _Server:
    """An aiohttp application served from a background thread on 127.0.0.1."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _app(self) -> web.Application:
        raise NotImplementedError

    def start(self):
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _stop(self) -> None:
        await self._on_stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _on_stop(self) -> None:
        pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RewritingProxy(_Server):
    """Forwards to ``upstream`` (the sandbox's URL); ``rules`` rewrite what comes back."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = URL(upstream)
        self.rules: list[Rule] = []
        self._session: aiohttp.ClientSession | None = None

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * MB)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules = []

    async def _on_stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rule = next((r for r in self.rules if r.wants(request)), None)
        if rule is not None:
            rule.fired += 1
        answer = await self._forward(request, rule)
        if rule is not None:
            answer = rule.rewrite(answer, request)
        return await _send(request, answer)

    async def _forward(self, request: web.Request, rule: Rule | None) -> Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        url = self.upstream.with_path(request.path).with_query(request.query)
        if rule is not None and rule.upstream is not None:
            url = rule.upstream(url)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "accept-encoding")
        }
        async with self._session.request(
            request.method, url, headers=headers, data=await request.read(), allow_redirects=False
        ) as response:
            body = await response.read()
            kept = {
                k: v
                for k, v in response.headers.items()
                if k.lower() in ("content-type", "retry-after", "location")
            }
            return Answer(response.status, kept, body)


async def _send(request: web.Request, answer: Answer) -> web.StreamResponse:
    if answer.trickle_seconds is None:
        return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_length = len(answer.body)
    await response.prepare(request)
    for index in range(len(answer.body)):
        await response.write(answer.body[index : index + 1])
        await asyncio.sleep(answer.trickle_seconds)
    await response.write_eof()
    return response


class Stranger(_Server):
    """Another host: records what it is sent, answers an empty listing of either API."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, str]] = []

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append({"path": request.path, **dict(request.headers)})
        empty = {"conversations": [], "has_more": False, "next_cursor": None, "calls": []}
        return web.json_response(empty)


# --- rewrites ---------------------------------------------------------------------------------


@functools.cache  # seconds of compression: once, and only for a test that serves it
def gzip_bomb(megabytes: int = 256) -> bytes:
    """``megabytes`` of zeros, gzip-compressed (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    parts = [compressor.compress(zeros) for _ in range(megabytes)]
    parts.append(compressor.flush())
    return b"".join(parts)


def redirect_to(url: str, status: int = 302) -> Callable[[Answer, web.Request], Answer]:
    def rewrite(answer: Answer, request: web.Request) -> Answer:
        return Answer(status, {"Location": url + request.path_qs}, b"")

    return rewrite


def body(value) -> Callable[[Answer, web.Request], Answer]:
    """Answer 200 with ``value`` as JSON (bytes: exactly these bytes)."""

    def rewrite(answer: Answer, request: web.Request) -> Answer:
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        return Answer(200, {"Content-Type": "application/json"}, raw)

    return rewrite


def edit_json(change: Callable[[dict], None]) -> Callable[[Answer, web.Request], Answer]:
    """Change the JSON body in place (``change(page)``) and send it."""

    def rewrite(answer: Answer, request: web.Request) -> Answer:
        page = answer.json()
        change(page)
        return answer.with_json(page)

    return rewrite


def replace_bytes(old: bytes, new: bytes) -> Callable[[Answer, web.Request], Answer]:
    """Rewrite the body's bytes (for JSON no encoder would write: ``-1e400``)."""

    def rewrite(answer: Answer, request: web.Request) -> Answer:
        assert old in answer.body, f"{old!r} not in the answer to {request.path_qs}"
        return replace(answer, body=answer.body.replace(old, new, 1))

    return rewrite


def gzipped(payload: bytes) -> Callable[[Answer, web.Request], Answer]:
    def rewrite(answer: Answer, request: web.Request) -> Answer:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return Answer(200, headers, payload)

    return rewrite


def trickled(seconds_per_byte: float) -> Callable[[Answer, web.Request], Answer]:
    def rewrite(answer: Answer, request: web.Request) -> Answer:
        return replace(answer, trickle_seconds=seconds_per_byte)

    return rewrite


# --- which requests ---------------------------------------------------------------------------

ELEVENLABS_LIST = "/v1/convai/conversations"


def elevenlabs_list(request: web.Request) -> bool:
    return request.path == ELEVENLABS_LIST


def elevenlabs_detail(conversation_id: str | None = None) -> Callable[[web.Request], bool]:
    def matches(request: web.Request) -> bool:
        if conversation_id is not None:
            return request.path == f"{ELEVENLABS_LIST}/{conversation_id}"
        return request.path.startswith(ELEVENLABS_LIST + "/")

    return matches


def twilio_list(request: web.Request) -> bool:
    return request.path.endswith("/Calls.json")
