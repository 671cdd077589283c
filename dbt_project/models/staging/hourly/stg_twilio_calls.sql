{#- Every Twilio call of the window, with the workspace it belongs to and the rule that decided,
    and its cost in USD: |price| converted from the call's currency at the dated rate, 0 for an
    unanswered call (settled, never priced), null while pending or when the currency has no rate.
    The rules are documented in _staging.yml; nothing is dropped: what no rule attributes goes to
    the catch-all workspace. History outside the window is reached only by index lookups (a
    parent's primary key, the lead index of raw.sql), so an hour costs the same to rebuild
    whatever the size of the table. -#}
{{
    config(
        unique_key='sid',
        meta={'window_column': 'event_time'},
        indexes=[
            {'columns': ['sid'], 'unique': True},
            {'columns': ['event_time']},
        ],
    )
}}

with recursive

calls as (
    select *
    from {{ source('raw', 'twilio_calls') }}
    where {{ in_window('event_time') }}
),

-- A child leg (a <Dial>, a transfer) belongs to the workspace of the call at the top of its
-- chain, which may have started hours before the window.
ancestry (sid, ancestor_sid, depth) as (
    select sid, parent_call_sid, 1
    from calls
    where parent_call_sid is not null
    union all
    select ancestry.sid, parent.parent_call_sid, ancestry.depth + 1
    from ancestry
    join {{ source('raw', 'twilio_calls') }} as parent on parent.sid = ancestry.ancestor_sid
    where parent.parent_call_sid is not null
      and ancestry.depth < 10  -- a cycle in bad data must not loop forever
),

chain_roots as (
    select distinct on (sid) sid, ancestor_sid as root_sid
    from ancestry
    order by sid, depth desc
),

-- The calls attributed by their own numbers: the window's top-level calls, and the roots that
-- its child legs lead to.
top_level_calls as (
    select sid, direction, from_number, to_number, event_time
    from calls
    where parent_call_sid is null
    union
    select sid, direction, from_number, to_number, event_time
    from {{ source('raw', 'twilio_calls') }}
    where sid in (select root_sid from chain_roots)
),

workspace_numbers as (
    select
        sid,
        direction,
        event_time,
        looked_up_number,
        {{ normalize_e164('looked_up_number') }} as workspace_number,
        case
            when direction = 'trunking-originating' then {{ normalize_e164('from_number') }}
        end as lead_number
    from (
        select
            *,
            case
                when direction in ('outbound-api', 'trunking-terminating') then from_number
                -- for trunking-originating, `to` is the SIP URI of the dialled workspace number
                when direction in ('trunking-originating', 'inbound') then to_number
            end as looked_up_number
        from top_level_calls
    ) as by_direction
),

number_owners as (
    select workspace_numbers.*, phone.workspace_id as owner_id
    from workspace_numbers
    left join {{ source('directory', 'workspace_phones') }} as phone
        on phone.phone_number = workspace_numbers.workspace_number
        and {{ valid_at('phone', 'workspace_numbers.event_time') }}
),

-- A trunking-originating call whose SIP number nobody owns: the workspace of the most recent
-- outbound call to the same lead within the lookback (one backward scan of an index).
lead_owners as (
    select number_owners.sid, phone.workspace_id as owner_id
    from number_owners
    cross join lateral (
        select outbound.from_number, outbound.event_time
        from {{ source('raw', 'twilio_calls') }} as outbound
        where outbound.direction in ('outbound-api', 'trunking-terminating')
            and {{ normalize_e164('outbound.to_number') }} = number_owners.lead_number
            and outbound.event_time
                >= number_owners.event_time - interval '{{ var("lead_lookback_hours") }} hours'
            and outbound.event_time <= number_owners.event_time
        order by outbound.event_time desc, outbound.sid collate "C" desc
        limit 1
    ) as lead_call
    join {{ source('directory', 'workspace_phones') }} as phone
        on phone.phone_number = {{ normalize_e164('lead_call.from_number') }}
        and {{ valid_at('phone', 'lead_call.event_time') }}
    where number_owners.direction = 'trunking-originating'
        and number_owners.owner_id is null
        and number_owners.lead_number is not null
),

top_level_attribution as (
    select
        number_owners.sid,
        number_owners.looked_up_number,
        number_owners.workspace_number,
        coalesce(number_owners.owner_id, lead_owners.owner_id) as workspace_id,
        case
            when number_owners.owner_id is not null then
                case number_owners.direction
                    when 'inbound' then 'to_number'
                    when 'trunking-originating' then 'sip_uri_number'
                    else 'from_number'
                end
            when lead_owners.owner_id is not null then 'recent_lead_call'
        end as attribution_rule
    from number_owners
    left join lead_owners on lead_owners.sid = number_owners.sid
)

select
    calls.sid,
    calls.account_sid,
    calls.parent_call_sid,
    calls.direction,
    calls.status,
    calls.from_number,
    calls.to_number,
    calls.event_time,
    calls.start_time,
    calls.end_time,
    calls.duration_secs,
    calls.price,
    calls.price_unit,
    {{ twilio_cost_pending('calls.status', 'calls.price') }} as cost_pending,
    usd_rate.usd_per_unit as usd_per_price_unit,
    case
        when {{ twilio_cost_pending('calls.status', 'calls.price') }} then null
        when calls.price is null then 0  -- unanswered: Twilio never prices it, settled at 0
        else abs(calls.price) * usd_rate.usd_per_unit  -- null when the currency has no rate
    end as cost_usd,
    calls.price is not null and usd_rate.usd_per_unit is null as is_unconverted,
    case when calls.duration_secs > 0 then (calls.duration_secs + 59) / 60 else 0 end
        as billable_minutes,
    calls.trunk_sid,
    calls.date_updated,
    attribution.looked_up_number,
    attribution.workspace_number,
    coalesce(attribution.workspace_id, {{ catch_all_workspace_id() }}) as workspace_id,
    case
        when calls.parent_call_sid is null then coalesce(attribution.attribution_rule, 'catch_all')
        when attribution.sid is not null then 'parent_call'
        else 'catch_all'  -- the parent is not in the warehouse (yet)
    end as attribution_rule
from calls
left join chain_roots on chain_roots.sid = calls.sid
left join top_level_attribution as attribution
    on attribution.sid = coalesce(chain_roots.root_sid, calls.sid)
-- USD per unit of the call's currency in force when it started; USD is 1 and needs no entry.
left join lateral (
    select 1::numeric as usd_per_unit
    where upper(calls.price_unit) = 'USD'
    union all
    select rate.usd_per_unit
    from {{ source('directory', 'currency_rates') }} as rate
    where rate.currency = upper(calls.price_unit)
        and {{ valid_at('rate', 'calls.event_time') }}
) as usd_rate on true
