"""Results: the eight figures, the table printed and written, and ``latest.json``."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    name: str
    value: float | None
    unit: str
    target: str  # e.g. "<= 1.3"; "report" when the issue sets none
    ok: bool | None
    detail: dict = field(default_factory=dict)

    @classmethod
    def judged(cls, name: str, value: float, unit: str, op: str, limit: float | None, **detail):
        if limit is None:
            return cls(name, round(value, 3), unit, "report", None, detail)
        ok = value <= limit if op == "<=" else value >= limit
        return cls(name, round(value, 3), unit, f"{op} {limit:g}", ok, detail)

    @classmethod
    def failed(cls, name: str, unit: str, target: str, error: str):
        return cls(name, None, unit, target, False, {"error": error})


def machine() -> dict:
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        model = platform.processor()
    try:
        with open("/proc/loadavg") as loadavg:
            load = loadavg.read().split()[:3]
    except OSError:
        load = []
    try:
        postgres = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        postgres = ""
    import os

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "postgres_client": postgres,
        "load_average_at_end": load,
    }


def table(results: list[Result], smoke: bool) -> str:
    lines = ["| figure | value | unit | target | ok |", "|---|---:|---|---|---|"]
    for r in results:
        value = "—" if r.value is None else f"{r.value:g}"
        ok = "—" if r.ok is None else ("yes" if r.ok else "**no**")
        if smoke:
            ok = "(smoke)"
        lines.append(f"| `{r.name}` | {value} | {r.unit} | {r.target} | {ok} |")
    return "\n".join(lines)


def write(results: list[Result], workload, started: datetime, path: Path | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = path or RESULTS_DIR / ("smoke.json" if workload.smoke else "latest.json")
    records = [
        {"name": r.name, "value": r.value, "unit": r.unit, "target": r.target, "ok": r.ok}
        for r in results
    ]
    path.write_text(json.dumps(records, indent=2) + "\n")
    details = {
        "workload": {k: str(v) for k, v in asdict(workload).items()},
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "results": [asdict(r) for r in results],
    }
    path.with_name(path.stem + ".details.json").write_text(
        json.dumps(details, indent=2, default=str) + "\n"
    )
    path.with_suffix(".md").write_text(table(results, workload.smoke) + "\n")
    return path
