"""API views of the facts at a clock reading: the JSON objects both APIs return.

Key order follows the providers' documented field order and never depends on anything
but the fact and ``now``, so the same sandbox serves the same bytes (orjson keeps
insertion order). What each status shows:

Twilio Call (every key always present, ``null`` when empty):

* ``queued``: ``start_time``/``end_time``/``duration``/``price`` null.
* ``ringing``, ``in-progress``: ``start_time`` set, the rest null.
* final: ``end_time`` set (null for a call canceled before it started), ``duration`` the
  seconds from start to end as a string (``"0"`` for calls never answered), ``price`` null
  until Twilio rates the call, then a 5-decimal string (negative), in ``price_unit`` (the
  account's currency). Unanswered calls keep ``price`` null for good, as on real accounts
  (``"0.00000"`` after the rating delay with ``SandboxConfig.zero_price_unanswered``).
* as on real records: ``trunk_sid`` is ``""`` on calls not over a SIP trunk, ``caller_name``
  ``""`` on outbound calls, and an ``annotation`` key is present.
* ``date_updated``: the latest of creation, start, answer, end and pricing up to ``now``.

ElevenLabs conversation:

* ``initiated`` (a second or so, before the call is accepted), then ``in-progress``:
  ``call_duration_secs`` is the time elapsed so far and the transcript holds the turns spoken
  so far; ``cost``/``cost_fiat`` null, ``charging`` holds the plan flags (``tier``,
  ``is_burst``, ``dev_discount``), empty usage blocks, free amounts 0 and every other amount
  null; ``analysis`` null.
* ``processing``: full duration and transcript; still no cost or analysis.
* ``done``/``failed``: ``cost`` (credits) and the ``charging`` amounts, with ``cost =
  call_charge + llm_charge``, ``platform_charge = call_charge``, ``cost_fiat = llm_price +
  platform_price`` (USD) and ``voice_surcharge_charge`` (credits, not in ``cost``; 0 for most
  voices); ``charging.analysis`` and ``analysis`` for ``done`` only (``failed`` carries
  ``error`` instead).
"""

from __future__ import annotations

from simbiosia_pipeline.sandbox.clock import rfc2822
from simbiosia_pipeline.sandbox.facts import CallFact, Charging, ConversationFact, PhoneLeg, Turn

TWILIO_API_VERSION = "2010-04-01"
_SUBRESOURCES = (
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("payments", "Payments"),
    ("events", "Events"),
    ("siprec", "Siprec"),
    ("streams", "Streams"),
    ("transcriptions", "Transcriptions"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("user_defined_messages", "UserDefinedMessages"),
)
_FINAL_CONVERSATION = ("done", "failed")
_INBOUND = ("inbound", "trunking-originating")


def formatted_number(address: str) -> str:
    """Twilio's display form: ``(352) 747-5264`` for NANP numbers, anything else unchanged."""
    if address.startswith("+1") and len(address) == 12 and address[2:].isdigit():
        return f"({address[2:5]}) {address[5:8]}-{address[8:]}"
    return address


def call_resource(fact: CallFact, now: int, account_sid: str, price_unit: str = "USD") -> dict:
    final = now >= fact.ended
    priced = fact.priced is not None and now >= fact.priced
    started = fact.started if fact.started is not None and now >= fact.started else None
    base = f"/{TWILIO_API_VERSION}/Accounts/{account_sid}/Calls/{fact.sid}"
    return {
        "sid": fact.sid,
        "date_created": rfc2822(fact.created),
        "date_updated": rfc2822(fact.updated_at(now)),
        "parent_call_sid": fact.parent_sid,
        "account_sid": account_sid,
        "to": fact.to,
        "to_formatted": formatted_number(fact.to),
        "from": fact.from_number,
        "from_formatted": formatted_number(fact.from_number),
        "phone_number_sid": fact.phone_number_sid,
        "status": fact.status_at(now),
        "start_time": None if started is None else rfc2822(started),
        "end_time": rfc2822(fact.ended) if final and fact.started is not None else None,
        "duration": str(fact.duration) if final else None,
        "price": str(fact.price) if priced else None,
        "price_unit": price_unit,
        "direction": fact.direction,
        "answered_by": None,
        "api_version": TWILIO_API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        # Real records: "" on outbound calls (no caller ID lookup), null on inbound ones.
        "caller_name": None if fact.direction in _INBOUND else "",
        "queue_time": str(fact.queue_ms),
        "trunk_sid": fact.trunk_sid or "",  # real records: "" on calls not over a SIP trunk
        "uri": base + ".json",
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in _SUBRESOURCES},
        "annotation": None,  # not in the spec, present on real records
    }


