"""The workspace directory as an asset: who owns each number and agent, in the warehouse."""

import hashlib

import dagster as dg

from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.warehouse.resource import WarehouseResource
from simbiosia_pipeline.workspaces import load_directory, write_directory

RESTATE_FROM = "restate_from"


@dg.asset(group_name="directory", kinds={"yaml", "postgres"}, owners=["team:data-engineering"])
def workspace_directory(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """The workspaces, the phone numbers and ElevenLabs agents each one owns (with validity
    periods), their budgets, and over time the USD price of an ElevenLabs credit and of a unit of
    each other currency Twilio may price calls in.

    Reads the file named by SIMBIOSIA_WORKSPACES_FILE (default: the sandbox's) and replaces the
    warehouse tables ``workspaces``, ``workspace_phones``, ``workspace_agents``,
    ``workspace_budgets``, ``elevenlabs_credit_rates``, ``currency_rates`` and
    ``workspace_directory`` in one
    transaction: loading the same file again changes nothing (even ``created_at`` stays). An
    invalid file fails with every problem and its line, and the warehouse keeps the previous
    directory.

    Its data version is a hash of what the file says (not of comments or layout). After an edit,
    the metadata ``restate_from`` names the earliest moment whose attribution or currency
    conversion changed, and the
    directory restatement sensor rebuilds the hourly models from there on.
    """
    path = settings.workspaces_path
    directory = load_directory(path)
    with warehouse.connect() as conn:
        summary = write_directory(conn, directory)
    context.log.info(
        f"loaded {summary.workspaces} workspaces and {summary.phone_numbers} numbers from {path}"
    )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(summary.content_hash),
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "workspaces": summary.workspaces,
            "phone_numbers": summary.phone_numbers,
            "phone_assignments": summary.phone_assignments,
            "agents": summary.agents,
            "credit_rates": summary.credit_rates,
            "currency_rates": summary.currency_rates,
            "catch_all_workspace": directory.catch_all_workspace,
            "content_hash": summary.content_hash,
            # Read by the restatement sensor: the history this load re-attributes.
            RESTATE_FROM: summary.restate_from.isoformat() if summary.restate_from else "",
            "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        },
    )
