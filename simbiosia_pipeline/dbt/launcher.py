"""``simbiosia-dbt``: dbt, started with the environment its invocation was given.

dagster-dbt's ``DbtCliResource.cli`` (0.29) has no ``env`` option: it starts dbt with a copy of
the Dagster process's own ``os.environ``. Rather than change that environment for everyone in the
process, each invocation gets a private directory (``resources.dbt_invocation``) whose
``environment.json`` names the warehouse, the window and the settings; dagster-dbt points dbt's
target path inside it (``DBT_TARGET_PATH``), and this launcher applies the file in the dbt
process alone, then hands over to dbt's own command line. Without such a file (``--version``,
a hand-run command) it is plain dbt.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

ENVIRONMENT_FILE = "environment.json"


def environment_file(target_path: Path) -> Path:
    """Where the environment of the invocation whose dbt target path is ``target_path`` lies."""
    return target_path.parent / ENVIRONMENT_FILE


def apply_invocation_environment(environ: MutableMapping[str, str]) -> None:
    """Set the invocation's variables (``set`` wins over inherited values, ``defaults`` do not)."""
    target_path = environ.get("DBT_TARGET_PATH")
    if not target_path or not environment_file(Path(target_path)).exists():
        return
    variables = json.loads(environment_file(Path(target_path)).read_text())
    environ.update(variables["set"])
    for name, value in variables["defaults"].items():
        environ.setdefault(name, value)


def main() -> None:
    apply_invocation_environment(os.environ)
    # imported once the environment is in place: all of dbt then starts from it
    from dbt.cli.main import cli

    sys.exit(cli())
