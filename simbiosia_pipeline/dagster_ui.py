"""``simbiosia ui``: the Dagster webserver and daemon, quiet in the terminal, and never half up.

What ``dagster dev`` does, with the project's daemon (``daemon.py``: re-execution from failure of
job backfills fixed), which ``dagster dev`` cannot be told to start:

* A busy port fails at once, with the port named and what to do, and nothing started: checked
  before anything starts, because a webserver that cannot bind dies while a daemon would keep
  running schedules and sensors with no UI.
* Webserver and daemon run in one process group of their own, their output in a log file (its
  path is printed): the terminal shows where the UI is, not ~100 log lines a minute. Ctrl-C or
  SIGTERM stops the whole group; so does the webserver's exit.
* They run from the Dagster home, so nothing finds the project's template ``dagster.yaml`` in
  its working directory and warns that it "will not be used".
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from simbiosia_pipeline.settings import PROJECT_DIR, Settings

READY_TIMEOUT_SECONDS = 300
STOPPED = (0, -signal.SIGINT, -signal.SIGTERM)  # the webserver's status when stopped on purpose


class PortInUseError(click.ClickException):
    exit_code = 1


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (as uvicorn binds, SO_REUSEADDR on)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def log_path(settings: Settings | None = None) -> Path:
    return (settings or Settings.from_env()).home / "logs" / "dagster-ui.log"


def commands(host: str, port: int) -> tuple[list[str], list[str]]:
    """The webserver's and the daemon's command lines."""
    workspace = ["-w", str(PROJECT_DIR / "workspace.yaml")]
    webserver = [_beside_python("dagster-webserver"), *workspace, "-h", host, "-p", str(port)]
    daemon = [sys.executable, "-m", "simbiosia_pipeline.daemon", "run", *workspace]
    return webserver, daemon


def serve(host: str, port: int) -> bool:
    """Run the UI until it stops or is stopped; False when it failed."""
    if not port_is_free(host, port):
        raise PortInUseError(
            f"port {port} on {host} is already in use (another `simbiosia ui` or `dagster dev`?). "
            f"Nothing was started. Stop that server, or pick another port: "
            f"simbiosia ui --port {port + 1}"
        )
    from simbiosia_pipeline.instance import prepare_dagster_home

    home = prepare_dagster_home()
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    webserver, daemon = commands(host, port)
    with log.open("ab") as output:
        started = {"cwd": home, "stdout": output, "stderr": subprocess.STDOUT}
        # A process group of their own (in this session: a group can only be joined from its
        # own session), which this process stops whatever happens.
        process = subprocess.Popen(webserver, process_group=0, **started)  # noqa: S603
        with _stopping_group_on(process):
            subprocess.Popen(daemon, process_group=process.pid, **started)  # noqa: S603
            click.echo(f"Dagster UI: http://{host}:{port} (instance {home})")
            click.echo(f"Logs of the webserver and daemon: {log}  — Ctrl-C stops both")
            status = _run_until_stopped(process, host, port)
    if status not in STOPPED:
        click.echo(f"the webserver exited with status {status}; the end of {log}:", err=True)
        click.echo(_tail(log), err=True)
    return status in STOPPED


def _run_until_stopped(process: subprocess.Popen, host: str, port: int) -> int:
    if _wait_until_ready(process, host, port):
        click.echo("ready")
    return process.wait()


def _beside_python(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


@contextlib.contextmanager
def _stopping_group_on(process: subprocess.Popen):
    """Forward SIGINT/SIGTERM to the UI's process group, and stop that group on the way out
    whatever happens (no daemon left behind)."""

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _wait_until_ready(process: subprocess.Popen, host: str, port: int) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    reachable = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 (asked, not bound)
    url = f"http://{reachable}:{port}/server_info"
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    return False


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
