"""Where the dbt project is, and its manifest prepared ahead of time (never at import).

A source checkout runs the project in ``dbt_project/`` beside the package; an installed wheel
runs the copy shipped inside the package (``simbiosia_pipeline/dbt/dbt_project``, with its
manifest), which ``python -m simbiosia_pipeline.dbt.project package`` writes before the wheel is
built (``make wheel``).

The manifest is what Dagster reads to know the dbt assets, so it must exist when the code
location is imported. It is prepared at install time (``make``), by the test session, and under
``dagster dev`` when a model changed (Dagster's ``prepare_if_dev`` convention) — a plain import
only checks it and says what to run when it is missing.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from simbiosia_pipeline.settings import PACKAGE_DIR, PROJECT_DIR, ConfigurationError

CHECKOUT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
PACKAGED_PROJECT_DIR = PACKAGE_DIR / "dbt" / "dbt_project"
# What a copy of the project needs to run: its sources, and the manifest Dagster reads.
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")
PREPARE_COMMAND = f"{Path(sys.executable).parent / 'python'} -m simbiosia_pipeline.dbt.project"

logger = logging.getLogger(__name__)


def project_dir() -> Path:
    """The checkout's ``dbt_project/`` when there is one (edits there are what runs), else the
    copy inside the installed package."""
    if (CHECKOUT_PROJECT_DIR / "dbt_project.yml").exists():
        return CHECKOUT_PROJECT_DIR
    return PACKAGED_PROJECT_DIR


DBT_PROJECT = DbtProject(project_dir=project_dir())


def dbt_executable() -> str:
    """``simbiosia-dbt`` beside the running interpreter: dbt started with the run's environment
    (see ``launcher``), and no PATH set-up ever needed."""
    return str(Path(sys.executable).parent / "simbiosia-dbt")


def plain_dbt_executable() -> str:
    """dbt itself, beside the running interpreter."""
    beside_interpreter = Path(sys.executable).parent / "dbt"
    return str(beside_interpreter) if beside_interpreter.exists() else "dbt"


def project_sources(directory: Path) -> list[Path]:
    """The files whose change changes the manifest."""
    return [directory / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "tests")
        for path in sorted((directory / folder).rglob("*"))
        if path.suffix in {".sql", ".yml"}
    ]


def manifest_is_stale(project: DbtProject = DBT_PROJECT) -> bool:
    """Whether the manifest is missing or older than one of the project's sources."""
    if not project.manifest_path.exists():
        return True
    parsed_at = project.manifest_path.stat().st_mtime
    return any(path.stat().st_mtime > parsed_at for path in project_sources(project.project_dir))


def prepare(project: DbtProject = DBT_PROJECT) -> None:
    """Parse the project into ``target/manifest.json`` if it is missing or stale.

    A file lock keeps concurrent preparers (test workers, ``dagster dev`` reloads) from parsing
    over each other. Plain ``dbt parse``: the CLI resource would first ask ``dbt --version``.
    """
    if not manifest_is_stale(project):
        return
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with project.manifest_path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project):  # another process may have parsed while we waited
            subprocess.run(  # noqa: S603 - our own dbt, with arguments we build
                [
                    plain_dbt_executable(),
                    "parse",
                    "--quiet",
                    "--project-dir",
                    str(project.project_dir),
                    "--profiles-dir",
                    str(project.profiles_dir),
                    "--target-path",
                    str(project.project_dir / project.target_path),
                ],
                check=True,
            )


def prepare_if_dev(project: DbtProject = DBT_PROJECT) -> None:
    """Under ``dagster dev``, pick up edited models (Dagster's ``prepare_if_dev`` convention)."""
    if using_dagster_dev():
        prepare(project)


def require_manifest(project: DbtProject = DBT_PROJECT) -> DbtProject:
    """The project, once its manifest is known to exist; a stale one is only warned about."""
    prepare_if_dev(project)
    if not project.manifest_path.exists():
        raise ConfigurationError(
            f"the dbt manifest {project.manifest_path} is missing: prepare it with "
            f"`{PREPARE_COMMAND}` (`make` does it on install)"
        )
    if manifest_is_stale(project):
        logger.warning(
            "the dbt manifest is older than the dbt project: run `%s` to pick up the changes",
            PREPARE_COMMAND,
        )
    return project


def package(source: Path = CHECKOUT_PROJECT_DIR, destination: Path = PACKAGED_PROJECT_DIR) -> None:
    """Copy the prepared project and its manifest into the package, to be shipped in the wheel.

    Dagster's ``dagster-dbt project prepare-and-package`` does the same for a ``DbtProject``
    with ``packaged_project_dir``; ours keeps the checkout's project first while developing.
    """
    prepare(DbtProject(project_dir=source))
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    for name in PROJECT_SOURCES:
        copy = shutil.copytree if (source / name).is_dir() else shutil.copy2
        copy(source / name, destination / name)
    (destination / "target").mkdir()
    shutil.copy2(source / "target" / "manifest.json", destination / "target" / "manifest.json")


def main(arguments: list[str]) -> None:
    """``python -m simbiosia_pipeline.dbt.project [package]``: prepare the checkout's manifest;
    with ``package``, also copy the project into the package (before building a wheel)."""
    if arguments == ["package"]:
        package()
        print(f"dbt project prepared and packaged in {PACKAGED_PROJECT_DIR}")
    else:
        prepare(DbtProject(project_dir=CHECKOUT_PROJECT_DIR))
        print(f"dbt manifest prepared in {CHECKOUT_PROJECT_DIR / 'target'}")


if __name__ == "__main__":
    main(sys.argv[1:])
