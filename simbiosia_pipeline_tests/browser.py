"""Debian's chromium driven by Selenium, headless: the browser of every page test.

``make browser`` installs chromium and chromium-driver when they are missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def require_chromium() -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are missing: run `make browser`")


def chrome(downloads: Path, window: str = "1600,2000"):
    """A headless chromium saving downloads under ``downloads``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     f"--window-size={window}", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.downloads = downloads
    return driver


def browser_for_module(tmp_path_factory, artifacts: Path) -> Iterator:
    """A module's browser (a fixture's body): downloads in a temporary folder, and ``artifacts``
    emptied for the module's screenshots; closed after the module."""
    driver = chrome(tmp_path_factory.mktemp("downloads"))
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    yield driver
    driver.quit()
