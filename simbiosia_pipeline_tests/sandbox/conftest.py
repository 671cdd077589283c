"""The sandbox tests' sandbox: a Wednesday afternoon in Madrid (``sandbox_support.NOW``), served
over real HTTP by the suite's ``sandbox_server``, and HTTP clients of both APIs on it.

Module-scoped servers must be left as found: tests that move the clock or set faults
start their own server, or undo what they set.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sandbox_support import ELEVENLABS_HEADERS, NOW, TWILIO_AUTH

from simbiosia_pipeline.sandbox import SandboxConfig, SandboxServer


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(now=NOW)


@pytest.fixture
def twilio_http(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_server.url, auth=TWILIO_AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def elevenlabs_http(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox_server.url, headers=ELEVENLABS_HEADERS, timeout=10
    ) as client:
        yield client
