"""Alerts for people: a Slack-compatible webhook (``SIMBIOSIA_ALERT_WEBHOOK_URL``), also logged.

An alert never carries a secret: every text is passed through ``scrub`` which removes the
values of the credential variables, whatever produced the text (an exception, a log line).
"""

from __future__ import annotations

import logging
import os

import httpx

from simbiosia_pipeline.settings import Settings

log = logging.getLogger("simbiosia.alerts")

SECRET_VARIABLES = (
    "TWILIO_AUTH_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "ELEVENLABS_API_KEY",
    "SIMBIOSIA_DATABASE_URL",
    "DAGSTER_PG_URL",
)
MAX_TEXT = 3000  # Slack truncates long messages; keep the head, which says what happened


def scrub(text: str) -> str:
    """``text`` with the value of every credential variable replaced by its name."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, f"<{name}>")
    return text


def send_alert(title: str, details: str = "", settings: Settings | None = None) -> dict:
    """Log the alert and POST it to the webhook when one is configured; return the payload."""
    settings = settings or Settings.from_env()
    text = scrub(f":rotating_light: *{title}*" + (f"\n{details}" if details else ""))[:MAX_TEXT]
    payload = {"text": text}
    log.warning("ALERT %s", text)
    if settings.alert_webhook_url:
        response = httpx.post(settings.alert_webhook_url, json=payload, timeout=10.0)
        response.raise_for_status()
    return payload
