{#- Every UTC day, what we summed from the records next to what the provider bills for it.
    One row per provider, day and category group:
      twilio     calls     = inbound + outbound-api + outbound-dial calls  vs  usage `calls`
                 trunking  = trunking-originating + -terminating calls     vs  `trunking-origination`
                                                                               + `trunking-termination`
                 total     = every call                                    vs  `totalprice`
      elevenlabs agents    = credits charged (cost + voice surcharge)      vs  product `agents`
    Amounts are in the provider's currency (Twilio: the account's, e.g. USD; ElevenLabs: credits),
    charges positive. Our Twilio amount counts the prices that reach the USD figures finance
    bills from: a price in a currency without a rate is left out (and shows as a mismatch).
    `total` also holds what Twilio bills beyond calls (answering machine detection,
    text-to-speech, SIP REFER, numbers...): such a difference is real and is shown, not
    tolerated away. A view over staging and the raw usage tables: always current. -#}
{{ config(post_hook="{{ grant_to_dashboard_roles() }}") }}

{%- set tolerance_abs = run_setting('reconcile_tolerance_abs') %}
{%- set tolerance_rel = run_setting('reconcile_tolerance_rel') %}
{%- set final_after = run_setting('reconcile_final_after_hours') %}

with

our_calls as (
    select
        (event_time at time zone 'UTC')::date as day,
        case
            when direction in ('inbound', 'outbound-api', 'outbound-dial') then 'calls'
            when direction in ('trunking-originating', 'trunking-terminating') then 'trunking'
        end as category,
        price,
        upper(price_unit) as currency,
        is_unconverted
    from {{ ref('stg_twilio_calls') }}
),

our_twilio as (
    select
        day,
        grouping_category as category,
        count(*) filter (where price is not null) as our_count,
        coalesce(sum(abs(price)) filter (where price is not null and not is_unconverted), 0)
            as our_amount,
        mode() within group (order by currency) filter (where price is not null) as currency
    from our_calls
    cross join lateral (
        select our_calls.category as grouping_category where our_calls.category is not null
        union all
        select 'total'
    ) as groups
    group by day, grouping_category
),

provider_twilio as (
    select
        day,
        case
            when category = 'calls' then 'calls'
            when category in ('trunking-origination', 'trunking-termination') then 'trunking'
            when category = 'totalprice' then 'total'
        end as category,
        -- totalprice has no meaningful count: it adds up everything billed
        sum(count) filter (where category <> 'totalprice') as provider_count,
        sum(price) as provider_amount,
        max(price_unit) as currency,
        min(as_of) >= {{ day_end('day') }} + interval '{{ final_after }} hours' as is_final
    from {{ source('raw', 'twilio_usage_records') }}
    where category in ('calls', 'trunking-origination', 'trunking-termination', 'totalprice')
    group by 1, 2
),

twilio as (
    select
        'twilio' as provider,
        coalesce(ours.day, theirs.day) as day,
        coalesce(ours.category, theirs.category) as category,
        coalesce(ours.our_count, 0) as our_count,
        theirs.provider_count,
        coalesce(ours.our_amount, 0) as our_amount,
        theirs.provider_amount,
        coalesce(theirs.currency, ours.currency, 'USD') as currency,
        theirs.is_final,
        theirs.day is not null as has_provider_data,
        theirs.provider_count is distinct from coalesce(ours.our_count, 0)
            and theirs.provider_count is not null as counts_differ
    from our_twilio as ours
    full join provider_twilio as theirs
        on theirs.day = ours.day and theirs.category = ours.category
),

our_conversations as (
    select
        (start_time at time zone 'UTC')::date as day,
        count(*) as our_count,
        coalesce(sum(credits_charged), 0) as our_amount,
        bool_and(is_final) as all_final
    from {{ ref('stg_elevenlabs_conversations') }}
    group by 1
),

provider_elevenlabs as (
    select
        day,
        sum(credits) as provider_amount,
        min(ingested_at) as read_at
    from {{ source('raw', 'elevenlabs_usage') }}
    where product_type = 'agents'
    group by day
),

elevenlabs as (
    select
        'elevenlabs' as provider,
        coalesce(ours.day, theirs.day) as day,
        'agents' as category,
        coalesce(ours.our_count, 0) as our_count,
        null::bigint as provider_count,
        coalesce(ours.our_amount, 0) as our_amount,
        theirs.provider_amount,
        'credits' as currency,
        -- ElevenLabs gives no "as of": its day is final once read long enough after it ended
        -- and once every conversation of the day is (the credits land when it is final).
        theirs.read_at >= {{ day_end('coalesce(ours.day, theirs.day)') }}
            + interval '{{ final_after }} hours'
            and coalesce(ours.all_final, true) as is_final,
        theirs.day is not null as has_provider_data,
        false as counts_differ
    from our_conversations as ours
    full join provider_elevenlabs as theirs on theirs.day = ours.day
),

compared as (
    select * from twilio
    union all
    select * from elevenlabs
)

select
    provider,
    day,
    category,
    our_count,
    provider_count,
    our_amount,
    provider_amount,
    currency,
    provider_amount - our_amount as difference,
    case
        when not has_provider_data then 'no_provider_data'
        when not is_final then 'provider_pending'
        when counts_differ then 'mismatch'
        when abs(provider_amount - our_amount) <= greatest(
            {{ tolerance_abs }}::numeric, {{ tolerance_rel }}::numeric * abs(provider_amount)
        ) then 'ok'
        else 'mismatch'
    end as status
from compared
