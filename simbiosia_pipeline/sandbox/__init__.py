"""The sandbox: a deterministic simulator of the Twilio Calls and ElevenLabs Conversations APIs.

It lets the pipeline run end to end without credentials, gives tests exact ground truth
and gives benchmarks latency, rate limits and faults on demand. It is faithful enough
that the official ``twilio`` and ``elevenlabs`` SDKs work against it unchanged
(``client.api.base_url = url`` / ``ElevenLabs(base_url=url)``).

Usage::

    from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, start_sandbox_server

    sandbox = Sandbox(SandboxConfig(seed=7, now=datetime(2026, 1, 14, 15, 30, tzinfo=UTC)))
    with start_sandbox_server(sandbox) as server:
        ...  # point clients at server.url; sandbox.twilio_calls(start, end) is the truth

or ``simbiosia sandbox serve --port 8765`` / ``simbiosia sandbox summary --days 7``.

Data
----
Everything served is a pure function of (seed, scale, history start, layout) and the
clock: traffic is generated per UTC hour from a RNG seeded by (seed, hour), so asking
for a day costs a day. At scale 1.0 an average day has ~650 Twilio calls and ~380
ElevenLabs conversations, busiest in Madrid office hours, near zero at night, lower at
weekends; the workspace layout is the old system's (``layout.py``, shipped as
``workspaces.yaml``), plus three numbers nobody owns, a number that moves from workspace
4 to 5 on 2025-10-01 and a web-widget agent without phone calls. Records exist from
``history_start`` (floored to the hour) and only once created (``now`` ≥ creation).
Interactions and their links (``generator.py``): native Twilio outbound (conversation
``call_sid`` = Twilio sid, ~10 % with an ``outbound-dial`` transfer leg), SIP-trunk
outbound (``trunking-terminating``, start within ±60 s), SIP-trunk inbound
(``trunking-originating`` to ``sip:+34…@public-vip.ie1.twilio.com``, some to a SIP number
nobody owns from a lead an owned number called in the previous 24 h), Twilio ``inbound``,
web widget (no phone call), and unanswered attempts (no conversation).

Choices the real APIs leave open, and what the sandbox does
-----------------------------------------------------------
Twilio (``GET /2010-04-01/Accounts/{AccountSid}/Calls.json`` and ``/Calls/{Sid}.json``):

* Date filters have **day granularity**: ``StartTime``, ``StartTime<``, ``StartTime>``
  (and ``EndTime*``) accept ``YYYY-MM-DD``, ISO datetimes and ``MM/DD/YYYY`` but only the
  date counts: ``StartTime>=D`` (key ``StartTime>``) means start ≥ ``D 00:00Z``
  (inclusive), ``StartTime<=D`` (key ``StartTime<``) means start < ``D 00:00Z``
  (exclusive), ``StartTime=D`` means that UTC day. A call that
  never started is filtered and ordered by ``date_created``. ``EndTime*`` filters match
  only calls that have an ``end_time``. Unparseable dates: 400, code 20001.
* Order: (start time, or creation time before the call starts) descending, then sid
  descending.
* Paging: ``PageSize`` default 50; outside the spec's 1..1000 it is refused (400, code
  20001), as are a negative ``Page`` and a ``Status`` that is not a call status. ``next_page_uri``
  carries the original filters plus ``Page=n+1&PageToken=PA<sid of the page's last
  call>`` and is null when no record follows; ``previous_page_uri`` uses ``PB<first sid>``.
  Without a token, ``Page`` is an offset in pages. The envelope has exactly the keys
  ``calls, first_page_uri, next_page_uri, previous_page_uri, page, page_size, start, end,
  uri`` (``end`` is 0 for an empty page). An unknown ``PageToken`` sid: 400, code 20001.
* ``duration``: null until the call is final; then the seconds from ``start_time`` to
  ``end_time`` as a string, and ``"0"`` for calls that were never answered (busy,
  no-answer, failed, canceled).
* ``price``: null until Twilio "rates" the call, a delay after the end (30 s–10 min for
  most calls, 1–6 h for ~3 %, 48–72 h for ~0.5 %, so some outlive a 48 h settle window);
  then a negative 5-decimal string = ceil(duration / 60) × a per-direction rate
  (``generator.TWILIO_RATE_PER_MINUTE``). Unanswered calls keep ``price: null`` for good,
  as on real accounts (``SandboxConfig.zero_price_unanswered`` / ``--zero-price-unanswered``
  brings back ``"0.00000"`` after the same delay). ``price_unit`` is the account's currency,
  ``SandboxConfig.price_unit`` / ``--price-unit`` (default ``USD``), the same figures in it.
* ``end_time`` is null for calls canceled before they started. ``date_updated`` is the
  latest of creation, start, answer, end and pricing at or before ``now``. Every key of
  the Call resource is present (null when empty), plus ``annotation`` as on real records;
  ``trunk_sid`` is ``""`` on calls not over a SIP trunk and ``caller_name`` ``""`` on
  outbound calls, as real records show; dates are RFC 2822 in UTC.
* Unknown sid (or one not created yet): 404 code 20404. Bad/missing Basic credentials,
  or credentials of another account than the path's: 401 code 20003.

ElevenLabs (``GET /v1/convai/conversations`` and ``/v1/convai/conversations/{id}``):

* Window semantics: ``call_start_after_unix <= start_time_unix_secs <
  call_start_before_unix``.
* Order: ``start_time_unix_secs`` descending, then ``conversation_id`` descending.
* ``cursor`` format: URL-safe base64 without padding of the JSON array
  ``[start_time_unix_secs, conversation_id]`` of the last item of the page (keyset);
  ``next_cursor`` is null exactly when ``has_more`` is false. Undecodable cursor: 400
  ``invalid_cursor`` (the same answer as the cursor-expiry fault).
* ``page_size`` must be 1..100 (default 30); it and the two ``*_unix`` bounds must be
  integers, else 422 with FastAPI's ``{"detail": [{"type", "loc", "msg", "input", …}]}``.
  Implemented filters (validated like FastAPI, 422 otherwise): ``agent_id``, ``user_id``,
  ``call_successful``, ``call_duration_min_secs``/``max_secs``, ``exclude_statuses``,
  ``text_only``, ``conversation_initiation_source``, ``main_languages``,
  ``termination_reasons``, ``sort_direction=desc``, ``summary_mode``. The spec's other
  filters are answered 422 ("not implemented"), never silently ignored.
* Lifecycle: ``initiated`` (the second or so before a phone call is accepted), then
  ``in-progress`` (``call_duration_secs`` = seconds elapsed, transcript so far) →
  ``processing`` (5 s to a few minutes after the end, ~1 % for hours) → ``done`` (~95 %)
  or ``failed``. ``metadata.cost`` (credits) and the nullable amounts of
  ``metadata.charging`` are null until final, when ``cost = call_charge + llm_charge``;
  ``charging.tier``/``is_burst``/``dev_discount`` are present from the start.
  ``analysis`` is null until ``done`` and stays null for ``failed`` (which has
  ``metadata.error``). While not final, usage blocks are empty objects and the free
  amounts 0, as the spec's defaults say. Once final: ``cost_fiat = llm_price +
  platform_price`` (USD), ``platform_charge = call_charge``, ``voice_surcharge_charge``
  (credits, not in ``cost``; a quarter of the conversations) and ``charging.analysis`` for
  ``done`` ones.
* ``phone_call``: ``twilio`` (``call_sid`` = the Twilio CA sid), ``sip_trunking``
  (``call_sid`` is a SIP-side id ``sip-`` + 24 hex, never a Twilio sid; join on numbers and
  time, ±60 s) or null for the web widget. ~1 % of agent/external numbers lack the ``+``.
* Unknown conversation id: 404 ``conversation_not_found``. Missing/wrong ``xi-api-key``:
  401 ``invalid_api_key``.

What the providers bill (``usage.py``, ``twilio_api.list_daily_usage``,
``elevenlabs_usage_api.py``): Twilio ``GET …/Usage/Records/Daily.json`` (``StartDate``/
``EndDate`` inclusive, ``YYYY-MM-DD`` or ``-Ndays``; ``Category``; ``IncludeSubaccounts``; offset
pages) and ElevenLabs ``POST /v1/workspace/analytics/query/usage-by-product-over-time`` (whole-day
UTC buckets, ``group_by`` ``product_type``), computed from the same facts as the records, so clean
data reconciles exactly. ``Sandbox.billing`` (``PUT /_sandbox/billing``) injects discrepancies:
records billed but not listed, or billed at another amount.

Credentials: ``SandboxConfig`` holds the accepted ones; defaults are
``DEFAULT_TWILIO_ACCOUNT_SID`` (``AC0123456789abcdef0123456789abcdef``),
``DEFAULT_TWILIO_AUTH_TOKEN`` (``sandbox-auth-token``) and ``DEFAULT_ELEVENLABS_API_KEY``
(``sk_sandbox``); the CLI takes ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
``ELEVENLABS_API_KEY`` from the environment when set. Presented credentials are never
echoed.

Determinism: JSON is encoded by orjson in a fixed key order; two servers with the same
config and a fixed clock serve identical bytes. Faults (``FaultConfig``, all off by
default) are decided from (seed, fault kind, method + path + sorted query, attempt
number), so retries eventually succeed and results do not depend on interleaving.

Bad input (``SandboxConfig.anomalies``, off by default): named records served altered — a
field set to another value or null, a field dropped, a huge payload, an ElevenLabs detail
that answers 404 while the list shows it. Keyed by record id, deterministic, and reflected in
the ground truth; see ``anomalies.py``.

Admin (no auth): ``GET/PUT /_sandbox/clock``, ``GET /_sandbox/stats``,
``POST /_sandbox/stats/reset``, ``GET/PUT /_sandbox/faults``, ``GET/PUT /_sandbox/billing``.
"""

