"""The Dagster UI in a real browser, after a three-day ranged run: an hour's partition shows that
hour's own figures, not the window's, and the snapshot asset shows each hour's cost.
`dagster-webserver` and the project's daemon are started by the test on an instance in
PostgreSQL; the run is `simbiosia backfill` over 72 hours in one run (the whole hourly job).
Screenshots go to ``test-artifacts/dagster-ui/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest

from simbiosia_pipeline.sandbox import WORKSPACES_FILE, Sandbox, SandboxConfig, start_sandbox_server
from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_pipeline.warehouse.connection import connect
from simbiosia_pipeline.workspaces import load_directory, write_directory
from simbiosia_pipeline_tests.browser import browser_for_module, require_chromium
from simbiosia_testing.dagster_services import dagster_services, pipeline_env
from simbiosia_testing.local_servers import create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "dagster-ui"
BIN = Path(sys.executable).parent
# Recent days, not fixed dates: Dagster 1.13 plots an asset by partition over its last 120
# partitions up to now (the Overview's Metadata → Plots), so older hours would not be drawn.
NOW = datetime.now(UTC).replace(hour=6, minute=30, second=0, microsecond=0) - timedelta(days=1)
END = NOW.replace(hour=0, minute=0)
START = END - timedelta(days=3)
HOURS = (START + timedelta(days=1, hours=3), START + timedelta(days=2, hours=11))  # quiet, busy
WAIT = 90


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """The webserver's URL, after `simbiosia backfill` loaded three days in one run; and the
    warehouse's URL."""
    require_chromium()
    sandbox = Sandbox(
        SandboxConfig(seed=17, scale=0.5, now=NOW, history_start=START - timedelta(days=2))
    )
    warehouse, dagster_db = create_database(), create_database("simbiosia_dagster")
    with connect(warehouse) as conn:
        write_directory(conn, load_directory(WORKSPACES_FILE))
    home = tmp_path_factory.mktemp("dagster_home")
    try:
        with start_sandbox_server(sandbox) as server:
            env = pipeline_env(warehouse, dagster_db, server.url)
            with dagster_services(env, home) as graphql:
                backfill = subprocess.run(
                    [str(BIN / "simbiosia"), "backfill", START.strftime("%Y-%m-%dT%H:%M"),
                     END.strftime("%Y-%m-%dT%H:%M"), "--chunk-hours", "72"],
                    env={**os.environ, **env, "DAGSTER_HOME": str(home),
                         "SIMBIOSIA_HOME": str(tmp_path_factory.mktemp("simbiosia_home"))},
                    capture_output=True, text=True, timeout=1200,
                )  # fmt: skip
                assert backfill.returncode == 0, backfill.stderr[-3000:]
                assert "1/1 runs succeeded" in backfill.stdout
                yield graphql.base_url, warehouse
    finally:
        drop_database(warehouse)
        drop_database(dagster_db)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from browser_for_module(tmp_path_factory, ARTIFACTS)


def snapshot_hour(warehouse: str, hour: datetime) -> tuple[int, Decimal]:
    """The hour's calls and USD over every workspace, as twilio_snapshots stores them."""
    with connect(warehouse) as conn:
        return conn.execute(
            "SELECT coalesce(sum(total_calls), 0), coalesce(sum(total_cost), 0)"
            " FROM public.twilio_snapshots WHERE snapshot_date = %s",
            (hour,),
        ).fetchone()


def stored_calls(warehouse: str, hour: datetime) -> int:
    with connect(warehouse) as conn:
        return conn.execute(
            "SELECT count(*) FROM raw.twilio_calls WHERE event_time >= %s AND event_time < %s",
            (hour, hour + timedelta(hours=1)),
        ).fetchone()[0]


def metadata_value(driver, label: str) -> str:
    """The value beside ``label`` in the partition's metadata table."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cell = WebDriverWait(driver, WAIT, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.XPATH, f"//tr[td[1][normalize-space()='{label}']]/td[2]"),
        message=f"metadata {label!r}",
    )
    return cell[0].text.strip()


def dismiss_welcome(driver) -> None:
    """The webserver greets a new browser with a "Join the Dagster community" dialog: skip it."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        button.click()


def screenshot(driver, name: str) -> None:
    time.sleep(1.5)  # the page's charts and tables finish drawing
    dismiss_welcome(driver)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    (ARTIFACTS / f"{name}.html").write_text(driver.page_source)


def test_an_hours_partition_shows_that_hours_row_count(ui, browser):
    base, warehouse = ui
    counts = set()
    for hour in HOURS:
        key = hour.strftime("%Y-%m-%d-%H:%M")
        browser.get(f"{base}/assets/raw/twilio_calls?view=partitions&partition={quote(key)}")
        expected = stored_calls(warehouse, hour)
        shown = metadata_value(browser, "rows")
        screenshot(browser, f"twilio_calls-partition-{key.replace(':', '')}")
        assert int(shown.replace(",", "")) == expected, (key, shown, expected)
        counts.add(expected)
    assert len(counts) == 2  # a quiet hour and a busy one: each its own, not the window's


def show_plots_by_partition(driver) -> None:
    """Dagster 1.13's plots of an asset (it has no Plots tab): the Overview's Metadata section,
    "Plots", by "Partitions" (the default for a partitioned asset) — one chart per numeric
    metadata entry, a point per partition."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dismiss_welcome(driver)
    WebDriverWait(driver, WAIT, poll_frequency=1).until(
        lambda d: d.find_elements(By.XPATH, "//button[normalize-space()='Plots']"), "Plots"
    )[0].click()


def plot_titles(driver) -> set[str]:
    """The titles of the charts drawn by partition (the note under them says they are)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    note = "//*[contains(text(), 'When graphing values by partition')]"
    WebDriverWait(driver, WAIT, poll_frequency=0.5).until(
        lambda d: d.find_elements(By.XPATH, note), "the plots by partition"
    )
    grids = driver.find_elements(By.XPATH, "//div[contains(@style, 'grid-template-columns')]")
    cells = [cell.text.strip() for grid in grids for cell in grid.find_elements(By.XPATH, "./div")]
    return {text.splitlines()[0] for text in cells if text}


def test_the_snapshot_assets_partition_shows_that_hours_calls_and_cost(ui, browser):
    """What the hour cost sits on the asset that holds it, and its plots draw each hour's cost
    (Dagster 1.13 has no Plots tab on the asset page: its plots are the Overview's metadata
    plots, by partition)."""
    base, warehouse = ui
    busy = HOURS[1]
    key = busy.strftime("%Y-%m-%d-%H:%M")
    browser.get(f"{base}/assets/public/twilio_snapshots?view=partitions&partition={quote(key)}")
    calls, cost_usd = snapshot_hour(warehouse, busy)
    shown_calls = metadata_value(browser, "calls")
    screenshot(browser, f"twilio_snapshots-partition-{key.replace(':', '')}")
    assert int(shown_calls.replace(",", "")) == calls > 0
    # a float in Dagster's metadata (plotted), shown as it prints: the stored sum to the digit
    assert Decimal(metadata_value(browser, "cost_usd").replace(",", "")) == cost_usd > 0

    browser.get(f"{base}/assets/public/twilio_snapshots?view=overview")
    show_plots_by_partition(browser)
    titles = plot_titles(browser)
    screenshot(browser, "twilio_snapshots-plots-by-partition")
    assert {"calls", "cost_usd", "minutes"} <= titles, titles
    assert "Execution Duration" not in titles  # the ranged build's, not an hour's
