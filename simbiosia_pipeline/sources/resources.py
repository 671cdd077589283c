"""Where the two APIs are and who we are to them, as Dagster resources.

One abstract client resource and its production implementation (Dagster's
project_fully_featured pattern); the test double — the built-in simulator — lives with the
simulator (``sandbox/resource.py``) and ``definitions.py`` chooses between them
(``SIMBIOSIA_SOURCE``):

* ``LiveApis`` — the real APIs (or any server speaking them: ``TWILIO_API_BASE_URL``,
  ``ELEVENLABS_API_BASE_URL``). Credentials come from the environment through ``dagster.EnvVar``,
  so they are resolved when a run starts, never shown in the UI, and a missing one fails the run
  at its start with a message naming the variable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import dagster as dg
import httpx

from simbiosia_pipeline.settings import SourceMode, check_credentials
from simbiosia_pipeline.sources import elevenlabs, twilio, usage
from simbiosia_pipeline.sources.answers import MAX_BODY_BYTES, AnswerLimits
from simbiosia_pipeline.sources.http import BackoffPolicy
from simbiosia_pipeline.sources.pages import MAX_RECORDS_PER_HOUR


@dataclass(frozen=True)
class Endpoints:
    twilio_base_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    elevenlabs_base_url: str
    elevenlabs_api_key: str

    def __repr__(self) -> str:  # never print the secrets, whoever logs this object
        return f"Endpoints(twilio={self.twilio_base_url}, elevenlabs={self.elevenlabs_base_url})"


class SourceApis(dg.ConfigurableResource, ABC):
    """The two source APIs; subclasses say where they are and with which credentials."""

    elevenlabs_concurrency: int = 8
    # Requests kept free for the hourly and settlement runs while a backfill is running.
    elevenlabs_reserved_concurrency: int = 2
    # Per read, and also the overall deadline of one answer (``answers.py``).
    request_timeout_seconds: float = 30.0
    max_attempts: int = 8
    twilio_page_size: int = twilio.PAGE_SIZE
    # Bounds on what the APIs may send (``answers.py``, ``pages.py``).
    max_answer_bytes: int = MAX_BODY_BYTES
    max_records_per_hour: int = MAX_RECORDS_PER_HOUR

    @property
    @abstractmethod
    def mode(self) -> SourceMode: ...

    @abstractmethod
    def endpoints(self) -> Endpoints: ...

    def twilio(self) -> twilio.TwilioCallsClient:
        endpoints = self.endpoints()
        return twilio.TwilioCallsClient(
            account_sid=endpoints.twilio_account_sid,
            auth_token=endpoints.twilio_auth_token,
            base_url=endpoints.twilio_base_url,
            timeout=self._timeout(),
            policy=self._policy(),
            page_size=self.twilio_page_size,
            limits=self._limits(),
            max_records_per_hour=self.max_records_per_hour,
        )

    def elevenlabs(self, *, bulk: bool = False) -> elevenlabs.ElevenLabsClient:
        """A client whose share of the ElevenLabs budget depends on the kind of run.

        The budget (``elevenlabs_concurrency``) is split between one bulk run (a backfill: the
        budget minus the reserve) and the routine runs (hourly, settlement: the reserve), so the
        two together never exceed it and a backfill cannot starve the hourly run.
        """
        elevenlabs.checked_concurrency(self.elevenlabs_concurrency)
        endpoints = self.endpoints()
        return elevenlabs.ElevenLabsClient(
            api_key=endpoints.elevenlabs_api_key,
            base_url=endpoints.elevenlabs_base_url,
            concurrency=split_concurrency(
                self.elevenlabs_concurrency, self.elevenlabs_reserved_concurrency, bulk=bulk
            ),
            timeout_seconds=self.request_timeout_seconds,
            policy=self._policy(),
            limits=self._limits(),
            max_records_per_hour=self.max_records_per_hour,
        )

    def twilio_usage(self) -> usage.TwilioUsageClient:
        """Twilio's daily Usage Records of the account (what Twilio bills)."""
        endpoints = self.endpoints()
        return usage.TwilioUsageClient(
            account_sid=endpoints.twilio_account_sid,
            auth_token=endpoints.twilio_auth_token,
            base_url=endpoints.twilio_base_url,
            timeout=self._timeout(),
            policy=self._policy(),
            limits=self._limits(),
        )

    def elevenlabs_usage(self) -> usage.ElevenLabsUsageClient:
        """ElevenLabs' usage analytics of the workspace (what ElevenLabs bills)."""
        endpoints = self.endpoints()
        return usage.ElevenLabsUsageClient(
            api_key=endpoints.elevenlabs_api_key,
            base_url=endpoints.elevenlabs_base_url,
            timeout_seconds=self.request_timeout_seconds,
            policy=self._policy(),
            limits=self._limits(),
        )

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            self.request_timeout_seconds, connect=min(10.0, self.request_timeout_seconds)
        )

    def _limits(self) -> AnswerLimits:
        return AnswerLimits(
            deadline_seconds=self.request_timeout_seconds, max_bytes=self.max_answer_bytes
        )

    def _policy(self) -> BackoffPolicy:
        return BackoffPolicy(max_attempts=self.max_attempts)


class LiveApis(SourceApis):
    """The production APIs, credentials from the environment."""

    twilio_account_sid: str
    twilio_auth_token: str
    elevenlabs_api_key: str
    twilio_base_url: str = twilio.DEFAULT_BASE_URL
    elevenlabs_base_url: str = elevenlabs.DEFAULT_BASE_URL

    @property
    def mode(self) -> SourceMode:
        return SourceMode.LIVE

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Before any request: a key with a trailing newline is a setting to fix, not a
        # header-injection error to retry (the message names the variable, never the value).
        check_credentials(
            SourceMode.LIVE,
            {
                "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
                "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
                "ELEVENLABS_API_KEY": self.elevenlabs_api_key,
            },
        )

    def endpoints(self) -> Endpoints:
        return Endpoints(
            twilio_base_url=self.twilio_base_url,
            twilio_account_sid=self.twilio_account_sid,
            twilio_auth_token=self.twilio_auth_token,
            elevenlabs_base_url=self.elevenlabs_base_url,
            elevenlabs_api_key=self.elevenlabs_api_key,
        )


def split_concurrency(budget: int, reserved: int, *, bulk: bool) -> int:
    if budget <= reserved:
        return budget  # no room to split: runs queue on the pool instead
    return budget - reserved if bulk else reserved
