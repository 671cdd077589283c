"""The backoffice in a real browser: `simbiosia backoffice` serving the three-day warehouse,
Debian's chromium driven by Selenium. A wrong password is refused; then the overview for
workspace 4 and the last 7 days shows the truth's cards, its CSV download equals the truth at
full precision, and the calls page finds a number. Every page is saved as a screenshot under
``test-artifacts/backoffice/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
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
    phone_calls_of,
)
from simbiosia_pipeline_tests.browser import browser_for_module, require_chromium
from simbiosia_testing.local_servers import free_port

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "backoffice"
PASSWORD = "browser-test-pa55phrase"
BIN = Path(sys.executable).parent
WAIT = 60


@pytest.fixture(scope="module")
def served(backoffice_warehouse, tmp_path_factory):
    """`simbiosia backoffice` on a free loopback port, with a password."""
    require_chromium()
    port = free_port()
    log = tmp_path_factory.mktemp("backoffice") / "backoffice.log"
    env = {
        **os.environ,
        "SIMBIOSIA_BACKOFFICE_DATABASE_URL": backoffice_warehouse.dashboard_url,
        "SIMBIOSIA_BACKOFFICE_PASSWORD": PASSWORD,
        "SIMBIOSIA_BACKOFFICE_NOW": NOW.isoformat(),
        "SIMBIOSIA_REPORTING_TZ": "Europe/Madrid",
        "SIMBIOSIA_DAGSTER_URL": f"http://127.0.0.1:{free_port()}",  # nothing there
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "simbiosia"), "backoffice", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                time.sleep(0.3)
            yield url, log
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert PASSWORD not in log.read_text()  # nothing of the login in the server's log


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
