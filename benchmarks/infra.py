"""What every benchmark stands on: the sandbox in a process of its own, scratch databases on the
PostgreSQL server, child processes that report JSON, and the statistics of repetitions."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.workload import Workload
from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig
from simbiosia_testing.local_servers import create_database, drop_database, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class SandboxProcess:
    """``simbiosia sandbox serve`` in a process of its own: the server must not share the
    client's interpreter lock, or the client would be measured against its own server."""

    def __init__(self, workload: Workload):
        self.workload = workload
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._process: subprocess.Popen | None = None

    def truth(self) -> Sandbox:
        """The same sandbox in this process: the ground truth of what the server serves."""
        w = self.workload
        return Sandbox(SandboxConfig(seed=w.seed, scale=w.scale, now=w.now))

    def __enter__(self) -> SandboxProcess:
        w = self.workload
        command = [
            str(BIN / "simbiosia"), "sandbox", "serve", "--port", str(self.port),
            "--seed", str(w.seed), "--scale", str(w.scale), "--now", w.now.isoformat(),
            "--latency-ms", str(w.latency_ms),
            "--twilio-max-concurrency", str(w.twilio_limit),
            "--elevenlabs-max-concurrency", str(w.elevenlabs_limit),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"sandbox server died: {self._log.read().decode()[-2000:]}")
            try:
                httpx.get(f"{self.url}/_sandbox/stats", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"sandbox server on {self.url} did not start")

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def reset_stats(self) -> None:
        httpx.post(f"{self.url}/_sandbox/stats/reset", timeout=5).raise_for_status()

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_sandbox/stats", timeout=5).json()


@dataclass(frozen=True)
class Requests:
    """What the sandbox saw of one run."""

    elevenlabs_ok: int
    twilio_ok: int
    elevenlabs_total: int
    twilio_total: int
    throttled: int
    peak_elevenlabs: int
    peak_twilio: int

    @classmethod
    def from_stats(cls, stats: dict) -> Requests:
        responses = stats["responses"]
        return cls(
            elevenlabs_ok=responses["elevenlabs"].get("200", 0),
            twilio_ok=responses["twilio"].get("200", 0),
            elevenlabs_total=stats["requests"]["elevenlabs"],
            twilio_total=stats["requests"]["twilio"],
            throttled=responses["elevenlabs"].get("429", 0) + responses["twilio"].get("429", 0),
            peak_elevenlabs=stats["peak_in_flight"]["elevenlabs"],
            peak_twilio=stats["peak_in_flight"]["twilio"],
        )

    def bound_seconds(self, workload: Workload) -> float:
        """max(N_el·L/C_el, N_tw·L/C_tw): no client can do these requests faster."""
        return max(
            self.elevenlabs_ok * workload.latency_s / workload.elevenlabs_limit,
            self.twilio_ok * workload.latency_s / workload.twilio_limit,
        )


@contextmanager
def scratch_database(prefix: str = "simbiosia_bench") -> Iterator[str]:
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)


def run_child(module: str, payload: dict, env: dict[str, str] | None = None, timeout=3600):
    """Run ``python -m module`` with ``payload`` as JSON on stdin; return its last stdout line
    as JSON. The child gets the whole interpreter (and its own GIL) to itself."""
    completed = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(payload, default=str),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} failed (exit {completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    return json.loads(lines[-1])


def child_main(run) -> None:
    """Entry point of a child module: JSON in on stdin, JSON out as the last stdout line."""
    payload = json.loads(sys.stdin.read() or "{}")
    result = run(payload)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def median(values) -> float:
    return statistics.median(values)


@contextmanager
def dagster_home(prefix: str = "simbiosia_bench_dagster") -> Iterator[tuple[str, str]]:
    """A temporary DAGSTER_HOME with the project's own ``dagster.yaml`` (PostgreSQL storage, as in
    production) on a scratch database; yields (home, psycopg2 URL of its storage)."""
    with scratch_database(prefix) as url, tempfile.TemporaryDirectory(prefix="bench_home_") as home:
        dagster = Path(home) / "dagster"
        dagster.mkdir()
        (dagster / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
        yield home, "postgresql+psycopg2://" + url.partition("://")[2]


def pipeline_env(
    workload: Workload, sandbox_url: str, database_url: str, home: str, dagster_pg_url: str
) -> dict:
    """The environment under which the pipeline (its Dagster code location) runs a benchmark."""
    return {
        "DAGSTER_PG_URL": dagster_pg_url,
        "SIMBIOSIA_SOURCE": "sandbox",
        "TWILIO_API_BASE_URL": sandbox_url,
        "ELEVENLABS_API_BASE_URL": sandbox_url,
        "SIMBIOSIA_DATABASE_URL": database_url,
        "SIMBIOSIA_HOME": home,
        "DAGSTER_HOME": str(Path(home) / "dagster"),
        "SIMBIOSIA_START_DATE": "2025-08-01",
        # Dagster writes an event per partition and asset, planned then materialized: 8,640 for
        # a 90-day ranged run of the two raw assets, each on two fresh connections to its
        # PostgreSQL storage (NullPool), 15-30 ms apiece — two to four minutes per backfill.
        # Materializations are written in batches with this (what Dagster+ runs with) ...
        "DAGSTER_EVENT_BATCH_SIZE": "1000",
        # ... and a single-run backfill plans one event per asset carrying the partition range
        # (the price: a failed run leaves its partitions "missing" rather than "failed").
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
        # The backfill is the only run: it may use the whole ElevenLabs budget (no reserve for
        # routine runs: budget <= reserve means "no split", see resources.split_concurrency).
        "SIMBIOSIA_ELEVENLABS_CONCURRENCY": str(workload.elevenlabs_limit),
        "SIMBIOSIA_ELEVENLABS_RESERVED_CONCURRENCY": str(workload.elevenlabs_limit),
    }