from pathlib import Path

from simbiosia_pipeline.sandbox.anomalies import Anomaly
from simbiosia_pipeline.sandbox.app import build_app
from simbiosia_pipeline.sandbox.config import SandboxConfig
from simbiosia_pipeline.sandbox.credentials import (
    DEFAULT_ELEVENLABS_API_KEY,
    DEFAULT_TWILIO_ACCOUNT_SID,
    DEFAULT_TWILIO_AUTH_TOKEN,
)
from simbiosia_pipeline.sandbox.faults import FaultConfig
from simbiosia_pipeline.sandbox.layout import DEFAULT_LAYOUT, layout_document
from simbiosia_pipeline.sandbox.server import SandboxServer, start_sandbox_server
from simbiosia_pipeline.sandbox.simulator import Sandbox
from simbiosia_pipeline.sandbox.summary import SandboxSummary

WORKSPACES_FILE = Path(__file__).resolve().parent / "workspaces.yaml"

__all__ = [
    "DEFAULT_ELEVENLABS_API_KEY",
    "DEFAULT_LAYOUT",
    "DEFAULT_TWILIO_ACCOUNT_SID",
    "DEFAULT_TWILIO_AUTH_TOKEN",
    "WORKSPACES_FILE",
    "Anomaly",
    "FaultConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "SandboxSummary",
    "build_app",
    "layout_document",
    "start_sandbox_server",
]
