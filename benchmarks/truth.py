"""A timed run means something only if its warehouse holds exactly the sandbox's records."""

from __future__ import annotations

from simbiosia_testing.truth import WindowTruth, raw_mismatches

SHOWN = 5


class BenchmarkError(RuntimeError):
    """A benchmark run was wrong (lost, duplicated or altered records): its time means nothing."""


def check_raw_tables(conn, truth: WindowTruth) -> int:
    """The raw tables hold exactly the truth of the window (``simbiosia_testing.truth``); the
    number of records checked, or ``BenchmarkError`` naming the first differences."""
    problems = raw_mismatches(conn, truth)
    if problems:
        raise BenchmarkError(f"{len(problems)} differences: " + "; ".join(problems[:SHOWN]))
    return truth.records
