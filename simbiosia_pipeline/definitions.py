"""The Dagster code location: every asset, check, schedule, sensor and resource of the project.

Loading this module never touches the network or the database — resources resolve their
connections when a run starts — so ``dagster dev -w workspace.yaml`` works on a fresh checkout
with no environment variables set.
"""

from __future__ import annotations

import dagster as dg

from simbiosia_pipeline.assets.directory import workspace_directory
from simbiosia_pipeline.assets.raw import api_retry_policy, raw_assets
from simbiosia_pipeline.assets.reconciliation import billing_days
from simbiosia_pipeline.assets.usage import usage_assets
from simbiosia_pipeline.automation.abandoned import abandoned_runs_sensor
from simbiosia_pipeline.automation.alerts import AlertChannels
from simbiosia_pipeline.automation.budgets import budget_alert_sensor
from simbiosia_pipeline.automation.failure_alerts import (
    check_failure_alert_sensor,
    run_failure_alert_sensor,
)
from simbiosia_pipeline.automation.freshness import freshness_sensor
from simbiosia_pipeline.automation.jobs import (
    directory_job,
    hourly_pipeline_job,
    reconciliation_job,
    restate_attribution_job,
)
from simbiosia_pipeline.automation.lookback import lookback_restatement_sensor
from simbiosia_pipeline.automation.reattribution import (
    directory_restatement_sensor,
    workspaces_file_sensor,
)
from simbiosia_pipeline.automation.schedules import (
    catch_up_schedule,
    hourly_schedule,
    reconciliation_schedule,
)
from simbiosia_pipeline.automation.settlement import settlement_sensor
from simbiosia_pipeline.automation.status import schedule_status, sensor_status
from simbiosia_pipeline.dbt.assets import cost_views, hourly_cost_models
from simbiosia_pipeline.dbt.resources import dbt_resource
from simbiosia_pipeline.pipeline_settings import PipelineSettings
from simbiosia_pipeline.settings import Settings, SourceMode
from simbiosia_pipeline.sources import elevenlabs, twilio
from simbiosia_pipeline.sources.resources import LiveApis, SourceApis
from simbiosia_pipeline.warehouse.resource import WarehouseResource


def source_apis(settings: Settings) -> SourceApis:
    """The real APIs or their double, for ``SIMBIOSIA_SOURCE`` (read when the code location
    loads). The simulator is imported in sandbox mode only: production never loads it."""
    twilio_url, elevenlabs_url = settings.twilio_base_url, settings.elevenlabs_base_url
    if settings.source is SourceMode.LIVE:
        return LiveApis(
            twilio_account_sid=dg.EnvVar("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=dg.EnvVar("TWILIO_AUTH_TOKEN"),
            elevenlabs_api_key=dg.EnvVar("ELEVENLABS_API_KEY"),
            twilio_base_url=twilio_url or twilio.DEFAULT_BASE_URL,
            elevenlabs_base_url=elevenlabs_url or elevenlabs.DEFAULT_BASE_URL,
            elevenlabs_concurrency=settings.elevenlabs_concurrency,
            elevenlabs_reserved_concurrency=settings.elevenlabs_reserved_concurrency,
        )
    from simbiosia_pipeline.sandbox.resource import SandboxApis

    return SandboxApis(
        history_start=settings.start_datetime.isoformat(),
        twilio_base_url=twilio_url,
        elevenlabs_base_url=elevenlabs_url,
        elevenlabs_concurrency=settings.elevenlabs_concurrency,
        elevenlabs_reserved_concurrency=settings.elevenlabs_reserved_concurrency,
    )


# Twilio and ElevenLabs ingestion run side by side; dbt waits for both. Set explicitly: the
# default is the host's CPU count, not the container's. Each step runs in a process forked from
# a server that has imported this code location once: it starts in well under a second instead
# of the 4-8 s a fresh interpreter takes to import Dagster, dbt and the definitions. The module
# is named: Dagster's documented default ("the job's module") never applies — its config reader
# turns a missing `preload_modules` into an empty list — and each step imported everything again.
EXECUTOR = dg.multiprocess_executor.configured(
    {
        "max_concurrent": 2,
        "start_method": {"forkserver": {"preload_modules": [__name__]}},
    }
)

# Read and checked once, when the code location loads (a bad value: it does not load, naming it);
# runs and sensors receive the values as resources, shown in the UI's resource config.
SETTINGS = Settings.from_env()
API_RETRY_POLICY = api_retry_policy(SETTINGS)
RAW_ASSETS = twilio_calls, elevenlabs_conversations = raw_assets(API_RETRY_POLICY)
# What the providers bill, per UTC day, and the reconciliation of those days with our sums.
USAGE_ASSETS = twilio_usage_records, elevenlabs_usage = usage_assets(API_RETRY_POLICY)
DAILY_ASSETS = [*USAGE_ASSETS, billing_days]
SENSOR_STATUS = sensor_status(SETTINGS.automation_enabled)
SCHEDULE_STATUS = schedule_status(SETTINGS.automation_enabled)
HOURLY_JOB = hourly_pipeline_job(dg.AssetSelection.assets(*RAW_ASSETS, hourly_cost_models))
DIRECTORY_JOB = directory_job(workspace_directory)
RESTATE_JOB = restate_attribution_job(hourly_cost_models)
RECONCILIATION_JOB = reconciliation_job(dg.AssetSelection.assets(*DAILY_ASSETS))

defs = dg.Definitions(
    assets=[*RAW_ASSETS, workspace_directory, hourly_cost_models, cost_views, *DAILY_ASSETS],
    jobs=[HOURLY_JOB, DIRECTORY_JOB, RESTATE_JOB, RECONCILIATION_JOB],
    schedules=[
        hourly_schedule(HOURLY_JOB, status=SCHEDULE_STATUS),
        catch_up_schedule(HOURLY_JOB, status=SCHEDULE_STATUS),
        reconciliation_schedule(RECONCILIATION_JOB, status=SCHEDULE_STATUS),
    ],
    sensors=[
        settlement_sensor(HOURLY_JOB, status=SENSOR_STATUS),
        budget_alert_sensor(status=SENSOR_STATUS),
        workspaces_file_sensor(DIRECTORY_JOB, status=SENSOR_STATUS),
        directory_restatement_sensor(RESTATE_JOB, status=SENSOR_STATUS),
        lookback_restatement_sensor(RESTATE_JOB, status=SENSOR_STATUS),
        run_failure_alert_sensor(status=SENSOR_STATUS),
        check_failure_alert_sensor(status=SENSOR_STATUS),
        freshness_sensor([asset.key for asset in RAW_ASSETS], status=SENSOR_STATUS),
        abandoned_runs_sensor(status=SENSOR_STATUS),
    ],
    resources={
        "apis": source_apis(SETTINGS),
        "settings": PipelineSettings.from_settings(SETTINGS),
        "alerts": AlertChannels.from_settings(SETTINGS),
        "warehouse": WarehouseResource(),
        "dbt": dbt_resource(),
    },
    executor=EXECUTOR,
)
