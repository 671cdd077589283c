"""Which stored ElevenLabs conversations a re-run of their window keeps instead of fetching again.

A conversation's detail (its cost, charges, phone call) is final once its status is ``done`` or
``failed`` (``pending.py``). Re-running a window — the settlement sensor, the daily catch-up, a
repeated backfill — still lists the whole window (the list is how a conversation deleted
upstream is noticed, and it is cheap: 100 conversations a request), but asks for the detail only
of conversations that are

* new (not stored in the window),
* not final as stored (a pending status, or a final one stored without a cost: see the
  ``final_conversations_have_a_cost`` check), or
* final as stored, but listed differently now: a list entry carries ``agent_id``, ``status``,
  ``start_time_unix_secs`` and ``call_duration_secs`` (required by the official spec, in the
  detail too) and ``agent_name`` and ``termination_reason`` (optional): a status that went back
  (``done`` → ``processing`` while an analysis is run again), a moved start time, a renamed agent.

The others keep their stored row as it is, in the write's transaction (``WindowWriter`` holds
them, ``warehouse/writer.py``). What a list entry does not carry and may still change after a
conversation is final — feedback, tags, an evaluation run again without a status change, a
transcript deleted by a retention policy — is not refreshed by a re-run; a forced full re-fetch
(``FULL_REFETCH_TAG`` on the run) refreshes everything.
"""

from __future__ import annotations

from collections.abc import Mapping

from simbiosia_pipeline.sources.elevenlabs import IsCurrent
from simbiosia_pipeline.sources.pending import CONVERSATION_PENDING_SQL
from simbiosia_pipeline.warehouse.writer import Holding

# A run tagged so re-fetches every detail of its window (repair: a list that lied, a detail
# field changed after the conversation was final).
FULL_REFETCH_TAG = "simbiosia/full_refetch"

# The raw columns a list entry can be compared with (``warehouse/tables.py``), in this order.
LISTED_COLUMNS = (
    "agent_id",
    "agent_name",
    "status",
    "start_time",
    "call_duration_secs",
    "termination_reason",
)
FINAL_CONVERSATIONS = Holding(
    where=f"NOT {CONVERSATION_PENDING_SQL} AND cost IS NOT NULL", columns=LISTED_COLUMNS
)


def listed_as_stored(stored: Mapping[str, tuple]) -> IsCurrent:
    """A list entry → True when ``stored`` (conversation id → ``LISTED_COLUMNS``) holds the
    conversation and the entry says nothing else about it."""

    def is_current(summary: dict) -> bool:
        row = stored.get(summary["conversation_id"])
        return row is not None and _same(summary, *row)

    return is_current


def _same(summary, agent_id, agent_name, status, start_time, duration, termination) -> bool:
    return (
        summary.get("agent_id") == agent_id
        and summary.get("status") == status
        and summary.get("start_time_unix_secs") == int(start_time.timestamp())
        and summary.get("call_duration_secs") == duration
        # optional in both: absent or null means "not said", never a change
        and (summary.get("termination_reason") or "") == (termination or "")
        and (agent_name is None or summary.get("agent_name") in (None, agent_name))
    )
