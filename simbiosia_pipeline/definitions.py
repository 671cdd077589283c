"""The Dagster code location: every asset, check, schedule, sensor and resource of the project.

Loading this module never touches the network or the database — resources resolve their
connections when a run starts — so ``dagster dev -w workspace.yaml`` works on a fresh checkout
with no environment variables set.
"""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.assets.raw import elevenlabs_conversations, twilio_calls
from simbiosia_pipeline.sources.resources import source_apis
from simbiosia_pipeline.warehouse.resource import WarehouseResource

# Twilio and ElevenLabs ingestion run side by side; dbt waits for both. Set explicitly: the
# default is the host's CPU count, not the container's.
EXECUTOR = dg.multiprocess_executor.configured({"max_concurrent": 2})

defs = dg.Definitions(
    assets=[twilio_calls, elevenlabs_conversations],
    resources={"apis": source_apis(), "warehouse": WarehouseResource()},
    executor=EXECUTOR,
)
