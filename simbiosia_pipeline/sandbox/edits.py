"""What the account's owner did to its conversations through the API, after they happened.

ElevenLabs documents two such actions that change what its list and details serve:

* ``DELETE /v1/convai/conversations/{id}``: the conversation is gone — from the list, and its
  detail answers 404. What it cost stays billed (``usage.py`` reads the generated records).
* ``POST /v1/convai/conversations/{id}/analysis/run``: the analysis is run again with the
  agent's current criteria. The spec says no more than that the answer is the conversation;
  the sandbox's choice: the conversation is ``processing`` again for ``ANALYSIS_SECONDS`` of its
  clock from the request (from the end of its first processing, if that is later), then back to
  its final status — its status goes back, and its cost is served ``null`` meanwhile, as for any
  conversation being processed. Charges stay as they were.

Unlike the rest of the sandbox these are state, not a function of the seed and the clock: a
served sandbox keeps them until it stops.
"""

from __future__ import annotations

import dataclasses
import threading

from simbiosia_pipeline.sandbox.facts import ConversationFact

ANALYSIS_SECONDS = 120


class ConversationEdits:
    """Deleted conversations and analyses run again, by conversation id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deleted: set[str] = set()
        self._reanalysed: dict[str, tuple[int, int]] = {}

    def delete(self, conversation_id: str) -> None:
        with self._lock:
            self._deleted.add(conversation_id)

    def rerun_analysis(self, fact: ConversationFact, now: int) -> None:
        start = max(now, fact.processed)
        with self._lock:
            self._reanalysed[fact.conversation_id] = (start, start + ANALYSIS_SECONDS)

    def applied(self, facts: tuple[ConversationFact, ...]) -> tuple[ConversationFact, ...]:
        """``facts`` as the edits leave them: deleted ones left out, re-analysed ones marked."""
        with self._lock:
            if not self._deleted and not self._reanalysed:
                return facts
            return tuple(
                dataclasses.replace(fact, reanalysis=self._reanalysed[fact.conversation_id])
                if fact.conversation_id in self._reanalysed
                else fact
                for fact in facts
                if fact.conversation_id not in self._deleted
            )
