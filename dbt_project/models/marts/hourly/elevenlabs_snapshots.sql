{#- ElevenLabs activity per workspace and UTC hour: the old system's table, columns and unique
    key, rebuilt exactly for the window. See _marts.yml for each metric. -#}
{{
    config(
        meta={'window_column': 'snapshot_date'},
        indexes=[
            {'columns': ['workspace_id', 'snapshot_date'], 'unique': True},
            {'columns': ['snapshot_date']},
        ],
    )
}}

with conversations as (
    select *, date_trunc('hour', start_time, 'UTC') as snapshot_date
    from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
),

hourly as (
    select
        workspace_id,
        snapshot_date,
        count(*)::integer as total_conversations,
        coalesce(sum(cost), 0)::numeric as total_cost,
        coalesce(sum(call_duration_secs), 0)::integer as total_duration,
        coalesce(sum(llm_price), 0)::numeric as llm_price,
        coalesce(sum(llm_charge), 0)::numeric as llm_charge,
        coalesce(sum(call_charge), 0)::numeric as call_charge,
        coalesce(sum(free_minutes_consumed), 0)::numeric as free_minutes_consumed,
        coalesce(sum(free_llm_dollars_consumed), 0)::numeric as free_llm_dollars_consumed,
        count(*) filter (where dev_discount)::integer as dev_discount,
        count(*) filter (where not is_final)::integer as unsettled_conversations,
        coalesce(sum(cost_fiat), 0)::numeric as total_cost_fiat,
        coalesce(sum(voice_surcharge_charge), 0)::numeric as voice_surcharge_charge,
        (coalesce(sum(cost), 0) + coalesce(sum(voice_surcharge_charge), 0))::numeric
            as total_credits_charged
    from conversations
    group by 1, 2
),

-- The LLM usage of every conversation of the hour, summed per model and token category
-- (elevenlabs_llm_usage_hours reads it the same way, through the same macro).
usage_per_category as (
    select
        conversations.workspace_id,
        conversations.snapshot_date,
        model.key as model,
        category.key as category,
        sum(coalesce((category.value ->> 'tokens')::numeric, 0)) as tokens,
        sum(coalesce((category.value ->> 'price')::numeric, 0)) as price
    from conversations
    {{ llm_usage_categories('conversations.llm_usage') }}
    group by 1, 2, 3, 4
),

usage_per_model as (
    select
        workspace_id,
        snapshot_date,
        model,
        jsonb_object_agg(category, jsonb_build_object('tokens', tokens, 'price', price)) as usage
    from usage_per_category
    group by 1, 2, 3
),

llm_usage as (
    select workspace_id, snapshot_date, jsonb_object_agg(model, usage) as llm_usage
    from usage_per_model
    group by 1, 2
)

select
    {{ snapshot_id('hourly.workspace_id', 'hourly.snapshot_date') }} as id,
    hourly.workspace_id,
    hourly.snapshot_date,
    hourly.total_conversations,
    hourly.total_cost,
    hourly.total_duration,
    llm_usage.llm_usage,
    hourly.llm_price,
    hourly.llm_charge,
    hourly.call_charge,
    hourly.free_minutes_consumed,
    hourly.free_llm_dollars_consumed,
    hourly.dev_discount,
    hourly.unsettled_conversations,
    now() as created_at,
    hourly.total_cost_fiat,
    hourly.voice_surcharge_charge,
    hourly.total_credits_charged
from hourly
left join llm_usage
    on llm_usage.workspace_id = hourly.workspace_id
    and llm_usage.snapshot_date = hourly.snapshot_date
