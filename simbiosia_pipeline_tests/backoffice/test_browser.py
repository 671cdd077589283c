"""The backoffice in a real browser: `simbiosia backoffice` serving the three-day warehouse,
Debian's chromium driven by Selenium. A wrong password is refused; then the overview for
workspace 4 and the last 7 days shows the truth's cards, its CSV download equals the truth at
full precision, and the calls page finds a number. Then Streamlit's OIDC login, through a real
OpenID Connect provider started by the test. Every page is saved as a screenshot under
``test-artifacts/backoffice/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import csv
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline_tests.backoffice.conftest import NOW
from simbiosia_pipeline_tests.backoffice.test_pages import (
    CARD_FORMATS,
    LAST_7,
    TABLE_COLUMNS,
    expected_cards,
    phone_calls_of,
)
from simbiosia_pipeline_tests.browser import browser_for_module, require_chromium
from simbiosia_testing.local_servers import free_port

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "backoffice"
PASSWORD = "browser-test-pa55phrase"
OIDC_USER = "finance@simbiosia.example"
BIN = Path(sys.executable).parent
WAIT = 60


def backoffice_env(warehouse, **more: str) -> dict[str, str]:
    """What `simbiosia backoffice` is started with: the dashboard role, the sandbox's clock, no
    Dagster webserver (nothing listens on the port), and ``more``."""
    return {
        **os.environ,
        "SIMBIOSIA_BACKOFFICE_DATABASE_URL": warehouse.dashboard_url,
        "SIMBIOSIA_BACKOFFICE_NOW": NOW.isoformat(),
        "SIMBIOSIA_REPORTING_TZ": "Europe/Madrid",
        "SIMBIOSIA_DAGSTER_URL": f"http://127.0.0.1:{free_port()}",
        **more,
    }


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[None]:
    """``command`` running with its output in ``log``, once ``ready`` (a URL) answers 200."""
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                try:
                    if httpx.get(ready, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                time.sleep(0.3)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def backoffice(env: dict[str, str], log: Path) -> tuple[AbstractContextManager, str]:
    """`simbiosia backoffice` on a free loopback port, and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "simbiosia"), "backoffice", "--port", str(port)]
    return serving(command, env, log, f"{url}/_stcore/health"), url


@pytest.fixture(scope="module")
def served(backoffice_warehouse, tmp_path_factory):
    """`simbiosia backoffice` with a password."""
    require_chromium()
    log = tmp_path_factory.mktemp("backoffice") / "backoffice.log"
    server, url = backoffice(
        backoffice_env(backoffice_warehouse, SIMBIOSIA_BACKOFFICE_PASSWORD=PASSWORD), log
    )
    with server:
        yield url, log
    assert PASSWORD not in log.read_text()  # nothing of the login in the server's log


@dataclass(frozen=True)
class OidcLogin:
    url: str
    log: Path
    client_secret: str
    cookie_secret: str


@pytest.fixture(scope="module")
def served_with_oidc(backoffice_warehouse, tmp_path_factory):
    """A real OpenID Connect provider (oidc-provider-mock, its own process) on a loopback port,
    requiring registered clients; the backoffice registered with it, configured through
    Streamlit's ``[auth]`` secrets in the ``~/.streamlit`` of a home of its own (where the
    launcher and Streamlit look), and no password."""
    require_chromium()
    folder = tmp_path_factory.mktemp("backoffice_oidc")
    issuer = f"http://127.0.0.1:{free_port()}"
    provider = [
        sys.executable, "-m", "oidc_provider_mock",
        "--host", "127.0.0.1", "--port", issuer.rsplit(":", 1)[1],
        "--require-registration", "true",
        "--user-claims", json.dumps({"sub": OIDC_USER, "email": OIDC_USER, "name": "Finance"}),
    ]  # fmt: skip
    metadata = f"{issuer}/.well-known/openid-configuration"
    with serving(provider, dict(os.environ), folder / "provider.log", metadata):
        home = folder / "home"
        env = backoffice_env(backoffice_warehouse, HOME=str(home))
        env.pop("SIMBIOSIA_BACKOFFICE_PASSWORD", None)
        server, url = backoffice(env, folder / "backoffice.log")
        registered = httpx.post(
            httpx.get(metadata).json()["registration_endpoint"],
            json={"redirect_uris": [f"{url}/oauth2callback"]},
        ).json()
        login = OidcLogin(url, folder / "backoffice.log", registered["client_secret"],
                          secrets.token_urlsafe(32))  # fmt: skip
        (home / ".streamlit").mkdir(parents=True)
        (home / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            + "".join(
                f"{key} = {json.dumps(value)}\n"  # a JSON string is a TOML basic string
                for key, value in {
                    "redirect_uri": f"{url}/oauth2callback",
                    "cookie_secret": login.cookie_secret,
                    "client_id": registered["client_id"],
                    "client_secret": login.client_secret,
                    "server_metadata_url": metadata,
                }.items()
            )
        )
        with server:
            yield login
    logged = login.log.read_text()
    assert login.client_secret not in logged and login.cookie_secret not in logged


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from browser_for_module(tmp_path_factory, ARTIFACTS)


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.3).until(condition, message=what)


