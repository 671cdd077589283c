{#- Per workspace and day of the reporting time zone (var reporting_tz, SIMBIOSIA_REPORTING_TZ):
    what finance bills and watches. Days are local calendar days, so a DST change gives a day of
    23 or 25 hours, as the wall clock does. Each source counts under its own attribution, so the
    sums agree with the hourly snapshots. A view over staging: always current. -#}
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
)

select
    coalesce(twilio_days.workspace_id, elevenlabs_days.workspace_id) as workspace_id,
    coalesce(twilio_days.day, elevenlabs_days.day) as day,
    {{ reporting_tz_literal() }}::text as time_zone,
    coalesce(twilio_days.calls, 0) as calls,
    coalesce(elevenlabs_days.conversations, 0) as conversations,
    coalesce(twilio_days.billable_minutes, 0) as billable_minutes,
    coalesce(twilio_days.twilio_usd, 0) as twilio_usd,
    coalesce(elevenlabs_days.elevenlabs_credits, 0) as elevenlabs_credits,
    coalesce(elevenlabs_days.elevenlabs_usd, 0) as elevenlabs_usd,
    coalesce(twilio_days.twilio_usd, 0) + coalesce(elevenlabs_days.elevenlabs_usd, 0) as total_usd,
    coalesce(twilio_days.unpriced_calls, 0) as unpriced_calls,
    coalesce(elevenlabs_days.unsettled_conversations, 0) as unsettled_conversations,
    coalesce(twilio_days.unconverted_calls, 0) as unconverted_calls
from twilio_days
full join elevenlabs_days
    on elevenlabs_days.workspace_id = twilio_days.workspace_id
    and elevenlabs_days.day = twilio_days.day
