{#- Twilio calls per workspace, UTC hour and direction: the backoffice's Providers page sums a
    range of these instead of a month of calls. The same figures as call_costs' Twilio side
    (a call's workspace, time and USD are staging's), rebuilt exactly for the window like the
    snapshots. -#}
{{
    config(
        meta={'window_column': 'hour'},
        post_hook="{{ grant_to_dashboard_roles() }}",
        indexes=[{'columns': ['hour', 'workspace_id']}],
    )
}}

select
    workspace_id,
    date_trunc('hour', event_time, 'UTC') as hour,
    direction,
    count(*)::integer as calls,
    coalesce(sum(billable_minutes), 0)::integer as billable_minutes,
    coalesce(sum(cost_usd), 0)::numeric as twilio_usd,
    -- pending, or in a currency without a rate: no USD figure yet
    count(*) filter (where cost_usd is null)::integer as unpriced_calls
from {{ ref('stg_twilio_calls') }}
where {{ in_window('event_time') }}
group by 1, 2, 3
