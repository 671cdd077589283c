{#- For the run's window, the Twilio snapshots add up to exactly what the raw table holds:
    nothing dropped by attribution, nothing counted twice. Returns the differences, if any. -#}
{{ config(meta={'dagster': {'ref': {'name': 'twilio_snapshots'}}}) }}

with raw_calls as (
    select
        calls.*,
        case when upper(calls.price_unit) = 'USD' then 1 else rate.usd_per_unit end as usd_per_unit
    from {{ source('raw', 'twilio_calls') }} as calls
    left join {{ source('directory', 'currency_rates') }} as rate
        on rate.currency = upper(calls.price_unit)
        and {{ valid_at('rate', 'calls.event_time') }}
    where {{ in_window('calls.event_time') }}
),

raw_totals as (
    select
        count(*) as calls,
        coalesce(sum(abs(price) * usd_per_unit), 0) as cost,
        coalesce(sum(duration_secs), 0) as duration,
        coalesce(sum((duration_secs + 59) / 60) filter (where duration_secs > 0), 0) as minutes,
        count(*) filter (where {{ twilio_cost_pending('status', 'price') }}) as unpriced,
        count(*) filter (where price is not null and usd_per_unit is null) as unconverted
    from raw_calls
),

snapshot_totals as (
    select
        coalesce(sum(total_calls), 0) as calls,
        coalesce(sum(total_cost), 0) as cost,
        coalesce(sum(total_duration), 0) as duration,
        coalesce(sum(real_minutes), 0) as minutes,
        coalesce(sum(unpriced_calls), 0) as unpriced,
        coalesce(sum(unconverted_calls), 0) as unconverted
    from {{ ref('twilio_snapshots') }}
    where {{ in_window('snapshot_date') }}
)

select raw_totals.*, snapshot_totals.*
from raw_totals, snapshot_totals
where (raw_totals.calls, raw_totals.cost, raw_totals.duration, raw_totals.minutes,
       raw_totals.unpriced, raw_totals.unconverted)
    is distinct from
    (snapshot_totals.calls, snapshot_totals.cost, snapshot_totals.duration,
     snapshot_totals.minutes, snapshot_totals.unpriced, snapshot_totals.unconverted)
