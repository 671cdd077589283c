"""A list page must have the shape its API documents before any record of it is used.

A 200 answer is not a good answer: a page without its record list (an error object served with
200, another resource, a proxy's page) read as "no records" would replace a stored window with
nothing. Each page is checked against the official spec (``/work/shared/reference``):

* ElevenLabs ``GetConversationsPageResponseModel``: ``conversations`` (a list, required),
  ``has_more`` (a boolean, required), ``next_cursor`` (string or null) — and a page that says
  ``has_more`` must give the cursor to continue with.
* Twilio ``ListCallResponse``: ``calls`` (a list), ``page``/``page_size``/``start`` consistent
  with the page asked for, and a ``next_page_uri`` that continues this listing (same path, the
  next page number).

And paging is bounded: a cursor or page URI served twice is a loop, and a listing may not run to
more pages than its window can hold at ``max_records_per_hour`` (``PagingGuard``). Every failure
is an ``UnusableAnswerError`` naming the endpoint and what was wrong: the run fails, the stored
window stays as it was.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from simbiosia_pipeline.sources.errors import UnusableAnswerError

# The most records (calls, or conversations) one UTC hour is assumed to hold: ~370 times the
# old system's busiest volume. A listing paging past what its window could hold at this rate
# is not converging, and fails the run instead of paging for ever.
MAX_RECORDS_PER_HOUR = 10_000
_ACCOUNT_IN_PATH = re.compile(r"/Accounts/[^/?]+")


def without_account_sid(text: str) -> str:
    """A Twilio path or URI as it may appear in an error: the account SID is a credential here
    (see ``automation.alerts.SECRET_VARIABLES``), and errors end up in Dagster's event log."""
    return _ACCOUNT_IN_PATH.sub("/Accounts/{AccountSid}", text)


def max_pages(hours: float, page_size: int, max_records_per_hour: int) -> int:
    """The most pages a listing of ``hours`` may take: full pages of what it can hold, + 1."""
    return math.ceil(hours * max_records_per_hour / page_size) + 1


@dataclass
class PagingGuard:
    """Follows one listing's continuation tokens (cursors, page URIs): none twice, and no more
    pages than ``limit``."""

    endpoint: str
    limit: int
    pages: int = 0
    _seen: set[str] = field(default_factory=set)

    def page_received(self) -> None:
        self.pages += 1
        if self.pages > self.limit:
            raise UnusableAnswerError(
                f"{self.endpoint}: more than {self.limit} pages, more than the window can hold "
                f"at {MAX_RECORDS_PER_HOUR} records an hour; the listing does not converge"
            )

    def continue_with(self, token: str) -> None:
        if token in self._seen:
            raise UnusableAnswerError(
                f"{self.endpoint}: the continuation {without_account_sid(token)[:160]!r} was "
                "served twice; the listing would loop for ever"
            )
        self._seen.add(token)


def _fail(endpoint: str, problem: str) -> UnusableAnswerError:
    return UnusableAnswerError(f"{endpoint}: {problem}; nothing of the window was replaced")


def error_hint(page: dict) -> str:
    """What a body that is not the expected resource holds, for the error message."""
    for key in ("detail", "message", "error", "code"):
        if key in page:
            return f" (it holds {key}={str(page[key])[:200]!r})"
    return f" (keys: {', '.join(sorted(map(str, page))[:10]) or 'none'})"


def _record_list(page: object, key: str, endpoint: str) -> list[dict]:
    if not isinstance(page, dict):
        raise _fail(endpoint, f"the page is a JSON {type(page).__name__}, not an object")
    if key not in page:
        raise _fail(endpoint, f"HTTP 200 without the record list {key!r}{error_hint(page)}")
    records = page[key]
    if not isinstance(records, list):
        raise _fail(endpoint, f"{key!r} is a {type(records).__name__}, not a list")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise _fail(endpoint, f"{key}[{index}] is a {type(record).__name__}, not an object")
    return records


# --- ElevenLabs -------------------------------------------------------------------------------


def elevenlabs_page(page: object, endpoint: str) -> tuple[list[dict], str | None]:
    """The conversations of a list page and the cursor to continue with (None: the last)."""
    conversations = _record_list(page, "conversations", endpoint)
    has_more = page.get("has_more")
    if not isinstance(has_more, bool):
        raise _fail(endpoint, f"'has_more' is {has_more!r}, not a boolean")
    cursor = page.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise _fail(endpoint, f"'next_cursor' is a {type(cursor).__name__}, not a string")
    if has_more and not cursor:
        raise _fail(endpoint, f"'has_more' is true but 'next_cursor' is {cursor!r}")
    for index, summary in enumerate(conversations):
        conversation_id = summary.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise _fail(endpoint, f"conversations[{index}] has no 'conversation_id'")
        started = summary.get("start_time_unix_secs")
        if not isinstance(started, int) or isinstance(started, bool):
            raise _fail(
                endpoint,
                f"conversation {conversation_id}: 'start_time_unix_secs' is {started!r}, "
                "not an integer",
            )
    return conversations, cursor if has_more else None


# --- Twilio -----------------------------------------------------------------------------------


def twilio_page(
    page: object, endpoint: str, *, number: int, page_size: int, path: str
) -> tuple[list[dict], str | None]:
    """The calls of page ``number`` (from 0) and its ``next_page_uri`` (None: the last).

    ``path`` is the listing's own path (``/2010-04-01/Accounts/{sid}/Calls.json``): the next
    page must continue it, relative to the same host.
    """
    calls = _record_list(page, "calls", endpoint)
    for name, expected in (("page", number), ("page_size", page_size)):
        value = page.get(name)
        if value is not None and value != expected:
            raise _fail(endpoint, f"{name!r} is {value!r} where {expected!r} was asked for")
    start = page.get("start")
    if start is not None and start != number * page_size:
        raise _fail(endpoint, f"'start' is {start!r}, page {number} starts at {number * page_size}")
    if len(calls) > page_size:
        raise _fail(endpoint, f"{len(calls)} calls on a page of {page_size}")
    next_uri = page.get("next_page_uri")
    if next_uri is None:
        return calls, None
    if not isinstance(next_uri, str) or not next_uri:
        raise _fail(endpoint, f"'next_page_uri' is {str(next_uri)[:80]!r}")
    parts = urlsplit(next_uri)
    if parts.scheme or parts.netloc or not parts.path.endswith(path):
        shown = without_account_sid(next_uri)[:200]
        raise _fail(endpoint, f"'next_page_uri' does not continue the listing: {shown!r}")
    next_numbers = parse_qs(parts.query).get("Page")
    if next_numbers and next_numbers != [str(number + 1)]:
        raise _fail(
            endpoint, f"'next_page_uri' asks for page {next_numbers[0]} after page {number}"
        )
    return calls, next_uri
