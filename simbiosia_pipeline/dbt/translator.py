"""How dbt nodes become Dagster assets and checks.

Assets: grouped by dbt folder, a code version per model (an edited model shows as changed); their
owners come from ``dbt_project.yml`` (``meta.dagster.owners``). Checks: each dbt test's own
description when its YAML gives one, else a sentence said from the generic test and its arguments
(``unique``, ``not_null``, ``accepted_values``, ``relationships`` and this project's
``non_negative`` and ``unique_combination``), so every check says what it guards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

# dbt folders -> Dagster asset groups
GROUP_OF_FOLDER = {"staging": "attribution", "marts": "costs"}


class CostModelsTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
        )

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folder = dbt_resource_props.get("fqn", [None, None])[1]
        return GROUP_OF_FOLDER.get(folder) or super().get_group_name(dbt_resource_props)

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        checksum = dbt_resource_props.get("checksum") or {}
        return checksum.get("checksum") or super().get_code_version(dbt_resource_props)

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        description = (test.get("description") or "").strip() or describe_generic_test(test)
        return spec._replace(description=description)


def describe_generic_test(test: Mapping[str, Any]) -> str | None:
    """A sentence for a generic dbt test from its name and arguments; None for another kind."""
    metadata = test.get("test_metadata") or {}
    arguments = metadata.get("kwargs") or {}
    column = f"`{arguments.get('column_name')}`"
    columns = ", ".join(f"`{name}`" for name in arguments.get("columns") or [])
    sentence = {
        "unique": lambda: f"No two rows share {column}.",
        "not_null": lambda: f"{column} is never null.",
        "accepted_values": lambda: (
            f"{column} is one of: {', '.join(map(str, arguments.get('values', [])))}."
        ),
        "relationships": lambda: (
            f"Every {column} exists as `{arguments.get('field')}` in "
            f"{_relation(arguments.get('to'))}."
        ),
        "non_negative": lambda: (
            f"No negative value in {columns}"
            + (", nor a null one." if arguments.get("allow_null") is False else ".")
        ),
        "unique_combination": lambda: f"One row per ({columns}).",
    }.get(metadata.get("name"))
    if sentence is None:
        return None
    where = (test.get("config") or {}).get("where")
    return sentence() + (f" (Rows where {where}.)" if where else "")


def _relation(reference: str | None) -> str:
    """``source('directory', 'workspaces')`` -> ``directory.workspaces``; ``ref('x')`` -> ``x``."""
    names = re.findall(r"'([^']+)'", reference or "")
    return f"`{'.'.join(names)}`" if names else str(reference)


TRANSLATOR = CostModelsTranslator()
