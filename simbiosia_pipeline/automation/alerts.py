"""Alerts for people: a Slack-compatible webhook (``SIMBIOSIA_ALERT_WEBHOOK_URL``) and/or email
(``SIMBIOSIA_ALERT_EMAIL_TO`` through the SMTP server of ``SIMBIOSIA_SMTP_*``), always logged.

Where alerts go is the ``AlertChannels`` resource (key ``alerts``), shown in the UI's resource
config; its secrets (the webhook URL, the SMTP password) are ``EnvVar`` fields, so the UI shows
their variable names, never their values.

An alert never carries a secret: every text is passed through ``scrub`` which removes the
values of the credential variables — the passwords inside the database URLs, in whatever form
they are written, and the webhook URL itself (whoever holds it may post) — whatever produced
the text (an exception, a log line). A webhook that fails says so without its URL.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import dagster as dg
import httpx
from pydantic import Field

from simbiosia_pipeline.settings import (
    ALERT_WEBHOOK_VARIABLE,
    SMTP_PASSWORD_VARIABLE,
    AlertEmail,
    Settings,
    secret_values,
)
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
MAX_TEXT = 3000  # Slack truncates long messages; keep the head, which says what happened


class AlertDeliveryError(RuntimeError):
    """The webhook did not take the alert; the message names the variable, not the URL."""


def scrub(text: str) -> str:
    """``text`` with the value of every credential variable replaced by its name."""
    for name, value in secret_values(SECRET_VARIABLES).items():
        if len(value) >= 6:
            text = text.replace(value, f"<{name}>")
    for name, address in secret_values(ADDRESS_VARIABLES).items():
        for password in passwords_of(address):
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


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go, besides the log (variables: README "Configuration")."""

    webhook_url: str | None = None  # SIMBIOSIA_ALERT_WEBHOOK_URL, an EnvVar (a secret)
    email_to: list[str] = Field(default_factory=list)  # SIMBIOSIA_ALERT_EMAIL_TO; empty: no email
    email_from: str = ""  # SIMBIOSIA_ALERT_EMAIL_FROM
    smtp_host: str = "localhost"  # SIMBIOSIA_SMTP_HOST
    smtp_port: int = 0  # SIMBIOSIA_SMTP_PORT
    smtp_security: str = "starttls"  # SIMBIOSIA_SMTP_SECURITY: starttls | ssl | none
    smtp_user: str | None = None  # SIMBIOSIA_SMTP_USER
    smtp_password: str | None = None  # SIMBIOSIA_SMTP_PASSWORD, an EnvVar (a secret)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertChannels:
        """The channels ``settings`` configure; the secrets as ``EnvVar``s of their variables
        (only when set: an unset ``EnvVar`` fails when the resource is built)."""
        email = settings.alert_email
        return cls(
            webhook_url=dg.EnvVar(ALERT_WEBHOOK_VARIABLE) if settings.alert_webhook_url else None,
            email_to=list(email.to) if email else [],
            email_from=email.sender if email else "",
            smtp_host=email.host if email else "localhost",
            smtp_port=email.port if email else 0,
            smtp_security=email.security if email else "starttls",
            smtp_user=email.username if email else None,
            smtp_password=(
                dg.EnvVar(SMTP_PASSWORD_VARIABLE) if settings.smtp_password_set else None
            ),
        )

    @classmethod
    def from_env(cls) -> AlertChannels:
        """The environment's channels, read and checked by ``Settings``."""
        return cls.from_settings(Settings.from_env())

    @property
    def email(self) -> AlertEmail | None:
        if not self.email_to:
            return None
        return AlertEmail(
            tuple(self.email_to),
            self.email_from,
            self.smtp_host,
            self.smtp_port,
            self.smtp_user,
            self.smtp_security,
        )

    def send(self, title: str, details: str = "") -> dict:
        """Log the alert and send it to every configured channel; return the webhook payload.
        Each channel is tried even when the other fails; the first failure is raised after."""
        text = scrub(f":rotating_light: *{title}*" + (f"\n{details}" if details else ""))
        payload = {"text": text[:MAX_TEXT]}
        log.warning("ALERT %s", payload["text"])
        failures: list[Exception] = []
        if self.webhook_url:
            try:
                _post(self.webhook_url, payload)
            except AlertDeliveryError as exc:
                failures.append(exc)
        email = self.email
        if email:
            try:
                send_email(email, scrub(title), scrub(details)[:MAX_TEXT], self.smtp_password)
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


def send_email(email: AlertEmail, title: str, details: str, password: str | None) -> None:
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
            smtp.login(email.username, password or "")
        smtp.send_message(message)
