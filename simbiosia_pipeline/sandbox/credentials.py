"""Credentials the sandbox accepts, and where the CLI takes them from.

The sandbox checks credentials exactly like the real APIs (Twilio HTTP Basic with the
account SID in the path, ElevenLabs ``xi-api-key``), so a client that authenticates
against it authenticates the same way in production. Without environment variables it
accepts the documented defaults below, which are not secrets. Presented credentials are
never echoed in a response or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_TWILIO_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
DEFAULT_TWILIO_AUTH_TOKEN = "sandbox-auth-token"  # noqa: S105 - a documented public default
DEFAULT_ELEVENLABS_API_KEY = "sk_sandbox"

ENV_TWILIO_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
ENV_TWILIO_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_ELEVENLABS_API_KEY = "ELEVENLABS_API_KEY"

_ENV_FIELDS = (
    ("twilio_account_sid", ENV_TWILIO_ACCOUNT_SID),
    ("twilio_auth_token", ENV_TWILIO_AUTH_TOKEN),
    ("elevenlabs_api_key", ENV_ELEVENLABS_API_KEY),
)


def credentials_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``SandboxConfig`` credential fields for the variables that are set (and non-empty).

    Fields whose variable is unset are left out, so the config keeps its default.
    """
    env = os.environ if env is None else env
    return {field: env[name] for field, name in _ENV_FIELDS if env.get(name)}


def credential_sources(env: Mapping[str, str] | None = None) -> list[str]:
    """One line per credential naming where it comes from, without any secret value."""
    env = os.environ if env is None else env
    defaults = {
        ENV_TWILIO_ACCOUNT_SID: DEFAULT_TWILIO_ACCOUNT_SID,
        ENV_TWILIO_AUTH_TOKEN: DEFAULT_TWILIO_AUTH_TOKEN,
        ENV_ELEVENLABS_API_KEY: DEFAULT_ELEVENLABS_API_KEY,
    }
    return [
        f"{name}: from the environment" if env.get(name) else f"{name}: sandbox default {default}"
        for name, default in defaults.items()
    ]
