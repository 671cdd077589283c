"""Fixtures: a sandbox at a fixed clock, served over real HTTP on 127.0.0.1.

Module-scoped servers must be left as found: tests that move the clock or set faults
start their own server.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sandbox_support import ELEVENLABS_HEADERS, NOW, TWILIO_AUTH

from simbiosia_pipeline.sandbox import Sandbox, SandboxConfig, SandboxServer, start_sandbox_server


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(now=NOW))


@pytest.fixture(scope="module")
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with start_sandbox_server(sandbox) as running:
        yield running


@pytest.fixture
def twilio_http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=TWILIO_AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def elevenlabs_http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=ELEVENLABS_HEADERS, timeout=10) as client:
        yield client
