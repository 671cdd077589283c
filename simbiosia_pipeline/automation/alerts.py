"""Alerts for people: a Slack-compatible webhook (``SIMBIOSIA_ALERT_WEBHOOK_URL``), also logged.

An alert never carries a secret: every text is passed through ``scrub`` which removes the
values of the credential variables — the passwords inside the database URLs, in whatever form
they are written, and the webhook URL itself (whoever holds it may post) — whatever produced
the text (an exception, a log line). A webhook that fails says so without its URL.
"""

from __future__ import annotations

import logging
import os

import httpx

from simbiosia_pipeline.settings import Settings
from simbiosia_pipeline.warehouse.address import passwords_of

log = logging.getLogger("simbiosia.alerts")

SECRET_VARIABLES = (
    "TWILIO_AUTH_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "ELEVENLABS_API_KEY",
    "SIMBIOSIA_DATABASE_URL",
    "DAGSTER_PG_URL",
    "SIMBIOSIA_ALERT_WEBHOOK_URL",
)
ADDRESS_VARIABLES = ("SIMBIOSIA_DATABASE_URL", "DAGSTER_PG_URL")
MAX_TEXT = 3000  # Slack truncates long messages; keep the head, which says what happened


class AlertDeliveryError(RuntimeError):
    """The webhook did not take the alert; the message names the variable, not the URL."""


def scrub(text: str) -> str:
    """``text`` with the value of every credential variable replaced by its name."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, f"<{name}>")
    for name in ADDRESS_VARIABLES:
        for password in passwords_of(os.environ.get(name)):
            text = text.replace(password, f"<{name} password>")
    return text


class _ScrubSecrets(logging.Filter):
    """httpx logs every request's URL at INFO — the webhook's is a secret, Twilio's holds the
    account SID: the record is scrubbed before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


logging.getLogger("httpx").addFilter(_ScrubSecrets())


def send_alert(title: str, details: str = "", settings: Settings | None = None) -> dict:
    """Log the alert and POST it to the webhook when one is configured; return the payload."""
    settings = settings or Settings.from_env()
    text = scrub(f":rotating_light: *{title}*" + (f"\n{details}" if details else ""))[:MAX_TEXT]
    payload = {"text": text}
    log.warning("ALERT %s", text)
    if settings.alert_webhook_url:
        _post(settings.alert_webhook_url, payload)
    return payload


def _post(url: str, payload: dict) -> None:
    try:
        response = httpx.post(url, json=payload, timeout=10.0)
    except httpx.HTTPError as exc:  # its text may hold the URL: only the kind is kept
        raise AlertDeliveryError(
            f"the alert webhook (SIMBIOSIA_ALERT_WEBHOOK_URL) could not be reached: "
            f"{type(exc).__name__}"
        ) from None
    if not response.is_success:
        raise AlertDeliveryError(
            f"the alert webhook (SIMBIOSIA_ALERT_WEBHOOK_URL) answered {response.status_code}"
        )
