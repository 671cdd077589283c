{#- unattributed_numbers per UTC hour: each number whose calls or conversations of the hour fell
    to the catch-all workspace, with their counts and when they were first and last seen in it.
    Rebuilt per window like the snapshots, so the backoffice lists a range's numbers from an
    index instead of scanning all of staging. -#}
{{
    config(
        meta={'window_column': 'hour'},
        post_hook="{{ grant_to_dashboard_roles() }}",
        indexes=[{'columns': ['hour']}],
    )
}}

with fallen as (
    select looked_up_number as written, workspace_number, event_time as seen_at,
        1 as twilio_calls, 0 as elevenlabs_conversations
    from {{ ref('stg_twilio_calls') }}
    where {{ in_window('event_time') }}
        and attribution_rule = 'catch_all' and looked_up_number is not null
    union all
    select agent_number, workspace_number, start_time, 0, 1
    from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
        and attribution_rule = 'catch_all' and coalesce(agent_number, '') <> ''
)

select
    date_trunc('hour', seen_at, 'UTC') as hour,
    coalesce(workspace_number, written) as phone_number,
    workspace_number is not null as is_e164,
    sum(twilio_calls)::integer as twilio_calls,
    sum(elevenlabs_conversations)::integer as elevenlabs_conversations,
    count(*)::integer as records,
    min(seen_at) as first_seen,
    max(seen_at) as last_seen
from fallen
group by 1, 2, 3
