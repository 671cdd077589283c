"""Child process of ``peer_vs_ours``: the same extraction done with dlt's ``rest_api`` source.

Tuned as dlt's docs recommend for this shape of API: pages of the APIs' maximum size; the
ElevenLabs detail endpoint as a dependent resource with ``parallelized`` (each conversation's
detail fetched in dlt's extract thread pool, sized to the API's concurrency limit); the list
endpoint not loaded (``selected: False``); no nested tables (``max_table_nesting=0``: nested
objects land as JSON, as our ``payload``); transcripts dropped in a processing step (as ours);
Twilio's ``price`` hinted as decimal; ``replace`` write disposition (idempotent, like our window
replacement); CSV load files, which the PostgreSQL destination loads with ``COPY``.
"""

from __future__ import annotations

import os
import tempfile
import time

DETAIL_PATH = "v1/convai/conversations/{resources.conversation_list.conversation_id}"


def run(payload: dict) -> dict:
    workers = int(payload["workers"])
    os.environ.update(
        {
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "EXTRACT__WORKERS": str(workers),
            "EXTRACT__MAX_PARALLEL_ITEMS": str(max(20, 2 * workers)),
            "NORMALIZE__WORKERS": "1",
            "LOAD__WORKERS": "4",
        }
    )
    import dlt
    from dlt.sources.rest_api import rest_api_source

    base = payload["base_url"]

    def without_transcript(detail: dict) -> dict:
        detail["transcript"] = []
        analysis = detail.get("analysis")
        if isinstance(analysis, dict):
            analysis.pop("transcript_summary", None)
        return detail

    elevenlabs = rest_api_source(
        {
            "client": {
                "base_url": base,
                "auth": {"type": "api_key", "name": "xi-api-key", "api_key": payload["api_key"]},
            },
            "resources": [
                {
                    "name": "conversation_list",
                    "selected": False,
                    "endpoint": {
                        "path": "v1/convai/conversations",
                        "params": {
                            "page_size": 100,
                            "call_start_after_unix": payload["start_unix"],
                            "call_start_before_unix": payload["end_unix"],
                        },
                        "paginator": {
                            "type": "cursor",
                            "cursor_path": "next_cursor",
                            "cursor_param": "cursor",
                        },
                        "data_selector": "conversations",
                    },
                },
                {
                    "name": "conversations",
                    "primary_key": "conversation_id",
                    "write_disposition": "replace",
                    "parallelized": True,
                    "endpoint": {
                        "path": DETAIL_PATH,
                        "paginator": "single_page",
                        "data_selector": "$",
                    },
                    "processing_steps": [{"map": without_transcript}],
                },
            ],
        },
        name="elevenlabs",
        max_table_nesting=0,
    )
    twilio = rest_api_source(
        {
            "client": {
                "base_url": base,
                "auth": {
                    "type": "http_basic",
                    "username": payload["account_sid"],
                    "password": payload["auth_token"],
                },
            },
            "resources": [
                {
                    "name": "twilio_calls",
                    "primary_key": "sid",
                    "write_disposition": "replace",
                    "columns": {"price": {"data_type": "decimal", "precision": 38, "scale": 9}},
                    "endpoint": {
                        "path": f"2010-04-01/Accounts/{payload['account_sid']}/Calls.json",
                        "params": {
                            "PageSize": 1000,
                            "StartTime>": payload["start_date"],
                            "StartTime<": payload["end_date"],
                        },
                        "paginator": {"type": "json_link", "next_url_path": "next_page_uri"},
                        "data_selector": "calls",
                    },
                }
            ],
        },
        name="twilio",
        max_table_nesting=0,
    )
    with tempfile.TemporaryDirectory(prefix="bench_dlt_") as workdir:
        pipeline = dlt.pipeline(
            pipeline_name="simbiosia_peer",
            pipelines_dir=workdir,
            destination=dlt.destinations.postgres(
                credentials=_with_password(payload["database_url"])
            ),
            dataset_name=payload["schema"],
        )
        began = time.perf_counter()
        pipeline.run([elevenlabs, twilio], loader_file_format="csv")
        seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:  # VmHWM: see ingest_child._peak_rss_mb
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def _with_password(url: str) -> str:
    """dlt insists on a password; the benchmark server trusts local connections and ignores it."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url
    netloc = f"{parts.username or 'postgres'}:unused@{parts.hostname}:{parts.port or 5432}"
    return parts._replace(netloc=netloc).geturl()


if __name__ == "__main__":
    from benchmarks.infra import child_main

    child_main(run)
