{#- One row per phone call with what it cost on both sides: the Twilio call and the ElevenLabs
    conversation of the same call, paired. Every Twilio call and every conversation appears
    exactly once, paired or alone. A row lives in the hour it started (`started_at`: the Twilio
    call's time when there is one).

    Rebuilt per window like the snapshots, so the backoffice reads calls with an index instead
    of pairing all history on every read. A window's run writes the row of every record of the
    window, wherever its partner lies, and replaces the window's rows and any row holding one of
    those records (window_replace with two keys): whichever of two hours is rebuilt last, a
    pair crossing them is stored once, by either. The pairing reads beyond the window only
    through indexes (a call's claimants by call_sid, a conversation's call by SID) and within
    `context` around it (SIP legs, which pair within the tolerance): exact unless trunk calls
    between the same two numbers followed each other within the tolerance for longer than that. -#}
{{
    config(
        unique_key=['twilio_call_sid', 'conversation_id'],
        meta={'window_column': 'started_at'},
        post_hook=["{{ trigram_index('number_digits') }}", "{{ grant_to_dashboard_roles() }}"],
        indexes=[
            {'columns': ['call_id'], 'unique': True},
            {'columns': ['twilio_call_sid'], 'unique': True},
            {'columns': ['conversation_id'], 'unique': True},
            {'columns': ['started_at']},
            {'columns': ['workspace_id', 'started_at']},
        ],
    )
}}
{%- set context = "interval '1 hour'" %}

with recursive

window_calls as (
    select sid from {{ ref('stg_twilio_calls') }}
    where {{ in_window('event_time') }}
),

window_conversations as (
    select conversation_id from {{ ref('stg_elevenlabs_conversations') }}
    where {{ in_window('start_time') }}
),

-- The records the SIP pairing of the window's records can depend on.
calls as (
    select * from {{ ref('stg_twilio_calls') }}
    where event_time >= {{ window_start() }} - {{ context }}
        and event_time < {{ window_end() }} + {{ context }}
),

conversations as (
    select * from {{ ref('stg_elevenlabs_conversations') }}
    where start_time >= {{ window_start() }} - {{ context }}
        and start_time < {{ window_end() }} + {{ context }}
),

-- 1. The conversation names its Twilio call: `call_sid` is the call's SID. Should two claim the
--    same call, the earlier keeps it and the other stays alone. Every claimant of a call around
--    the window is looked up, whenever it started.
claimed_sids as (
    select sid from calls
    union
    select call_sid from conversations where call_sid is not null
),

call_sid_pairs as (
    select distinct on (claimed.sid)
        claimed.sid,
        claimant.conversation_id
    from claimed_sids as claimed
    join {{ ref('stg_twilio_calls') }} as call on call.sid = claimed.sid
    join {{ ref('stg_elevenlabs_conversations') }} as claimant on claimant.call_sid = claimed.sid
    order by claimed.sid, claimant.start_time, claimant.conversation_id collate "C"
),

-- 2. A SIP-trunk conversation does not carry the Twilio SID; its Twilio leg is the trunk call
--    between the same two numbers that started within the tolerance. Both sides are
--    materialized so each number is normalised once, not again for every candidate pair the
--    join compares (8x faster with a few thousand SIP calls).
sip_conversations as materialized (
    select
        conversation_id,
        start_time,
        {{ normalize_e164('agent_number') }} as agent_e164,
        {{ normalize_e164('external_number') }} as external_e164
    from conversations
    where phone_call_type = 'sip_trunking'
        and not exists (
            select from call_sid_pairs
            where call_sid_pairs.conversation_id = conversations.conversation_id
        )
),

trunk_legs as materialized (
    select
        sid,
        event_time,
        case when direction = 'trunking-terminating' then {{ normalize_e164('from_number') }}
            else {{ normalize_e164('to_number') }} end as agent_e164,
        case when direction = 'trunking-terminating' then {{ normalize_e164('to_number') }}
            else {{ normalize_e164('from_number') }} end as external_e164
    from calls
    where direction in ('trunking-terminating', 'trunking-originating')
        and not exists (select from call_sid_pairs where call_sid_pairs.sid = calls.sid)
),

-- Candidate pairs ranked closest first within each pair of numbers (ties: earlier
-- conversation, then ids in byte order), so the matching below is deterministic.
candidates as (
    select
        sip_conversations.agent_e164,
        sip_conversations.external_e164,
        sip_conversations.conversation_id,
        trunk_legs.sid,
        row_number() over (
            partition by sip_conversations.agent_e164, sip_conversations.external_e164
            order by
                abs(extract(epoch from trunk_legs.event_time - sip_conversations.start_time)),
                sip_conversations.start_time,
                sip_conversations.conversation_id collate "C",
                trunk_legs.sid collate "C"
        ) as rank
    from sip_conversations
    join trunk_legs
        on trunk_legs.agent_e164 = sip_conversations.agent_e164
        and trunk_legs.external_e164 = sip_conversations.external_e164
        and trunk_legs.event_time between
            sip_conversations.start_time - interval '{{ var("sip_match_tolerance_seconds") }} seconds'
            and sip_conversations.start_time + interval '{{ var("sip_match_tolerance_seconds") }} seconds'
),

-- Greedy one-to-one matching, closest first: walk each pair of numbers' candidates in rank order
-- and accept a candidate when neither its conversation nor its call is taken yet. Candidates
-- only ever compete within one pair of numbers, so this is the global closest-first matching.
greedy (agent_e164, external_e164, rank, conversation_id, sid, accepted, taken_conversations, taken_calls) as (
    select
        agent_e164, external_e164, rank, conversation_id, sid, true,
        array[conversation_id], array[sid]
    from candidates
    where rank = 1
    union all
    select
        next.agent_e164, next.external_e164, next.rank, next.conversation_id, next.sid,
        free.is_free,
        case when free.is_free then previous.taken_conversations || next.conversation_id
            else previous.taken_conversations end,
        case when free.is_free then previous.taken_calls || next.sid
            else previous.taken_calls end
    from greedy as previous
    join candidates as next
        on next.agent_e164 = previous.agent_e164
        and next.external_e164 = previous.external_e164
        and next.rank = previous.rank + 1
    cross join lateral (
        select not (next.conversation_id = any(previous.taken_conversations)
            or next.sid = any(previous.taken_calls)) as is_free
    ) as free
),

pairs as (
    select sid, conversation_id, 'call_sid' as pairing from call_sid_pairs
    union all
    select sid, conversation_id, 'sip_numbers_and_time' as pairing from greedy where accepted
),

-- The window's records, each in its phone call: the window's calls, the calls that the window's
-- conversations are paired with, and the window's conversations that are alone.
phone_calls as (
    (
        select window_calls.sid, pairs.conversation_id,
            coalesce(pairs.pairing, 'twilio_only') as pairing
        from window_calls
        left join pairs on pairs.sid = window_calls.sid
        union
        select pairs.sid, pairs.conversation_id, pairs.pairing
        from window_conversations
        join pairs on pairs.conversation_id = window_conversations.conversation_id
    )
    union all
    select null, window_conversations.conversation_id, 'elevenlabs_only'
    from window_conversations
    where not exists (
        select from pairs where pairs.conversation_id = window_conversations.conversation_id
    )
),

costs as (

select
    coalesce(phone_calls.sid, phone_calls.conversation_id) as call_id,
    coalesce(calls.event_time, conversations.start_time) as started_at,
    -- the Twilio side's workspace when there is one (it owns the number that was dialled)
    coalesce(calls.workspace_id, conversations.workspace_id) as workspace_id,
    phone_calls.pairing,
    phone_calls.sid as twilio_call_sid,
    phone_calls.conversation_id,
    calls.direction as twilio_direction,
    -- the two parties as dialled: Twilio's from/to, else the conversation's by its direction
    coalesce(calls.from_number, case when conversations.call_direction = 'inbound'
        then conversations.external_number else conversations.agent_number end) as from_number,
    coalesce(calls.to_number, case when conversations.call_direction = 'inbound'
        then conversations.agent_number else conversations.external_number end) as to_number,
    calls.duration_secs as twilio_duration_secs,
    calls.billable_minutes,
    conversations.call_duration_secs as elevenlabs_duration_secs,
    calls.cost_usd as twilio_usd,
    calls.price_unit as twilio_price_unit,
    conversations.cost as elevenlabs_credits,
    conversations.usd_per_credit,
    conversations.cost_usd as elevenlabs_usd,
    coalesce(calls.cost_usd, 0) + coalesce(conversations.cost_usd, 0) as total_usd,
    (calls.sid is null or not calls.cost_pending)
        and (conversations.conversation_id is null or conversations.is_final) as is_settled,
    -- added later, after the old columns: the Twilio amount as served and its conversion
    calls.price as twilio_price,
    calls.usd_per_price_unit as twilio_usd_per_price_unit,
    calls.is_unconverted as twilio_unconverted,
    -- ElevenLabs' charges beyond `cost`, and its own USD figure
    conversations.voice_surcharge_charge as elevenlabs_voice_surcharge_credits,
    conversations.credits_charged as elevenlabs_credits_charged,
    conversations.credits_charged * conversations.usd_per_credit as elevenlabs_charged_usd,
    conversations.cost_fiat as elevenlabs_cost_fiat_usd
from phone_calls
left join {{ ref('stg_twilio_calls') }} as calls on calls.sid = phone_calls.sid
left join {{ ref('stg_elevenlabs_conversations') }} as conversations
    on conversations.conversation_id = phone_calls.conversation_id
)

select
    *,
    -- added after the columns above: the digits of both numbers, which the backoffice's number
    -- search matches with its trigram index (a space between them: no match spans both)
    regexp_replace(coalesce(from_number, ''), '[^0-9]', '', 'g') || ' '
        || regexp_replace(coalesce(to_number, ''), '[^0-9]', '', 'g') as number_digits
from costs
