{#- For the run's window, the Twilio snapshots add up to exactly what the raw table holds:
    nothing dropped by attribution, nothing counted twice. Returns the differences, if any. -#}
{{ config(meta={'dagster': {'ref': {'name': 'twilio_snapshots'}}}) }}

with raw_totals as (
    select
        count(*) as calls,
        coalesce(sum(abs(price)), 0) as cost,
        coalesce(sum(duration_secs), 0) as duration,
        coalesce(sum((duration_secs + 59) / 60) filter (where duration_secs > 0), 0) as minutes,
        count(*) filter (where price is null) as unpriced
    from {{ source('raw', 'twilio_calls') }}
    where {{ in_window('event_time') }}
),

snapshot_totals as (
    select
        coalesce(sum(total_calls), 0) as calls,
        coalesce(sum(total_cost), 0) as cost,
        coalesce(sum(total_duration), 0) as duration,
        coalesce(sum(real_minutes), 0) as minutes,
        coalesce(sum(unpriced_calls), 0) as unpriced
    from {{ ref('twilio_snapshots') }}
    where {{ in_window('snapshot_date') }}
)

select raw_totals.*, snapshot_totals.*
from raw_totals, snapshot_totals
where (raw_totals.calls, raw_totals.cost, raw_totals.duration, raw_totals.minutes, raw_totals.unpriced)
    is distinct from
    (snapshot_totals.calls, snapshot_totals.cost, snapshot_totals.duration,
     snapshot_totals.minutes, snapshot_totals.unpriced)
