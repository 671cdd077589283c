"""Bad input on demand: chosen records served with fields the generator never produces.

The generator only makes well-formed records. To test what the pipeline does with the records
real APIs occasionally serve — a null where a value is expected, a Twilio direction or an
ElevenLabs status nobody documented, a number that is not E.164, a huge payload, a detail whose
start time disagrees with the list, a detail that answers 404 while the list shows it — a
``SandboxConfig`` can name records (by Twilio ``sid`` or ElevenLabs ``conversation_id``) and
what to change in each::

    SandboxConfig(anomalies={
        "CA…": {"set": {"direction": "outbound-whatsapp", "from": "anonymous"}},
        "conv_…": {"set": {"metadata.start_time_unix_secs": 1759881600}},
        "conv_…": {"drop": ["agent_id"], "pad_bytes": 5_000_000},
        "conv_…": {"missing": True},
    })

What changes, and where:

* ``set``: dotted path → JSON value (``null`` included); intermediate objects must exist.
* ``drop``: dotted paths removed from the record.
* ``pad_bytes``: a string field ``_sandbox_padding`` of that many bytes is added.
* ``missing``: ElevenLabs only — the detail answers 404 ``conversation_not_found``.

A Twilio anomaly changes the Call resource wherever it is served (list pages and fetch); an
ElevenLabs anomaly changes the conversation detail only — the list keeps showing the record as
generated (its id and start time), which is how a detail comes to disagree with its list.
Filtering, ordering and paging always follow the generated record, never the altered one.
The ground truth (``Sandbox.twilio_calls`` / ``.conversations``) returns exactly what is served:
altered records, and no detail for a ``missing`` conversation. Deterministic: the same config
serves the same bytes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PADDING_FIELD = "_sandbox_padding"


@dataclass(frozen=True)
class Anomaly:
    """What to change in one served record (see the module docstring)."""

    set: Mapping[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    pad_bytes: int = 0
    missing: bool = False

    def __post_init__(self) -> None:
        if self.pad_bytes < 0:
            raise ValueError(f"pad_bytes must not be negative, got {self.pad_bytes}")
        for path in (*self.set, *self.drop):
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"not a dotted field path: {path!r}")
        object.__setattr__(self, "drop", tuple(self.drop))

    @classmethod
    def of(cls, value: Anomaly | Mapping[str, Any]) -> Anomaly:
        if isinstance(value, Anomaly):
            return value
        unknown = sorted(set(value) - {"set", "drop", "pad_bytes", "missing"})
        if unknown:
            raise ValueError(f"unknown anomaly settings: {', '.join(unknown)}")
        return cls(**value)

    def apply(self, record: dict) -> dict:
        """A changed copy of ``record`` (which is left as it was)."""
        changed = copy.deepcopy(record)
        for path, value in self.set.items():
            parent, key = _parent(changed, path)
            parent[key] = copy.deepcopy(value)
        for path in self.drop:
            parent, key = _parent(changed, path)
            parent.pop(key, None)
        if self.pad_bytes:
            changed[PADDING_FIELD] = "x" * self.pad_bytes
        return changed


def anomalies_of(config: Mapping[str, Anomaly | Mapping[str, Any]]) -> dict[str, Anomaly]:
    """Validated anomalies by record id (the form ``SandboxConfig`` keeps)."""
    return {record_id: Anomaly.of(value) for record_id, value in config.items()}


def _parent(record: dict, path: str) -> tuple[dict, str]:
    *parents, key = path.split(".")
    node: Any = record
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ValueError(f"anomaly path {path!r}: {part!r} is not an object in the record")
    return node, key
