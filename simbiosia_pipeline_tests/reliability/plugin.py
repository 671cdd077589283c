"""The table of the reliability scenarios' results, as a pytest plugin.

Loaded by the top-level ``simbiosia_pipeline_tests/conftest.py`` (``pytest_plugins``), so that
the session that prints the summary and writes ``last_results.md`` — with pytest-xdist, the
controller, which runs no test itself — has these hooks. Each xdist worker hands the lines its
scenarios recorded (``ledger.RESULTS``) to the controller through ``workeroutput``.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from simbiosia_pipeline_tests.reliability import ledger

_WORKER_OUTPUT_KEY = "simbiosia_reliability_results"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: collect the results a worker recorded."""
    output = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
    if output:
        ledger.RESULTS.extend(ledger.ScenarioResult(**item) for item in json.loads(output))


def pytest_terminal_summary(terminalreporter) -> None:
    if not ledger.RESULTS:
        return
    terminalreporter.section("reliability scenarios")
    for result in ledger.RESULTS:
        terminalreporter.write_line(result.line())


def pytest_sessionfinish(session, exitstatus) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # an xdist worker: the controller writes the file
        worker_output[_WORKER_OUTPUT_KEY] = json.dumps([asdict(r) for r in ledger.RESULTS])
    elif ledger.RESULTS:
        ledger.write_results_file(ledger.RESULTS)
