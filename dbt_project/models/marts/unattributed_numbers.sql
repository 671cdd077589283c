{#- The numbers whose calls and conversations fell to the catch-all workspace: the operations
    to-do list (add each to the workspaces file, or confirm it belongs to nobody). A number that
    has no E.164 form is listed as it was written. -#}
{{ config(post_hook="{{ grant_to_dashboard_roles() }}") }}

with fallen as (
    select looked_up_number as written, workspace_number, event_time as seen_at,
        1 as twilio_calls, 0 as elevenlabs_conversations
    from {{ ref('stg_twilio_calls') }}
    where attribution_rule = 'catch_all' and looked_up_number is not null
    union all
    select agent_number, workspace_number, start_time, 0, 1
    from {{ ref('stg_elevenlabs_conversations') }}
    where attribution_rule = 'catch_all' and coalesce(agent_number, '') <> ''
)

select
    coalesce(workspace_number, written) as phone_number,
    workspace_number is not null as is_e164,
    sum(twilio_calls) as twilio_calls,
    sum(elevenlabs_conversations) as elevenlabs_conversations,
    count(*) as records,
    min(seen_at) as first_seen,
    max(seen_at) as last_seen
from fallen
group by 1, 2
