{#- For the run's window, the ElevenLabs snapshots add up to exactly what the raw table holds.
    Returns the differences, if any. -#}
{{ config(meta={'dagster': {'ref': {'name': 'elevenlabs_snapshots'}}}) }}

with raw_totals as (
    select
        count(*) as conversations,
        coalesce(sum(cost), 0) as cost,
        coalesce(sum(call_duration_secs), 0) as duration,
        coalesce(sum(llm_price), 0) as llm_price,
        coalesce(sum(llm_charge), 0) as llm_charge,
        coalesce(sum(call_charge), 0) as call_charge,
        coalesce(sum(free_minutes_consumed), 0) as free_minutes,
        coalesce(sum(free_llm_dollars_consumed), 0) as free_llm_dollars,
        count(*) filter (where dev_discount) as dev_discount,
        count(*) filter (where {{ elevenlabs_cost_pending('status') }}) as unsettled,
        coalesce(sum(cost_fiat), 0) as cost_fiat,
        coalesce(sum(voice_surcharge_charge), 0) as voice_surcharge
    from {{ source('raw', 'elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
),

snapshot_totals as (
    select
        coalesce(sum(total_conversations), 0) as conversations,
        coalesce(sum(total_cost), 0) as cost,
        coalesce(sum(total_duration), 0) as duration,
        coalesce(sum(llm_price), 0) as llm_price,
        coalesce(sum(llm_charge), 0) as llm_charge,
        coalesce(sum(call_charge), 0) as call_charge,
        coalesce(sum(free_minutes_consumed), 0) as free_minutes,
        coalesce(sum(free_llm_dollars_consumed), 0) as free_llm_dollars,
        coalesce(sum(dev_discount), 0) as dev_discount,
        coalesce(sum(unsettled_conversations), 0) as unsettled,
        coalesce(sum(total_cost_fiat), 0) as cost_fiat,
        coalesce(sum(voice_surcharge_charge), 0) as voice_surcharge
    from {{ ref('elevenlabs_snapshots') }}
    where {{ in_window('snapshot_date') }}
)

select raw_totals.*, snapshot_totals.*
from raw_totals, snapshot_totals
where (raw_totals.conversations, raw_totals.cost, raw_totals.duration, raw_totals.llm_price,
       raw_totals.llm_charge, raw_totals.call_charge, raw_totals.free_minutes,
       raw_totals.free_llm_dollars, raw_totals.dev_discount, raw_totals.unsettled,
       raw_totals.cost_fiat, raw_totals.voice_surcharge)
    is distinct from
      (snapshot_totals.conversations, snapshot_totals.cost, snapshot_totals.duration,
       snapshot_totals.llm_price, snapshot_totals.llm_charge, snapshot_totals.call_charge,
       snapshot_totals.free_minutes, snapshot_totals.free_llm_dollars,
       snapshot_totals.dev_discount, snapshot_totals.unsettled,
       snapshot_totals.cost_fiat, snapshot_totals.voice_surcharge)
