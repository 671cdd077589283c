{#- ElevenLabs' LLM usage per workspace, UTC hour, model and token category: the conversations
    that reported it, their tokens and the LLM's price in USD. The Providers page sums a range of
    these rows. The same reading as elevenlabs_snapshots' usage_per_category, which keeps its own
    copy on purpose: the snapshots (the old system's table) must build alone when a user selects
    only them, never from a mart that may be stale for their hours. Rebuilt exactly for the
    window like the snapshots (a conversation's hour is that of its start). -#}
{{
    config(
        meta={'window_column': 'hour'},
        post_hook="{{ grant_to_dashboard_roles() }}",
        indexes=[{'columns': ['hour', 'workspace_id']}],
    )
}}

with usage as (
    select
        workspace_id,
        date_trunc('hour', start_time, 'UTC') as hour,
        -- Both generation blocks of a conversation describe the same tokens: only one is read.
        coalesce(
            llm_usage -> 'irreversible_generation' -> 'model_usage',
            llm_usage -> 'initiated_generation' -> 'model_usage'
        ) as model_usage
    from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
)

select
    usage.workspace_id,
    usage.hour,
    model.key as model,
    category.key as token_category,
    count(*)::integer as conversations,
    sum(coalesce((category.value ->> 'tokens')::numeric, 0))::numeric as tokens,
    sum(coalesce((category.value ->> 'price')::numeric, 0))::numeric as llm_price_usd
from usage
-- jsonb_each fails on anything but an object; a malformed block counts as no usage
cross join lateral jsonb_each(
    case when jsonb_typeof(usage.model_usage) = 'object' then usage.model_usage end
) as model
cross join lateral jsonb_each(
    case when jsonb_typeof(model.value) = 'object' then model.value end
) as category
group by 1, 2, 3, 4
