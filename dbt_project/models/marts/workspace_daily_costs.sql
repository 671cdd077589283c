{#- Per workspace and day of the reporting time zone (var reporting_tz, SIMBIOSIA_REPORTING_TZ):
    what finance bills and watches. Days are local calendar days, so a DST change gives a day of
    23 or 25 hours, as the wall clock does. Each source counts under its own attribution, so the
    sums agree with the hourly snapshots. A view over staging: always current.

    Completeness: hours_loaded of hours_expected come from daily_completeness (the hours both raw
    sources ingested); a day with hours missing has is_complete false, and its totals are not the
    day's spend yet. pending_costs counts the records whose cost may still change. Amounts are
    exact NUMERIC: round them where they are shown, never here. -#}
{{ config(materialized='view') }}

with twilio_days as (
    select
        workspace_id,
        (event_time at time zone {{ reporting_tz_literal() }})::date as day,
        count(*) as calls,
        sum(billable_minutes) as billable_minutes,
        coalesce(sum(cost_usd), 0) as twilio_usd,
        count(*) filter (where cost_pending) as unpriced_calls,
        count(*) filter (where is_unconverted) as unconverted_calls
    from {{ ref('stg_twilio_calls') }}
    group by 1, 2
),

elevenlabs_days as (
    select
        workspace_id,
        (start_time at time zone {{ reporting_tz_literal() }})::date as day,
        count(*) as conversations,
        coalesce(sum(cost), 0) as elevenlabs_credits,
        coalesce(sum(cost_usd), 0) as elevenlabs_usd,
        count(*) filter (where not is_final) as unsettled_conversations
    from {{ ref('stg_elevenlabs_conversations') }}
    group by 1, 2
),

workspace_days as (
    select
        coalesce(twilio_days.workspace_id, elevenlabs_days.workspace_id) as workspace_id,
        coalesce(twilio_days.day, elevenlabs_days.day) as day,
        twilio_days.calls,
        twilio_days.billable_minutes,
        twilio_days.twilio_usd,
        twilio_days.unpriced_calls,
        twilio_days.unconverted_calls,
        elevenlabs_days.conversations,
        elevenlabs_days.elevenlabs_credits,
        elevenlabs_days.elevenlabs_usd,
        elevenlabs_days.unsettled_conversations
    from twilio_days
    full join elevenlabs_days
        on elevenlabs_days.workspace_id = twilio_days.workspace_id
        and elevenlabs_days.day = twilio_days.day
)

select
    workspace_days.workspace_id,
    workspaces.name as workspace_name,
    workspace_days.day,
    {{ reporting_tz_literal() }}::text as time_zone,
    coalesce(calls, 0) as calls,
    coalesce(conversations, 0) as conversations,
    coalesce(billable_minutes, 0) as billable_minutes,
    coalesce(twilio_usd, 0) as twilio_usd,
    coalesce(elevenlabs_credits, 0) as elevenlabs_credits,
    coalesce(elevenlabs_usd, 0) as elevenlabs_usd,
    coalesce(twilio_usd, 0) + coalesce(elevenlabs_usd, 0) as total_usd,
    coalesce(unpriced_calls, 0) as unpriced_calls,
    coalesce(unsettled_conversations, 0) as unsettled_conversations,
    coalesce(unconverted_calls, 0) as unconverted_calls,
    coalesce(unpriced_calls, 0) + coalesce(unsettled_conversations, 0) as pending_costs,
    coalesce(completeness.hours_loaded, 0) as hours_loaded,
    {{ hours_in_reporting_day('workspace_days.day') }} as hours_expected,
    coalesce(completeness.hours_loaded, 0) = {{ hours_in_reporting_day('workspace_days.day') }}
        as is_complete
from workspace_days
left join {{ source('directory', 'workspaces') }} as workspaces
    on workspaces.id = workspace_days.workspace_id
left join {{ ref('daily_completeness') }} as completeness
    on completeness.day = workspace_days.day
