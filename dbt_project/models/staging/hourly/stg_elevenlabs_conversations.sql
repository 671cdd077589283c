{#- Every ElevenLabs conversation of the window, with its workspace, the rule that decided, and
    its cost in USD at the credit rate in force when it started. Rules in _staging.yml. -#}
{{
    config(
        unique_key='conversation_id',
        meta={'window_column': 'start_time'},
        indexes=[
            {'columns': ['conversation_id'], 'unique': True},
            {'columns': ['start_time']},
            {'columns': ['call_sid']},
        ],
    )
}}

with conversations as (
    select
        *,
        {{ normalize_e164('agent_number') }} as workspace_number,
        -- "without a phone number": web and widget conversations have no agent_number
        coalesce(agent_number, '') <> '' as has_agent_number
    from {{ source('raw', 'elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
),

attributed as (
    select
        conversations.*,
        case
            when has_agent_number then phone.workspace_id
            else agent.workspace_id
        end as rule_workspace_id,
        case
            when has_agent_number and phone.workspace_id is not null then 'agent_number'
            when not has_agent_number and agent.workspace_id is not null then 'agent_id'
            else 'catch_all'
        end as attribution_rule
    from conversations
    left join {{ source('directory', 'workspace_phones') }} as phone
        on phone.phone_number = conversations.workspace_number
        and {{ valid_at('phone', 'conversations.start_time') }}
    left join {{ source('directory', 'workspace_agents') }} as agent
        on agent.agent_id = conversations.agent_id
)

select
    attributed.conversation_id,
    attributed.agent_id,
    attributed.agent_name,
    attributed.status,
    not {{ elevenlabs_cost_pending('attributed.status') }} as is_final,
    attributed.start_time,
    attributed.call_duration_secs,
    attributed.cost,
    rate.usd_per_credit,
    attributed.cost * rate.usd_per_credit as cost_usd,
    attributed.dev_discount,
    attributed.is_burst,
    attributed.tier,
    attributed.llm_price,
    attributed.llm_charge,
    attributed.call_charge,
    attributed.free_minutes_consumed,
    attributed.free_llm_dollars_consumed,
    attributed.llm_usage,
    attributed.phone_call_type,
    attributed.phone_number_id,
    attributed.agent_number,
    attributed.workspace_number,
    attributed.external_number,
    attributed.call_sid,
    attributed.call_direction,
    attributed.batch_call_id,
    attributed.batch_call_recipient_id,
    attributed.termination_reason,
    attributed.cost_fiat,
    attributed.platform_charge,
    attributed.platform_price,
    attributed.voice_surcharge_charge,
    attributed.analysis_charge,
    attributed.analysis_price,
    -- what ElevenLabs takes in credits: cost plus the voice actor reward, which cost leaves out
    attributed.cost + coalesce(attributed.voice_surcharge_charge, 0) as credits_charged,
    coalesce(attributed.rule_workspace_id, {{ catch_all_workspace_id() }}) as workspace_id,
    attributed.attribution_rule
from attributed
left join {{ source('directory', 'elevenlabs_credit_rates') }} as rate
    on {{ valid_at('rate', 'attributed.start_time') }}
