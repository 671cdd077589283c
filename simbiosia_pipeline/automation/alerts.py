"""Alerts for people: a Slack-compatible webhook (``SIMBIOSIA_ALERT_WEBHOOK_URL``) and/or email
(``SIMBIOSIA_ALERT_EMAIL_TO`` through the SMTP server of ``SIMBIOSIA_SMTP_*``), always logged.

An alert never carries a secret: every text is passed through ``scrub`` which removes the
values of the credential variables — the passwords inside the database URLs, in whatever form
they are written, and the webhook URL itself (whoever holds it may post) — whatever produced
the text (an exception, a log line). A webhook that fails says so without its URL.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from simbiosia_pipeline.settings import ConfigurationError, Settings
from simbiosia_pipeline.warehouse.address import passwords_of

log = logging.getLogger("simbiosia.alerts")

SECRET_VARIABLES = (
    "TWILIO_AUTH_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "ELEVENLABS_API_KEY",
    "SIMBIOSIA_DATABASE_URL",
    "DAGSTER_PG_URL",
    "SIMBIOSIA_ALERT_WEBHOOK_URL",
    "SIMBIOSIA_SMTP_PASSWORD",
    "SIMBIOSIA_BACKOFFICE_PASSWORD",
    "SIMBIOSIA_BACKOFFICE_DATABASE_URL",
)
ADDRESS_VARIABLES = (
    "SIMBIOSIA_DATABASE_URL",
    "DAGSTER_PG_URL",
    "SIMBIOSIA_BACKOFFICE_DATABASE_URL",
)
SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
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


@dataclass(frozen=True)
class EmailSettings:
    """Where email alerts go and through which SMTP server. The password is not kept here: it is
    read from ``SIMBIOSIA_SMTP_PASSWORD`` when a message is sent."""

    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    username: str | None
    security: str  # starttls | ssl | none

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> EmailSettings | None:
        """None when ``SIMBIOSIA_ALERT_EMAIL_TO`` is unset (no email alerts)."""
        env = os.environ if env is None else env
        to = tuple(
            a.strip() for a in (env.get("SIMBIOSIA_ALERT_EMAIL_TO") or "").split(",") if a.strip()
        )
        if not to:
            return None
        security = (env.get("SIMBIOSIA_SMTP_SECURITY") or "starttls").strip().lower()
        if security not in SMTP_SECURITY_PORTS:
            raise ConfigurationError(
                f"SIMBIOSIA_SMTP_SECURITY={security!r} is not one of: "
                + ", ".join(SMTP_SECURITY_PORTS)
            )
        port = env.get("SIMBIOSIA_SMTP_PORT") or str(SMTP_SECURITY_PORTS[security])
        if not port.isdigit():
            raise ConfigurationError(f"SIMBIOSIA_SMTP_PORT={port!r} is not a port number")
        return cls(
            to=to,
            sender=env.get("SIMBIOSIA_ALERT_EMAIL_FROM") or f"simbiosia-alerts@{socket.getfqdn()}",
            host=env.get("SIMBIOSIA_SMTP_HOST") or "localhost",
            port=int(port),
            username=env.get("SIMBIOSIA_SMTP_USER") or None,
            security=security,
        )


def send_alert(title: str, details: str = "", settings: Settings | None = None) -> dict:
    """Log the alert and POST it to the webhook when one is configured; return the payload."""
    settings = settings or Settings.from_env()
    text = scrub(f":rotating_light: *{title}*" + (f"\n{details}" if details else ""))[:MAX_TEXT]
    payload = {"text": text}
    log.warning("ALERT %s", text)
    # Each channel is tried even when the other fails; the first failure is raised after.
    failures: list[Exception] = []
    if settings.alert_webhook_url:
        try:
            _post(settings.alert_webhook_url, payload)
        except AlertDeliveryError as exc:
            failures.append(exc)
    email = EmailSettings.from_env()
    if email:
        try:
            send_email(email, scrub(title), scrub(details)[:MAX_TEXT])
        except (OSError, smtplib.SMTPException) as exc:
            log.error("alert email to %s failed: %s", ", ".join(email.to), scrub(str(exc)))
            failures.append(exc)
    if failures:
        raise failures[0]
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


def send_email(email: EmailSettings, title: str, details: str) -> None:
    """One plain-text message: the subject says what happened, the body the details."""
    message = EmailMessage()
    message["Subject"] = f"[Simbiosia alert] {title}"
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    message.set_content(f"{title}\n\n{details}\n" if details else f"{title}\n")
    connection = smtplib.SMTP_SSL if email.security == "ssl" else smtplib.SMTP
    with connection(email.host, email.port, timeout=10.0) as smtp:
        if email.security == "starttls":
            smtp.starttls()
        if email.username:
            smtp.login(email.username, os.environ.get("SIMBIOSIA_SMTP_PASSWORD", ""))
        smtp.send_message(message)
