"""How dbt nodes become Dagster assets: groups by folder, a code version per model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

# dbt folders -> Dagster asset groups
GROUP_OF_FOLDER = {"staging": "attribution", "marts": "costs"}


class CostModelsTranslator(DagsterDbtTranslator):
    """Groups by dbt folder, and a code version per model so an edited model shows as changed."""

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


TRANSLATOR = CostModelsTranslator()
