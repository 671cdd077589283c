{#- How many records each attribution rule decided, per source: the health of attribution at a
    glance (a growing catch_all means numbers to add to the workspaces file). -#}
select 'twilio' as source, attribution_rule, count(*) as records,
    min(event_time) as first_seen, max(event_time) as last_seen
from {{ ref('stg_twilio_calls') }}
group by attribution_rule

union all

select 'elevenlabs' as source, attribution_rule, count(*) as records,
    min(start_time) as first_seen, max(start_time) as last_seen
from {{ ref('stg_elevenlabs_conversations') }}
group by attribution_rule