def conversation_summary(
    fact: ConversationFact, now: int, agent_name: str, include_summary: bool = False
) -> dict:
    """An item of ``GET /v1/convai/conversations`` (no cost, no phone numbers)."""
    status = fact.status_at(now)
    done = status == "done"
    return {
        "agent_id": fact.agent_id,
        "agent_name": agent_name,
        "conversation_id": fact.conversation_id,
        "start_time_unix_secs": fact.started,
        "call_duration_secs": fact.elapsed_at(now),
        "message_count": len(_visible_turns(fact, now, status)),
        "status": status,
        "call_successful": fact.outcome if done else "unknown",
        "transcript_summary": fact.summary if done and include_summary else None,
        "call_summary_title": fact.title if done else None,
        "direction": None if fact.phone is None else fact.phone.direction,
        "branch_id": None,
        "version_id": None,
        "termination_reason": fact.termination_reason if status in _FINAL_CONVERSATION else "",
        "main_language": fact.language if status in _FINAL_CONVERSATION else None,
        "conversation_initiation_source": fact.source,
        "tool_names": [],
        "rating": None,
    }


def conversation_detail(fact: ConversationFact, now: int, agent_name: str) -> dict:
    """The body of ``GET /v1/convai/conversations/{conversation_id}``."""
    status = fact.status_at(now)
    turns = _visible_turns(fact, now, status)
    recorded = status != "in-progress"
    return {
        "agent_id": fact.agent_id,
        "agent_name": agent_name,
        "conversation_id": fact.conversation_id,
        "status": status,
        "user_id": None,
        "branch_id": None,
        "version_id": None,
        "conversation_product": "agent",
        "environment": "production",
        "metadata": _metadata(fact, now, status),
        "analysis": _analysis(fact) if status == "done" else None,
        "transcript": [_turn(fact, turn, index) for index, turn in enumerate(turns)],
        "conversation_initiation_client_data": _client_data(fact),
        "has_audio": recorded,
        "has_user_audio": recorded,
        "has_response_audio": recorded,
        "has_auxiliary_audio": False,
        "tag_ids": [],
    }


def _visible_turns(fact: ConversationFact, now: int, status: str) -> tuple[Turn, ...]:
    if status != "in-progress":
        return fact.turns
    elapsed = fact.elapsed_at(now)
    return tuple(turn for turn in fact.turns if turn.at <= elapsed)


def _metadata(fact: ConversationFact, now: int, status: str) -> dict:
    final = status in _FINAL_CONVERSATION
    return {
        "start_time_unix_secs": fact.started,
        "accepted_time_unix_secs": fact.accepted if now >= fact.accepted else None,
        "call_duration_secs": fact.elapsed_at(now),
        "queue_wait_secs": None,
        "cost": fact.charging.cost if final else None,
        "cost_fiat": fact.charging.cost_fiat if final else None,
        "deletion_settings": {
            "deletion_time_unix_secs": None,
            "deleted_logs_at_time_unix_secs": None,
            "deleted_audio_at_time_unix_secs": None,
            "deleted_transcript_at_time_unix_secs": None,
            "delete_transcript_and_pii": False,
            "delete_audio": False,
        },
        "feedback": {
            "type": None,
            "overall_score": None,
            "likes": 0,
            "dislikes": 0,
            "rating": None,
            "comment": None,
        },
        "authorization_method": "public" if fact.phone is None else "authorization_header",
        "charging": _charging(fact.charging, final),
        "phone_call": None if fact.phone is None else _phone_call(fact.phone),
        "batch_call": None
        if fact.batch is None
        else {"batch_call_id": fact.batch[0], "batch_call_recipient_id": fact.batch[1]},
        "termination_reason": fact.termination_reason if final else "",
        "error": {"code": 1011, "reason": fact.error_reason} if status == "failed" else None,
        "warnings": [],
        "main_language": fact.language if final else None,
        "rag_usage": None,
        "text_only": False,
        "features_usage": {
            "language_detection": {"enabled": False, "used": False},
            "transfer_to_agent": {"enabled": False, "used": False},
            "transfer_to_number": {"enabled": fact.phone is not None, "used": fact.transferred},
            "is_livekit": False,
        },
        "eleven_assistant": {"is_eleven_assistant": False},
        "initiator_id": None,
        "conversation_initiation_source": fact.source,
        "conversation_initiation_source_version": None,
        "timezone": None,
        "initiation_trigger": {"trigger_type": "default"},
    }


