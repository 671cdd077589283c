"""Where the dbt project is, and that loading the code location never runs dbt."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from simbiosia_pipeline.dbt.project import CHECKOUT_PROJECT_DIR, DBT_PROJECT, manifest_is_stale


def test_a_checkout_runs_its_own_dbt_project_with_a_prepared_manifest():
    assert DBT_PROJECT.project_dir == CHECKOUT_PROJECT_DIR
    assert not manifest_is_stale(DBT_PROJECT)  # the test session prepared it


def test_importing_the_code_location_runs_no_dbt():
    # (Dagster itself runs `file` at import, through platform.architecture: only dbt is refused.)
    probe = textwrap.dedent(
        """
        import subprocess

        started = subprocess.Popen.__init__

        def refuse_dbt(self, args, *rest, **kwargs):
            assert "dbt" not in str(args), f"dbt was started at import: {args}"
            started(self, args, *rest, **kwargs)

        subprocess.Popen.__init__ = refuse_dbt
        import simbiosia_pipeline.definitions
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_models_folder_says_how_it_is_built():
    models = [
        node
        for node in json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"].values()
        if node["resource_type"] == "model"
    ]
    hourly = {node["name"] for node in models if "hourly" in node["fqn"][:-1]}
    assert hourly == {
        "stg_twilio_calls",
        "stg_elevenlabs_conversations",
        "twilio_snapshots",
        "elevenlabs_snapshots",
        "call_costs",
        "twilio_direction_hours",
        "elevenlabs_llm_usage_hours",
        "unattributed_number_hours",
    }
    for node in models:
        config = node["config"]
        if node["name"] in hourly:
            assert (config["materialized"], config["incremental_strategy"]) == (
                "incremental",
                "window_replace",
            )
            assert (config["on_schema_change"], node["tags"]) == ("fail", ["hourly"])
            assert config["meta"]["window_column"]  # its own: what places a row in the window
        else:
            assert (config["materialized"], node["tags"]) == ("view", [])
    # and no model file repeats what its folder says
    for path in DBT_PROJECT.project_dir.joinpath("models").rglob("*.sql"):
        text = path.read_text()
        assert "incremental_strategy" not in text
        assert "tags=" not in text