def settled(driver) -> None:
    """Until Streamlit has finished running the script (its status widget says so)."""
    from selenium.webdriver.common.by import By

    time.sleep(0.5)
    wait_for(
        driver,
        lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'),
        "the app to finish running",
    )
    time.sleep(0.5)


def text_on_page(driver, text: str) -> None:
    wait_for(driver, lambda d: text in d.find_element("tag name", "body").text, f"text {text!r}")


def log_in(driver, password: str) -> None:
    from selenium.webdriver.common.by import By

    field = wait_for(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, 'input[type="password"]'),
        "the password field",
    )
    field.send_keys(password)
    driver.find_element(By.XPATH, "//button[.//p[text()='Log in']]").click()
    settled(driver)


def pick(driver, label: str, option: str) -> None:
    """Choose ``option`` in the Streamlit select box labelled ``label``."""
    from selenium.webdriver.common.by import By

    driver.find_element(
        By.CSS_SELECTOR, f'input[role="combobox"][aria-label="{label}"]'
    ).click()  # Streamlit's select box is a combo box
    wait_for(
        driver,
        lambda d: d.find_element(By.XPATH, f"//*[@role='option'][normalize-space(.)='{option}']"),
        f"option {option}",
    ).click()
    settled(driver)


def cards(driver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    metrics = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')[:8]
    return {
        m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text: m.find_element(
            By.CSS_SELECTOR, '[data-testid="stMetricValue"]'
        ).text
        for m in metrics
    }


def open_page(driver, title: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(
        By.XPATH, f"//a[@data-testid='stSidebarNavLink'][.//p[text()='{title}']]"
    ).click()
    settled(driver)
    text_on_page(driver, title)


def screenshot(driver, name: str) -> None:
    settled(driver)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    (ARTIFACTS / f"{name}.html").write_text(driver.page_source)


def test_the_backoffice_in_a_real_browser(served, browser, backoffice_warehouse):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _log = served
    truth = backoffice_warehouse.truth
    browser.get(url)
    settled(browser)
    screenshot(browser, "0_login")

    log_in(browser, "not the password")
    text_on_page(browser, "Wrong password.")
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')
    screenshot(browser, "1_wrong_password")
    assert PASSWORD not in browser.page_source and "?" not in browser.current_url

    log_in(browser, PASSWORD)
    text_on_page(browser, "Overview")
    screenshot(browser, "2_overview")
    assert "?" not in browser.current_url  # nothing of the login in the query string
    assert PASSWORD not in browser.page_source

    pick(browser, "Workspace", "4 · Workspace Principal")
    text_on_page(browser, "4 · Workspace Principal ·")
    totals = truth.totals(*LAST_7, 4)
    wanted = {label: show(totals[name]) for label, (name, show) in CARD_FORMATS.items()}
    wait_for(browser, lambda d: cards(d) == wanted, f"the cards {wanted}, saw {cards(browser)}")
    screenshot(browser, "3_overview_workspace_4")

    browser.find_element(By.XPATH, "//button[.//p[text()='Download Per day (CSV)']]").click()
    downloaded = browser.downloads / "per_day.csv"
    wait_for(browser, lambda _d: downloaded.exists() and downloaded.stat().st_size, "the CSV")
    with downloaded.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {
        date.fromisoformat(row["Day"]): {
            name: Decimal(row[label]) if name.endswith(("usd", "credits")) else int(row[label])
            for label, name in TABLE_COLUMNS.items()
        }
        for row in rows
    } == truth.per_day(*LAST_7, 4)  # every digit, not rounded

    open_page(browser, "Calls")
    number = "+34 930 340 228"
    search = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Search a number"]')
    search.send_keys(number, Keys.ENTER)
    settled(browser)
    found = [
        phone_call
        for phone_call, call, conversation in phone_calls_of(truth, *LAST_7)
        if (truth.call_workspace.get(phone_call.twilio_call_sid)
            or truth.conversation_workspace.get(phone_call.conversation_id)) == 4
        and "34930340228" in _numbers(call, conversation)
    ]  # fmt: skip
    text_on_page(browser, f"{len(found):,} calls;")
    screenshot(browser, "4_calls_search")

    for title, shows in (
        ("Workspace", "Period comparison"),
        ("Providers", "Twilio by direction"),
        ("Data health", "Unattributed numbers"),
        ("Export", "Download all tables (Excel)"),
        ("Sync now", "Sync is unavailable"),
    ):
        open_page(browser, title)
        text_on_page(browser, shows)
        screenshot(browser, f"5_{title.lower().replace(' ', '_')}")


def _numbers(call, conversation) -> str:
    if call:
        parts = [call.get("from") or "", call.get("to") or ""]
    else:
        phone = conversation["metadata"].get("phone_call") or {}
        parts = [phone.get("agent_number") or "", phone.get("external_number") or ""]
    return " ".join("".join(ch for ch in part if ch.isdigit()) for part in parts)


def test_oidc_login_through_a_real_provider(served_with_oidc, browser, backoffice_warehouse):
    """Streamlit's built-in login against a real OpenID Connect provider: the backoffice shows
    only its "Log in" button; the provider's page signs the user in; back on the backoffice the
    overview shows the truth's cards; no secret in any page, cookie, URL or log; logging out ends
    the session here and at the provider."""
    from selenium.webdriver.common.by import By

    login = served_with_oidc
    browser.get(login.url)
    settled(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')
    screenshot(browser, "oidc_0_log_in")

    browser.find_element(By.XPATH, "//button[.//p[text()='Log in']]").click()
    subject = wait_for(
        browser, lambda d: d.find_element(By.NAME, "sub"), "the provider's authorization page"
    )
    assert not browser.current_url.startswith(login.url)  # the provider's own page
    screenshot(browser, "oidc_1_provider")
    subject.send_keys(OIDC_USER)
    browser.find_element(By.XPATH, "//button[text()='Authorize']").click()

    text_on_page(browser, "Overview")
    settled(browser)
    wanted = expected_cards(backoffice_warehouse.truth, *LAST_7)
    wait_for(browser, lambda d: cards(d) == wanted, f"the cards {wanted}, saw {cards(browser)}")
    screenshot(browser, "oidc_2_overview")
    assert browser.current_url.rstrip("/") == login.url  # no code or state left in the URL
    for secret in (login.client_secret, login.cookie_secret):
        assert secret not in browser.page_source
        assert all(secret not in cookie["value"] for cookie in browser.get_cookies())

    open_page(browser, "Providers")
    assert login.client_secret not in browser.page_source

    # Streamlit ends the session at the provider too (its end_session_endpoint), which asks
    # to confirm and sends the browser back.
    browser.find_element(By.XPATH, "//button[.//p[text()='Log out']]").click()
    wait_for(
        browser,
        lambda d: d.find_element(By.XPATH, "//button[text()='End session']"),
        "the provider's end-session page",
    ).click()
    settled(browser)
    wait_for(
        browser,
        lambda d: d.find_elements(By.XPATH, "//button[.//p[text()='Log in']]"),
        "the log-in button again",
    )
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')
    screenshot(browser, "oidc_3_logged_out")
