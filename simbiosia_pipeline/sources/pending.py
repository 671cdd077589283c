"""When a record's cost is still pending — one definition per API.

The definition lives in the warehouse, as two SQL functions of ``warehouse/sql/raw.sql``
(``raw.twilio_cost_pending``, ``raw.elevenlabs_cost_pending``): the settlement sensor, the raw
checks, the partial indexes that keep both fast, and the dbt models (the snapshots'
``unpriced_calls`` and ``unsettled_conversations``, ``call_costs.is_settled``, hence the report of
``simbiosia run``) all call them. The Python predicates below are their twins for the places that
look at a record before it is stored (run metadata); a test holds both to the same answers.

* **Twilio**: a call is settled once it has a price, or once it ended unanswered — ``busy``,
  ``no-answer``, ``failed``, ``canceled``. Twilio does not charge those and leaves their price
  null for good (seen on real accounts 43 days after the call), so they are settled at 0. Every
  other call with a null price is pending: a ``completed`` call Twilio has not rated yet, or a
  call still queued, ringing or in progress (or in a status we do not know).
* **ElevenLabs**: a conversation's cost is final only once its status is ``done`` or ``failed``.
"""

from __future__ import annotations

from typing import Any

UNANSWERED_TWILIO_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})
FINAL_CONVERSATION_STATUSES = frozenset({"done", "failed"})

# The SQL of the definitions, for queries on the raw tables (their column names).
TWILIO_PENDING_SQL = "raw.twilio_cost_pending(status, price)"
CONVERSATION_PENDING_SQL = "raw.elevenlabs_cost_pending(status)"


def twilio_cost_pending(status: str | None, price: Any) -> bool:
    """True while the call's cost may still change (see the module docstring)."""
    return price is None and status not in UNANSWERED_TWILIO_STATUSES


def conversation_cost_pending(status: str | None) -> bool:
    """True until the conversation is done or failed."""
    return status not in FINAL_CONVERSATION_STATUSES
