{#- Twilio activity per workspace and UTC hour: the old system's table, columns and unique key,
    rebuilt exactly for the window. See _marts.yml for each metric. -#}
{{
    config(
        meta={'window_column': 'snapshot_date'},
        indexes=[
            {'columns': ['workspace_id', 'snapshot_date'], 'unique': True},
            {'columns': ['snapshot_date']},
        ],
    )
}}

with hourly as (
    select
        workspace_id,
        date_trunc('hour', event_time, 'UTC') as snapshot_date,
        count(*)::integer as total_calls,
        -- USD; a call in a currency without a rate is left out (counted in unconverted_calls)
        coalesce(sum(cost_usd), 0)::numeric as total_cost,
        coalesce(sum(duration_secs), 0)::integer as total_duration,
        sum(billable_minutes)::integer as real_minutes,
        count(*) filter (where cost_pending)::integer as unpriced_calls,
        count(*) filter (where is_unconverted)::integer as unconverted_calls
    from {{ ref('stg_twilio_calls') }}
    where {{ in_window('event_time') }}
    group by 1, 2
)

select
    {{ snapshot_id('workspace_id', 'snapshot_date') }} as id,
    workspace_id,
    snapshot_date,
    total_calls,
    total_cost,
    total_duration,
    real_minutes,
    unpriced_calls,
    now() as created_at,
    unconverted_calls
from hourly
