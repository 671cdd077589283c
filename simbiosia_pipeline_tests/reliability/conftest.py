"""Fixtures of the reliability scenarios. The table of their results is ``plugin.py``'s."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from simbiosia_pipeline_tests.reliability import ledger


@pytest.fixture(autouse=True)
def _scenario_clock(request: pytest.FixtureRequest) -> None:
    ledger.start_clock(request.node.nodeid)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance of the test's own (runs, event logs) in a temporary directory."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
