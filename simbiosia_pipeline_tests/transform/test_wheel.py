"""The package as a wheel: installed into a fresh virtual environment, its code location loads,
and the dbt project it runs is the copy inside site-packages — nothing read from this checkout.

Fast and offline: the wheel is built without build isolation (setuptools from our venv), and the
fresh venv reaches the pinned dependencies through a ``.pth`` line naming our venv's
site-packages (whose own ``.pth`` files, the editable install of this checkout among them, are
not processed from there), so only the wheel itself is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

from simbiosia_pipeline.dbt.project import CHECKOUT_PROJECT_DIR, package
from simbiosia_pipeline.settings import PROJECT_DIR

UV = Path(sys.executable).parent / "uv"
PROBE = textwrap.dedent(
    """
    import json, sys
    import simbiosia_pipeline
    from simbiosia_pipeline.definitions import defs
    from simbiosia_pipeline.dbt.project import DBT_PROJECT

    graph = defs.resolve_asset_graph()
    print(json.dumps({
        "package": simbiosia_pipeline.__file__,
        "dbt_project": str(DBT_PROJECT.project_dir),
        "manifest": DBT_PROJECT.manifest_path.exists(),
        "snapshots": graph.has(__import__("dagster").AssetKey(["public", "twilio_snapshots"])),
        "sys_path": sys.path,
    }))
    """
)


def run(args: list, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args[:3]}: {result.stdout[-1500:]}{result.stderr[-3000:]}"
    return result.stdout


def test_the_wheel_carries_the_dbt_project_and_its_code_location_loads_from_it(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT_DIR / name, source / name)
    shutil.copytree(
        PROJECT_DIR / "simbiosia_pipeline",
        source / "simbiosia_pipeline",
        ignore=shutil.ignore_patterns("__pycache__", "dbt_project"),
    )
    package(CHECKOUT_PROJECT_DIR, source / "simbiosia_pipeline" / "dbt" / "dbt_project")
    run([UV, "build", "--offline", "--wheel", "--no-build-isolation", "--python",
         sys.executable, "-o", tmp_path / "dist", "."], cwd=source)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("simbiosia_pipeline-*.whl")

    venv = tmp_path / "venv"
    run([UV, "venv", "--offline", "--python", sys.executable, venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    fresh_site = Path(
        run([python, "-c", "import site; print(site.getsitepackages()[0])"], tmp_path).strip()
    )
    (fresh_site / "pinned_dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    run([UV, "pip", "install", "--offline", "--no-deps", "--python", python, wheel], cwd=tmp_path)

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SIMBIOSIA_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    loaded = json.loads(run([python, "-c", PROBE], cwd=tmp_path, env=env))
    assert loaded["package"].startswith(str(fresh_site))
    assert loaded["dbt_project"] == str(fresh_site / "simbiosia_pipeline" / "dbt" / "dbt_project")
    assert loaded["manifest"] and loaded["snapshots"]
    assert str(PROJECT_DIR) not in loaded["sys_path"]  # the checkout is not importable there
    # Dagster's own loader agrees
    validate = ["definitions", "validate", "-m", "simbiosia_pipeline.definitions"]
    run([python, "-m", "dagster", *validate], cwd=tmp_path, env=env)
    # and the launcher the dbt assets run is installed with it, and starts dbt
    assert "dbt" in run([venv / "bin" / "simbiosia-dbt", "--version"], cwd=tmp_path, env=env)
