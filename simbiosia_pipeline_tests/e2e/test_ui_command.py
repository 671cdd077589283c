"""``simbiosia ui`` on a port already taken: it fails at once, says so, and starts nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import psutil

from simbiosia_pipeline.settings import PROJECT_DIR
from simbiosia_testing.dagster_services import BIN


def started_under(home: str) -> list[psutil.Process]:
    """Processes whose environment points SIMBIOSIA_HOME at ``home`` (the daemon would)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("SIMBIOSIA_HOME") == home:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def test_a_busy_port_fails_at_once_with_a_clear_message_and_nothing_running(tmp_path):
    home = str(tmp_path / "home")
    env = {**os.environ, "SIMBIOSIA_HOME": home}
    for name in ("DAGSTER_HOME", "DAGSTER_PG_URL", "SIMBIOSIA_DATABASE_URL"):
        env.pop(name, None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()
        ui = subprocess.run(
            [str(BIN / "simbiosia"), "ui", "--port", str(port)],
            env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        seconds = time.monotonic() - began
    assert ui.returncode == 1, ui.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in ui.stderr
    assert "Nothing was started" in ui.stderr and "--port" in ui.stderr
    assert seconds < 30  # at once: no start-up, no wait for a server that cannot come up
    assert started_under(home) == []
    assert not (tmp_path / "home" / "dagster").exists()  # not even the instance was prepared
