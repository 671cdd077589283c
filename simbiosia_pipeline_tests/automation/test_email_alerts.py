"""Alerts by email: each arrives at an SMTP server (aiosmtpd, started here on 127.0.0.1) with a
subject that says what happened and no secret — a failed run, a crossed budget — beside the
webhook, through the server's login when one is configured (this server requires it)."""

from __future__ import annotations

import email
from email import policy

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from simbiosia_pipeline.settings import alert_email
from simbiosia_pipeline_tests.automation.test_alerts import (
    FAKE_TOKEN,
    RUN_FAILURE_ALERTS,
    failed_run,
    send_alert,
)
from simbiosia_testing.local_servers import free_port

SMTP_USER, SMTP_PASSWORD = "alerts", "smtp-pa55word-for-tests"
# The test server takes the login without TLS (loopback only); aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Mailbox:
    """Every message the server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    good = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=good)


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch):
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,  # a test server on loopback; production uses STARTTLS (default)
    )
    controller.start()
    monkeypatch.setenv("SIMBIOSIA_ALERT_EMAIL_TO", "finance@example.com, ops@example.com")
    monkeypatch.setenv("SIMBIOSIA_ALERT_EMAIL_FROM", "pipeline@example.com")
    monkeypatch.setenv("SIMBIOSIA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SIMBIOSIA_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("SIMBIOSIA_SMTP_SECURITY", "none")
    monkeypatch.setenv("SIMBIOSIA_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("SIMBIOSIA_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", FAKE_TOKEN)
    yield box
    controller.stop()


def raw_text(box: Mailbox) -> str:
    return "".join(envelope.content.decode(errors="replace") for envelope in box.envelopes)


def test_a_failed_run_is_emailed_beside_the_webhook_without_secrets(mailbox, webhook):
    with dg.instance_for_test() as instance:
        RUN_FAILURE_ALERTS(failed_run(instance))
    assert len(mailbox.messages) == 1 and len(webhook.texts) == 1
    message = mailbox.messages[0]
    assert message["Subject"].startswith("[Simbiosia alert] Run failed: leaky_job")
    assert message["To"] == "finance@example.com, ops@example.com"
    assert mailbox.envelopes[0].rcpt_tos == ["finance@example.com", "ops@example.com"]
    assert "leaky_job" in message.get_content()
    text = raw_text(mailbox)
    assert FAKE_TOKEN not in text and SMTP_PASSWORD not in text


def test_a_budget_alert_is_emailed(mailbox, monkeypatch):
    monkeypatch.delenv("SIMBIOSIA_ALERT_WEBHOOK_URL", raising=False)
    send_alert(
        "Budget crossed: workspace 4",
        "Workspace 4 (Workspace Principal) spent $61.20 in day 2025-10-08, over its budget "
        "of $50.00",
    )
    (message,) = mailbox.messages
    assert message["Subject"] == "[Simbiosia alert] Budget crossed: workspace 4"
    assert "$61.20" in message.get_content()


def test_no_address_no_email():
    assert alert_email({}) is None
    settings = alert_email({"SIMBIOSIA_ALERT_EMAIL_TO": "a@example.com"})
    assert (settings.host, settings.port, settings.security) == ("localhost", 587, "starttls")
