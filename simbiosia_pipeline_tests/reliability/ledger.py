"""The summary line of every reliability scenario, collected for the README table.

Each scenario ends with ``verify_against_truth`` (``truth.py``), which records one
``ScenarioResult``: what was injected, how many retries the pipeline needed, how many records
and snapshot rows were compared with the sandbox's ground truth, and how many differed.
``plugin.py`` prints them at the end of the session and merges them into ``last_results.md``
(one row per scenario, each with the date it last ran), from which the README table is copied.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parent / "last_results.md"
HEADER = (
    "| scenario | faults injected | retries seen | records checked | mismatches | seconds"
    " | last run |"
)
RULE = "|---|---|---|---:|---:|---:|---|"


@dataclass
class ScenarioResult:
    name: str
    faults: str
    retries: str
    records_checked: int
    mismatches: int
    seconds: float
    ran_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def line(self) -> str:
        return (
            f"{self.name}: faults {self.faults}; retries {self.retries}; "
            f"{self.records_checked} records checked; mismatches = {self.mismatches}; "
            f"{self.seconds:.0f}s"
        )

    def row(self) -> str:
        return (
            f"| {self.name} | {self.faults} | {self.retries} | {self.records_checked} "
            f"| {self.mismatches} | {self.seconds:.0f} | {self.ran_at} |"
        )


RESULTS: list[ScenarioResult] = []
CURRENT: dict[str, str] = {}  # the running test's node id, set by the conftest
_STARTED: dict[str, float] = {}


def start_clock(test_id: str) -> None:
    CURRENT["test"] = test_id
    _STARTED[test_id] = time.monotonic()


def seconds_since_start(test_id: str | None) -> float:
    began = _STARTED.get(test_id or "")
    return 0.0 if began is None else time.monotonic() - began


def describe_counts(counts: dict[str, int]) -> str:
    """``{"error": 3, "reset": 0, "hang": 1}`` → ``error 3, hang 1`` (``none`` when empty)."""
    shown = [f"{kind} {count}" for kind, count in sorted(counts.items()) if count]
    return ", ".join(shown) if shown else "none"


def merged_rows(previous: str, results: list[ScenarioResult]) -> list[str]:
    """The table rows of ``previous`` with the rows of ``results`` replacing same-named ones."""
    rows: dict[str, str] = {}
    for line in previous.splitlines():
        match = re.match(r"^\| ([SP]\d+[^|]*?) \|", line)
        if match:
            rows[match.group(1)] = line
    for result in results:
        rows[result.name] = result.row()
    return [rows[name] for name in sorted(rows, key=_scenario_order)]


def _scenario_order(name: str) -> tuple[bool, int, str]:
    """S1..S8 (the issue's scenarios), then P1.. (property scenarios)."""
    match = re.match(r"([SP])(\d+)", name)
    return (name[0] != "S", int(match.group(2)) if match else 99, name)


def write_results_file(results: list[ScenarioResult], path: Path = RESULTS_FILE) -> None:
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    body = "\n".join([HEADER, RULE, *merged_rows(previous, results)])
    path.write_text(
        "# Reliability scenarios: last results\n\n"
        "Written by `simbiosia_pipeline_tests/reliability/plugin.py` at the end of every test\n"
        "session that ran a scenario (`make test-reliability`, `make test`); each row keeps the\n"
        "date it last ran. Records checked = raw records compared with the sandbox's ground truth\n"
        "(ids, whole payloads, Decimal sums) + snapshot rows compared with the independent\n"
        "reference (`expected.py`). Seconds are wall time on the machine that ran them.\n\n"
        f"{body}\n",
        encoding="utf-8",
    )
