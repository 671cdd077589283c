"""From API records to warehouse rows: pure parsing, exact types, loud failures.

Every record of a window is stored, whatever its direction, status or numbers — the models decide
what to do with values they do not know. A record that cannot be parsed (a missing id, a date
that is not a date) raises ``RecordError`` naming the record, so it fails the run instead of
vanishing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from simbiosia_pipeline.sources.answers import dumps_exact
from simbiosia_pipeline.sources.errors import RecordError
from simbiosia_pipeline.sources.pending import conversation_cost_pending
from simbiosia_pipeline.sources.windows import from_unix_seconds
from simbiosia_pipeline.warehouse.tables import ConversationRow, TwilioCallRow

# Sanity bounds of amounts, by unit: a single call or conversation beyond them is a broken
# record, not a charge (README, "Hostile answers"). Twilio prices are in the call's own currency
# (``price_unit``): a million units of any currency is more than any single call could cost.
AMOUNT_BOUNDS = {
    "currency": Decimal(1_000_000),
    "USD": Decimal(100_000),
    "credits": Decimal(100_000_000),  # ≈ 7,500 USD at the default rate: days of talk
    "minutes": Decimal(1_000_000),
}
AMOUNT_UNITS = {
    "price": "currency",
    "metadata.cost": "credits",
    "charging.llm_charge": "credits",
    "charging.call_charge": "credits",
    "charging.llm_price": "USD",
    "charging.free_llm_dollars_consumed": "USD",
    "charging.free_minutes_consumed": "minutes",
    "metadata.cost_fiat": "USD",
    "charging.platform_charge": "credits",
    "charging.platform_price": "USD",
    "charging.voice_surcharge_charge": "credits",
    "charging.analysis.total.charge": "credits",
    "charging.analysis.total.price": "USD",
}
INT4_MAX = 2**31 - 1  # integer columns (durations in seconds)
LATEST_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last moment Python dates hold


# --- Twilio ---------------------------------------------------------------------------------


def twilio_row(call: dict, ingested_at: datetime) -> TwilioCallRow:
    sid = _required(call, "sid", "Twilio call")
    what = f"Twilio call {sid}"
    return TwilioCallRow(
        sid=sid,
        account_sid=_required(call, "account_sid", what),
        parent_call_sid=call.get("parent_call_sid"),
        direction=_required(call, "direction", what),
        status=_required(call, "status", what),
        from_number=call.get("from"),
        to_number=call.get("to"),
        start_time=_rfc2822(call, "start_time", what),
        end_time=_rfc2822(call, "end_time", what),
        duration_secs=_integer(call.get("duration"), "duration", what),
        price=_decimal(call.get("price"), "price", what),
        price_unit=call.get("price_unit"),
        trunk_sid=call.get("trunk_sid"),
        date_created=_rfc2822(call, "date_created", what, required=True),
        date_updated=_rfc2822(call, "date_updated", what, required=True),
        event_time=twilio_event_time(call),
        payload=_json(call),
        ingested_at=ingested_at,
    )


def twilio_sid(call: dict, listed_for: str) -> str:
    """The call's ``sid``. A call served without one cannot be stored or de-duplicated: fail,
    naming what else identifies it (never the URI, which carries the account SID)."""
    sid = call.get("sid")
    if isinstance(sid, str) and sid:
        return sid
    clues = ", ".join(
        f"{name}={call.get(name)!r}"
        for name in ("start_time", "date_created", "direction", "from", "to")
        if call.get(name) is not None
    )
    raise RecordError(f"a Twilio call listed for {listed_for} has no 'sid' ({clues})")


def twilio_updated_at(call: dict) -> datetime | None:
    """When the call last changed (``date_updated``, else ``date_created``): the newer of two
    copies of one call wins."""
    what = f"Twilio call {call.get('sid')}"
    return _rfc2822(call, "date_updated", what) or _rfc2822(
        call, "date_created", what, required=True
    )


def twilio_event_time(call: dict) -> datetime:
    """The moment that places a call in an hourly partition: its start, else its creation."""
    what = f"Twilio call {call.get('sid')}"
    moment = _rfc2822(call, "start_time", what) or _rfc2822(call, "date_created", what)
    if moment is None:
        raise RecordError(f"{what} has neither start_time nor date_created")
    return moment


def parse_rfc2822(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    moment = parsedate_to_datetime(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- ElevenLabs -----------------------------------------------------------------------------


def conversation_row(
    detail: dict, ingested_at: datetime, *, store_transcripts: bool
) -> ConversationRow:
    conversation_id = _required(detail, "conversation_id", "ElevenLabs conversation")
    what = f"ElevenLabs conversation {conversation_id}"
    metadata = _object(detail, "metadata", what)
    charging = _optional_object(metadata, "charging", what)
    phone_call = _optional_object(metadata, "phone_call", what)
    batch_call = _optional_object(metadata, "batch_call", what)
    # The cumulative cost of post-call analysis; the usage blocks stay in the payload only.
    analysis = charging.get("analysis")
    analysis_total = analysis.get("total") if isinstance(analysis, dict) else None
    analysis_total = analysis_total if isinstance(analysis_total, dict) else {}

    def charge(field: str) -> Decimal | None:
        """An amount of the charging block; a bad one is named by its path."""
        return _decimal(charging.get(field), f"charging.{field}", what)

    return ConversationRow(
        conversation_id=conversation_id,
        agent_id=_required(detail, "agent_id", what),
        agent_name=detail.get("agent_name"),
        status=_required(detail, "status", what),
        start_time=conversation_start(detail),
        call_duration_secs=(
            _integer(metadata.get("call_duration_secs"), "metadata.call_duration_secs", what) or 0
        ),
        cost=_decimal(metadata.get("cost"), "metadata.cost", what),
        dev_discount=charging.get("dev_discount"),
        is_burst=charging.get("is_burst"),
        tier=charging.get("tier"),
        llm_price=charge("llm_price"),
        llm_charge=charge("llm_charge"),
        call_charge=charge("call_charge"),
        free_minutes_consumed=charge("free_minutes_consumed"),
        free_llm_dollars_consumed=charge("free_llm_dollars_consumed"),
        llm_usage=_json(charging["llm_usage"]) if charging.get("llm_usage") is not None else None,
        phone_call_type=phone_call.get("type"),
        phone_number_id=phone_call.get("phone_number_id"),
        agent_number=phone_call.get("agent_number"),
        external_number=phone_call.get("external_number"),
        call_sid=phone_call.get("call_sid"),
        call_direction=phone_call.get("direction"),
        batch_call_id=batch_call.get("batch_call_id"),
        batch_call_recipient_id=batch_call.get("batch_call_recipient_id"),
        termination_reason=metadata.get("termination_reason"),
        payload=_json(detail if store_transcripts else without_transcript(detail)),
        ingested_at=ingested_at,
        cost_fiat=_decimal(metadata.get("cost_fiat"), "metadata.cost_fiat", what),
        platform_charge=charge("platform_charge"),
        platform_price=charge("platform_price"),
        voice_surcharge_charge=charge("voice_surcharge_charge"),
        analysis_charge=_decimal(
            analysis_total.get("charge"), "charging.analysis.total.charge", what
        ),
        analysis_price=_decimal(analysis_total.get("price"), "charging.analysis.total.price", what),
    )


def conversation_start(detail: dict) -> datetime:
    what = f"ElevenLabs conversation {detail.get('conversation_id')}"
    metadata = _object(detail, "metadata", what)
    seconds = _integer(
        metadata.get("start_time_unix_secs"),
        "metadata.start_time_unix_secs",
        what,
        maximum=LATEST_UNIX_SECONDS,
    )
    if seconds is None:
        raise RecordError(f"{what} has no metadata.start_time_unix_secs")
    if not 0 <= seconds <= LATEST_UNIX_SECONDS:
        raise RecordError(f"{what}: metadata.start_time_unix_secs={seconds} is not a date")
    return from_unix_seconds(seconds)


def without_transcript(detail: dict) -> dict:
    """The conversation minus what people said (PII): transcript turns and the summary text."""
    stripped = dict(detail)
    stripped["transcript"] = []
    if isinstance(detail.get("analysis"), dict):
        stripped["analysis"] = {
            k: v for k, v in detail["analysis"].items() if k != "transcript_summary"
        }
    return stripped


def is_final(detail_or_summary: dict) -> bool:
    return not conversation_cost_pending(detail_or_summary.get("status"))


# --- shared ---------------------------------------------------------------------------------


def latest_by_key(
    records: Iterable[dict], *, key: str, version: Callable[[dict], Any]
) -> list[dict]:
    """One record per key — the highest ``version`` wins, the later one on a tie."""
    chosen: dict[Any, dict] = {}
    for record in records:
        current = chosen.get(record[key])
        if current is None or version(record) >= version(current):
            chosen[record[key]] = record
    return list(chosen.values())


def check_storable(row: tuple, columns: tuple[str, ...], what: str) -> None:
    """Refuse, naming the column, a value no text column can hold: an object or a list where
    text was expected, or a NUL character (PostgreSQL text and jsonb cannot store one)."""
    for column, value in zip(columns, row, strict=True):
        if isinstance(value, dict | list):
            raise RecordError(f"{what}: {column} is a {type(value).__name__}, expected text")
        if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
            raise RecordError(f"{what}: {column} holds a NUL character, which cannot be stored")


def amount(value: Any, field: str, what: str, unit: str = "currency") -> Decimal | None:
    """An amount exactly as served (None when absent), refused as a ``RecordError`` naming the
    record and field when it is not a finite number within the sanity bound of its unit."""
    number = _number(value, field, what)
    if number is None:
        return None
    if not number.is_finite():
        raise RecordError(f"{what}: {field}={value!r} is not a finite number")
    bound = AMOUNT_BOUNDS[unit]
    if abs(number) > bound:
        raise RecordError(
            f"{what}: {field}={_short(value)} is beyond the sanity bound of ±{bound} {unit}"
        )
    return number


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _required(record: dict, field: str, what: str) -> Any:
    value = record.get(field)
    if value in (None, ""):
        raise RecordError(f"{what} has no {field!r}")
    if not isinstance(value, str):
        raise RecordError(f"{what}: {field!r} is a {type(value).__name__}, expected text")
    return value


def _object(record: dict, field: str, what: str) -> dict:
    value = record.get(field)
    if not isinstance(value, dict):
        raise RecordError(f"{what}: {field!r} is {type(value).__name__}, expected an object")
    return value


def _optional_object(record: dict, field: str, what: str) -> dict:
    """An object, or {} when absent or null."""
    return {} if record.get(field) is None else _object(record, field, what)


def _rfc2822(record: dict, field: str, what: str, *, required: bool = False) -> datetime | None:
    value = record.get(field)
    if value in (None, ""):
        if required:
            raise RecordError(f"{what} has no {field!r}")
        return None
    if not isinstance(value, str):
        raise RecordError(f"{what}: {field}={value!r} is a {type(value).__name__}, not a date")
    try:
        return parse_rfc2822(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        raise RecordError(f"{what}: {field}={_short(value)!r} is not an RFC 2822 date") from None


def _number(value: Any, field: str, what: str) -> Decimal | None:
    """A served scalar as the exact Decimal it spells (None when absent), or a ``RecordError``
    naming the record and field. JSON numbers arrive as int, float or (parsed exactly,
    answers.loads_exact) Decimal; str(float) is the shortest text that round-trips, which is what
    a JSON encoder writes, so the Decimal carries the digits served."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise RecordError(f"{what}: {field}={value!r} is a {type(value).__name__}, not a number")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(f"{what}: {field}={_short(value)!r} is not a number") from None


def _integer(value: Any, field: str, what: str, maximum: int = INT4_MAX) -> int | None:
    number = _number(value, field, what)
    if number is None:
        return None
    if not number.is_finite() or abs(number) > maximum:
        raise RecordError(f"{what}: {field}={_short(value)} is out of range (±{maximum})")
    if number != number.to_integral_value():
        raise RecordError(f"{what}: {field}={value!r} is not a whole number")
    return int(number)


def _decimal(value: Any, field: str, what: str) -> Decimal | None:
    return amount(value, field, what, AMOUNT_UNITS.get(field, "currency"))


def _json(value: Any) -> str:
    return dumps_exact(value).decode()
