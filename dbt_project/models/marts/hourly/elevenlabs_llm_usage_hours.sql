{#- ElevenLabs' LLM usage per workspace, UTC hour, model and token category: the conversations
    that reported it, their tokens and the LLM's price in USD. The Providers page sums a range of
    these rows. elevenlabs_snapshots reads the same JSON through the same macro
    (llm_usage_categories) rather than from this mart: the snapshots (the old system's table) must
    build alone when a user selects only them, never from a mart that may be stale for their
    hours. Rebuilt exactly for the window like the snapshots (a conversation's hour is that of
    its start). -#}
{{
    config(
        meta={'window_column': 'hour'},
        post_hook="{{ grant_to_dashboard_roles() }}",
        indexes=[{'columns': ['hour', 'workspace_id']}],
    )
}}

with conversations as (
    select
        workspace_id,
        date_trunc('hour', start_time, 'UTC') as hour,
        llm_usage
    from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
)

select
    conversations.workspace_id,
    conversations.hour,
    model.key as model,
    category.key as token_category,
    count(*)::integer as conversations,
    sum(coalesce((category.value ->> 'tokens')::numeric, 0))::numeric as tokens,
    sum(coalesce((category.value ->> 'price')::numeric, 0))::numeric as llm_price_usd
from conversations
{{ llm_usage_categories('conversations.llm_usage') }}
group by 1, 2, 3, 4