def _charging(charging: Charging, final: bool) -> dict:
    if not final:
        # The spec's defaults: usage blocks are objects and the free amounts numbers (0), never
        # null; the amounts that are nullable stay null until the conversation is final.
        return {
            "dev_discount": charging.dev_discount,
            "is_burst": charging.is_burst,
            "tier": charging.tier,
            "llm_usage": {
                "irreversible_generation": {"model_usage": {}},
                "initiated_generation": {"model_usage": {}},
            },
            "llm_price": None,
            "llm_charge": None,
            "call_charge": None,
            "platform_charge": None,
            "platform_usage": {"category_usage": {}},
            "platform_price": None,
            "free_minutes_consumed": 0.0,
            "free_llm_dollars_consumed": 0.0,
            "tts_usage": None,
            "asr_usage": None,
            "analysis": None,
            "voice_surcharge_charge": None,
        }
    model_usage = {
        usage.model: {
            "input": {"tokens": usage.input_tokens, "price": usage.input_price},
            "input_cache_read": {
                "tokens": usage.cache_read_tokens,
                "price": usage.cache_read_price,
            },
            "input_cache_write": {"tokens": 0, "price": 0.0},
            "output_total": {"tokens": usage.output_tokens, "price": usage.output_price},
        }
        for usage in charging.models
    }
    return {
        "dev_discount": charging.dev_discount,
        "is_burst": charging.is_burst,
        "tier": charging.tier,
        # Both observed real payloads carried two identical blocks (external-apis.md).
        "llm_usage": {
            "irreversible_generation": {"model_usage": model_usage},
            "initiated_generation": {"model_usage": model_usage},
        },
        "llm_price": charging.llm_price,
        "llm_charge": charging.llm_charge,
        "call_charge": charging.call_charge,
        "platform_charge": charging.platform_charge,
        "platform_usage": {"category_usage": {}},
        "platform_price": charging.platform_price,
        "free_minutes_consumed": charging.free_minutes_consumed,
        "free_llm_dollars_consumed": charging.free_llm_dollars_consumed,
        "tts_usage": None,
        "asr_usage": None,
        "analysis": _analysis_charging(charging),
        # Not in the published schema; what real 2026 records carry: credits of the voice actor
        # reward, not included in `cost`.
        "voice_surcharge_charge": charging.voice_surcharge_charge,
    }


def _analysis_charging(charging: Charging) -> dict | None:
    if charging.analysis_charge is None:
        return None
    run = {
        "price": charging.analysis_price,
        "charge": charging.analysis_charge,
        "price_per_feature": {},
        "charge_per_feature": {},
    }
    return {"total": {**run, "runs": 1}, "last_run": run}


def _phone_call(leg: PhoneLeg) -> dict:
    body = {
        "direction": leg.direction,
        "phone_number_id": leg.phone_number_id,
        "agent_number": leg.agent_number,
        "external_number": leg.external_number,
        "type": leg.kind,
    }
    if leg.kind == "twilio":
        body["stream_sid"] = leg.stream_sid
        body["call_sid"] = leg.call_sid
    else:
        body["call_id"] = leg.sip_call_id
        body["call_sid"] = leg.call_sid
        body["sip_header_dynamic_variables"] = {}
    return body


def _analysis(fact: ConversationFact) -> dict:
    return {
        "evaluation_criteria_results": {},
        "data_collection_results": {},
        "call_successful": fact.outcome,
        "transcript_summary": fact.summary,
        "call_summary_title": fact.title,
    }


def _turn(fact: ConversationFact, turn: Turn, index: int) -> dict:
    agent = turn.role == "agent"
    return {
        "role": turn.role,
        "agent_metadata": {"agent_id": fact.agent_id, "branch_id": None, "workflow_node_id": None}
        if agent
        else None,
        "message": turn.message,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "llm_override": None,
        "time_in_call_secs": turn.at,
        "conversation_turn_metrics": {
            "metrics": {"convai_llm_service_ttfb": {"elapsed_time": 0.3 + (index * 7 % 10) / 20}}
        }
        if agent
        else None,
        "rag_retrieval_info": None,
        "llm_usage": None,
        "interrupted": False,
        "original_message": None,
        "source_medium": None if agent else "audio",
    }


def _client_data(fact: ConversationFact) -> dict:
    return {
        "conversation_config_override": {
            "asr": None,
            "turn": None,
            "tts": None,
            "conversation": None,
            "agent": None,
        },
        "custom_llm_extra_body": {},
        "user_id": None,
        "source_info": {"source": fact.source, "version": None},
        "dynamic_variables": {
            "system__agent_id": fact.agent_id,
            "system__conversation_id": fact.conversation_id,
        },
    }
